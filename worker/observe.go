package worker

import (
	"context"
	"sync"
	"time"

	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Observer receives the worker's measurements as they happen, for metrics
// (Deps.Observer; cmd maps them to Prometheus). Its methods run on the poll
// path: they must be cheap, must not block and must be safe for concurrent
// use. Counters that need no distribution are in Stats instead.
type Observer interface {
	// ObserveCall is called for each path a batch call asked for, with the
	// duration of the whole call and the path's outcome: OutcomeOK, or the
	// class of the path's error (ErrorOutcome) or, when the whole call
	// failed, of the call's.
	ObserveCall(path string, d time.Duration, outcome string)
	// ObserveDataAge is called for each path that returned data with an
	// SC-Data-Age header: how old the data was when fetched, that is
	// SC-Fetched-At (or, without it, the end of the call) minus SC-Data-Age,
	// never negative.
	ObserveDataAge(path string, age time.Duration)
	// ObserveNewestData is called once per successful batch call that
	// returned dated data, with the newest SC-Data-Age among its paths.
	ObserveNewestData(vehicleID string, recorded time.Time)
	// ObserveLimiterWait is called after each wait on the app-level rate
	// limiter, with how long it took and whether it gave a slot (false: the
	// job was snoozed, or its context ended).
	ObserveLimiterWait(d time.Duration, ok bool)
	// ObserveBilled is called after a job's billed calls were counted
	// (Deps.Plans), with the vehicle's billed calls in at's billing month
	// so far, by every schedule and replica.
	ObserveBilled(vehicleID string, at time.Time, monthTotal int)
}

// Outcomes of a path in ObserveCall: OutcomeOK, the lower-cased Smartcar
// error type (smartcar.TypeRateLimit gives "rate_limit"), OutcomeOther for an
// error type Smartcar has not documented, and OutcomeError for a failure
// that is no *smartcar.Error (a context ended before the call completed).
const (
	OutcomeOK    = "ok"
	OutcomeOther = "other"
	OutcomeError = "error"
)

// ErrorOutcome classifies err for ObserveCall. The result is one of a fixed,
// small set of strings, so it is safe as a metric label; it allocates nothing.
func ErrorOutcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	e, ok := smartcar.AsError(err)
	if !ok {
		return OutcomeError
	}
	switch e.Type {
	case smartcar.TypeAuthentication:
		return "authentication"
	case smartcar.TypePermission:
		return "permission"
	case smartcar.TypeResourceNotFound:
		return "resource_not_found"
	case smartcar.TypeValidation:
		return "validation"
	case smartcar.TypeConnectedServicesAccount:
		return "connected_services_account"
	case smartcar.TypeBilling:
		return "billing"
	case smartcar.TypeCompatibility:
		return "compatibility"
	case smartcar.TypeRateLimit:
		return "rate_limit"
	case smartcar.TypeUpstream:
		return "upstream"
	case smartcar.TypeVehicleState:
		return "vehicle_state"
	case smartcar.TypeServer:
		return "server"
	case smartcar.TypeSDK:
		return "sdk_error"
	}
	return OutcomeOther
}

// observeCall counts a finished batch call and hands its per-path outcomes
// and data ages to the Observer.
func (w *Worker) observeCall(job queue.PollJob, start time.Time, res *smartcar.BatchResponse, err error) {
	end := w.cfg.Now()
	d := end.Sub(start)
	w.st.calls.Add(1)
	w.st.observeLatency(d)
	o := w.deps.Observer
	if o == nil {
		return
	}
	if err != nil || res == nil {
		outcome := ErrorOutcome(err)
		for _, p := range job.Paths {
			o.ObserveCall(smartcar.NormalizePath(p), d, outcome)
		}
		return
	}
	var newest time.Time
	for _, p := range job.Paths {
		item, ok := res.Item(p)
		switch {
		case !ok:
			o.ObserveCall(smartcar.NormalizePath(p), d, OutcomeOther)
			continue
		case item.Err != nil:
			o.ObserveCall(item.Path, d, ErrorOutcome(item.Err))
			continue
		}
		o.ObserveCall(item.Path, d, OutcomeOK)
		recorded := item.Meta.DataAge
		if recorded.IsZero() {
			continue
		}
		fetched := item.Meta.FetchedAt
		if fetched.IsZero() {
			fetched = end
		}
		o.ObserveDataAge(item.Path, max(fetched.Sub(recorded), 0))
		if recorded.After(newest) {
			newest = recorded
		}
	}
	if !newest.IsZero() {
		o.ObserveNewestData(job.VehicleID, newest)
	}
}

// observedLimiter times the waits on the rate limiter.
type observedLimiter struct {
	Limiter
	st *Stats
	o  Observer
}

func (l observedLimiter) Wait(ctx context.Context) error {
	start := time.Now()
	err := l.Limiter.Wait(ctx)
	d := time.Since(start)
	l.st.limiterWaits.Add(1)
	l.st.limiterNanos.Add(int64(d))
	if err != nil {
		l.st.limiterDenied.Add(1)
	}
	if l.o != nil {
		l.o.ObserveLimiterWait(d, err == nil)
	}
	return err
}

// holdRecorder notes the Retry-After holds this process sets, so Stats can
// tell how many vehicles are held now.
type holdRecorder struct {
	Registry
	holds *holdTracker
}

func (r holdRecorder) SetHold(ctx context.Context, vehicleID string, until time.Time) error {
	if err := r.Registry.SetHold(ctx, vehicleID, until); err != nil {
		return err
	}
	r.holds.set(vehicleID, until)
	return nil
}

// holdTracker keeps the end of each hold this process set until it passes.
// It is written only when a hold is set (rare) and read at scrape time.
type holdTracker struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func (h *holdTracker) set(vehicleID string, until time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.until == nil {
		h.until = make(map[string]time.Time)
	}
	if until.After(h.until[vehicleID]) {
		h.until[vehicleID] = until
	}
}

// active forgets the holds over at now and counts the others.
func (h *holdTracker) active(now time.Time) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, until := range h.until {
		if !until.After(now) {
			delete(h.until, id)
		}
	}
	return len(h.until)
}

// wrap wraps the limiter and the registry of deps so waits and holds are
// counted, and returns the wrapped deps.
func (st *Stats) wrap(deps Deps) Deps {
	deps.Limiter = observedLimiter{Limiter: deps.Limiter, st: st, o: deps.Observer}
	deps.Registry = holdRecorder{Registry: deps.Registry, holds: &st.holdsActive}
	return deps
}
