package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// SignalAll in a job's signals asks for every signal the vehicle returns.
const SignalAll = "all"

// PathSignals is the path under which an API v3 /signals call is observed
// (Observer.ObserveCall), and the path of the error event of a job that
// asked for every signal.
const PathSignals = "/signals"

// sources are the daemon's signals by name, from normalize's table: what a
// v3 job may ask for besides raw codes and "all".
var sources = func() map[events.Signal]normalize.Source {
	m := map[events.Signal]normalize.Source{}
	for _, s := range normalize.Table() {
		m[s.Signal] = s
	}
	return m
}()

// itemKey is the key normalize gives the item of what a v3 job asks for
// (normalize.Item.Key): the v2 path of a daemon signal that has one
// ("/battery"), else its name ("connectivity"); "signals/<code>" for a raw
// code.
func itemKey(name string) string {
	if s, ok := sources[events.Signal(name)]; ok {
		if len(s.Paths) > 0 {
			return s.Paths[0]
		}
		return name
	}
	return "signals/" + name
}

// errorPath is the path of the error event (and of its id) of what a v3
// job asks for: the v2 path of a daemon signal that has one, so both APIs
// report a failing signal alike; else /signals/<name or code>; PathSignals
// for "all".
func errorPath(name string) string {
	if name == SignalAll {
		return PathSignals
	}
	if k := itemKey(name); strings.HasPrefix(k, "/") {
		return k
	}
	return PathSignals + "/" + name
}

func errorPaths(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = errorPath(n)
	}
	return out
}

// pollV3 makes the API v3 call of a job for v: one GET /signals (every
// page) as the application, on behalf of v's Smartcar user, looked up once
// and kept when the registry has none. A PERMISSION answer with a user id
// that was stored before this poll looks the user up again once: the
// vehicle may have been connected anew by another user. The v2 credentials
// are never touched.
func (w *Worker) pollV3(ctx context.Context, job queue.PollJob, d queue.Delivery, v registry.Vehicle, rec *pollRecord) error {
	user, looked := v.UserID, false
	if user == "" {
		var err error
		if user, err = w.lookUpUser(ctx, job); err != nil {
			return err
		}
		looked = true
	}
	if err := w.waitLimiter(ctx); err != nil {
		return err
	}
	sigs, err := w.callV3(ctx, job, user, rec)
	if e, ok := smartcar.AsError(err); ok && e.Type == smartcar.TypePermission && !looked {
		again, lerr := w.lookUpUser(ctx, job)
		if lerr != nil {
			return lerr
		}
		if again != user {
			if err := w.waitLimiter(ctx); err != nil {
				return err
			}
			sigs, err = w.callV3(ctx, job, again, rec)
		}
	}
	if err != nil {
		return w.callFailed(ctx, job, d, err)
	}
	w.appOK()
	return w.deliverV3(ctx, job, sigs)
}

// lookUpUser finds the Smartcar user of the job's vehicle through its
// connection (not billed) and keeps it in the registry. A vehicle the
// application has no connection to any more is disconnected.
func (w *Worker) lookUpUser(ctx context.Context, job queue.PollJob) (string, error) {
	w.st.userLookups.Add(1)
	user, err := w.deps.V3.UserOf(ctx, job.VehicleID)
	switch {
	case errors.Is(err, ErrNoConnection):
		return "", queue.Drop(w.markStatus(ctx, job, events.StatusDisconnected, "no API v3 connection to the vehicle", err))
	case err != nil:
		return "", fmt.Errorf("look up the vehicle's user: %w", err)
	case user == "":
		return "", fmt.Errorf("look up the vehicle's user: the connection names no user")
	}
	if err := w.deps.Registry.SetUserID(ctx, job.VehicleID, user); err != nil {
		// This poll goes on; the next one looks again.
		w.log.WarnContext(ctx, "keep the vehicle's user id", "vehicle_id", job.VehicleID, "err", err)
	}
	return user, nil
}

// callV3 calls Smartcar unless calls pause after RATE_LIMIT:SMARTCAR_API.
func (w *Worker) callV3(ctx context.Context, job queue.PollJob, user string, rec *pollRecord) (*smartcar.Signals, error) {
	if err := w.paused(); err != nil {
		return nil, err
	}
	start := w.cfg.Now()
	sigs, err := w.deps.V3.Signals(ctx, job.VehicleID, user)
	w.observeCallV3(job, start, err)
	rec.record(1, sigs, err) // one GET /signals is one billed call, however many pages
	return sigs, err
}

// want is what a v3 job asked for.
type want struct {
	all     bool
	signals map[events.Signal]bool
	codes   map[string]bool
}

func wanted(names []string) want {
	w := want{signals: map[events.Signal]bool{}, codes: map[string]bool{}}
	for _, n := range names {
		switch _, known := sources[events.Signal(n)]; {
		case n == SignalAll:
			w.all = true
		case known:
			w.signals[events.Signal(n)] = true
		default:
			w.codes[n] = true
		}
	}
	return w
}

// keeps reports whether an item is published: every item for "all"; else
// the daemon signals asked for, the generic event of a raw code asked for,
// and the daemon signals a raw code asked for is part of.
func (w want) keeps(it normalize.Item) bool {
	if w.all || w.signals[it.Signal] {
		return true
	}
	if it.Signal == events.SignalGeneric {
		return w.codes[strings.TrimPrefix(it.Key, "signals/")]
	}
	for c := range w.codes {
		if slices.Contains(normalize.SignalsForCode(c), it.Signal) {
			return true
		}
	}
	return false
}

// deliverV3 turns a vehicle's signals into the events the job asked for
// (subject to emit: on_change, with oemUpdatedAt as the data's age), and an
// error event for each signal it asked for that gave none: the signal's own
// error (COMPATIBILITY:VEHICLE_NOT_CAPABLE, ...), a value refused by
// normalize, or one the vehicle did not return. A signal's error is
// reported at once, never retried: another try would bill the vehicle's
// whole /signals call again; the next tick asks again.
func (w *Worker) deliverV3(ctx context.Context, job queue.PollJob, sigs *smartcar.Signals) error {
	var prev normalize.Previous
	if w.deps.Latest != nil {
		prev = func(s events.Signal) (events.Event, bool, error) {
			ev, err := w.deps.Latest.Get(ctx, job.VehicleID, s)
			if errors.Is(err, events.ErrNotFound) {
				return events.Event{}, false, nil
			}
			return ev, err == nil, err
		}
	}
	res, err := normalize.FromSignals(sigs, prev)
	if err != nil {
		return fmt.Errorf("normalize signals: %w", err)
	}
	want := wanted(job.Signals)
	var evs []events.Event
	got := map[string]bool{} // keys of the items kept
	for _, it := range res.Items {
		if !want.keeps(it) {
			continue
		}
		got[it.Key] = true
		for _, code := range sources[it.Signal].Codes { // a raw code asked for is served by its signal
			got["signals/"+code] = true
		}
		ev, keep, err := w.itemEvent(ctx, job, it, sigs.Meta.RequestID)
		if err != nil {
			return queue.Drop(err)
		}
		if keep {
			evs = append(evs, ev)
		}
	}
	if !want.all {
		for _, name := range job.Signals {
			if got[itemKey(name)] {
				continue
			}
			ev, err := w.errorEvent(job, errorPath(name), missing(name, res.Rejected, sigs.Meta.RequestID))
			if err != nil {
				return queue.Drop(err)
			}
			evs = append(evs, ev)
		}
	}
	w.observeItems(job, res.Items)
	if len(evs) > 0 {
		if err := w.deps.Publisher.Publish(ctx, evs...); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		w.st.events.Add(int64(len(evs)))
	}
	if err := w.deps.Registry.TouchPoll(ctx, job.VehicleID, w.cfg.Now()); err != nil {
		w.log.WarnContext(ctx, "record last poll", "vehicle_id", job.VehicleID, "err", err)
	}
	return nil
}

// missing is the error of a signal a v3 job asked for that gave no item:
// the error of the first of its codes that was refused, or, when none was,
// an SDK_ERROR saying the vehicle did not return it.
func missing(name string, rejected []normalize.Rejected, requestID string) *smartcar.Error {
	codes := []string{name}
	switch s, ok := sources[events.Signal(name)]; {
	case ok && s.Signal == events.SignalInfo:
		codes = []string{"vehicle"}
	case ok:
		codes = s.Codes
	}
	for _, r := range rejected {
		if !slices.Contains(codes, r.Code) {
			continue
		}
		if e, ok := smartcar.AsError(r.Err); ok {
			cp := *e
			cp.RequestID = cmp.Or(cp.RequestID, requestID)
			return &cp
		}
		return &smartcar.Error{Type: smartcar.TypeSDK, Code: "NORMALIZE", Description: r.Err.Error(), RequestID: requestID}
	}
	return &smartcar.Error{Type: smartcar.TypeSDK, Code: "NOT_RETURNED", RequestID: requestID,
		Description: fmt.Sprintf("the vehicle's signals did not include %s", name)}
}

// itemEvent builds the event of one normalized item; keep is false when
// the schedule emits on change and nothing changed.
func (w *Worker) itemEvent(ctx context.Context, job queue.PollJob, it normalize.Item, requestID string) (events.Event, bool, error) {
	ev, err := events.New(it.Signal, job.VehicleID, it.Data, events.Meta{
		ID:        events.EventID(rootID(job.ID), it.Key),
		Time:      it.Time,
		RequestID: cmp.Or(it.RequestID, requestID),
		FetchedAt: it.FetchedAt,
		Schedule:  job.Schedule,
		Tick:      job.Tick,
		Source:    w.cfg.Source,
	})
	if err != nil {
		return events.Event{}, false, err
	}
	return w.changed(ctx, job, ev)
}

// observeCallV3 counts a finished /signals call and hands its outcome to
// the Observer under PathSignals.
func (w *Worker) observeCallV3(job queue.PollJob, start time.Time, err error) {
	d := w.cfg.Now().Sub(start)
	w.st.calls.Add(1)
	w.st.observeLatency(d)
	if o := w.deps.Observer; o != nil {
		o.ObserveCall(PathSignals, d, ErrorOutcome(err))
	}
}

// observeItems hands the data ages of a v3 call's items to the Observer,
// under each item's key (normalize.Item.Key), and the newest of them.
func (w *Worker) observeItems(job queue.PollJob, items []normalize.Item) {
	o := w.deps.Observer
	if o == nil {
		return
	}
	var newest time.Time
	for _, it := range items {
		if it.Time.IsZero() {
			continue
		}
		fetched := it.FetchedAt
		if fetched.IsZero() {
			fetched = w.cfg.Now()
		}
		o.ObserveDataAge(it.Key, max(fetched.Sub(it.Time), 0))
		if it.Time.After(newest) {
			newest = it.Time
		}
	}
	if !newest.IsZero() {
		o.ObserveNewestData(job.VehicleID, newest)
	}
}
