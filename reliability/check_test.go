package reliability

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/queue"
)

// streamEvents reads every event of the events stream.
func (s *setup) streamEvents(ctx context.Context) ([]events.Event, error) {
	st, err := s.js.Stream(ctx, events.StreamName(s.prefix))
	if err != nil {
		return nil, fmt.Errorf("events stream: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("events stream info: %w", err)
	}
	var out []events.Event
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			return nil, fmt.Errorf("get event %d: %w", seq, err)
		}
		ev, err := events.Parse(m.Data)
		if err != nil {
			return nil, fmt.Errorf("parse event %d: %w", seq, err)
		}
		out = append(out, ev)
	}
	return out, nil
}

type evKey struct {
	vehicle string
	signal  events.Signal
	tick    int64
}

// tally is what the events stream shows about the polls.
type tally struct {
	Events      int // data events
	Jobs        int // (vehicle, tick) pairs expected: every vehicle at every tick seen
	Ticks       []time.Time
	Missing     []string // vehicle/signal@tick with no event
	Duplicates  int      // extra data events for one (vehicle, signal, tick), or one id twice
	Errors      int      // error events (a path that failed for good)
	NeedsReauth map[string]bool
	seen        map[evKey]int
	incomplete  map[int64]bool // ticks (unix seconds) with a (vehicle, path) missing
}

// count tallies evs against vehicles and paths: every tick that produced an
// event must have exactly one event per vehicle and path.
func count(evs []events.Event, vehicles, paths []string) tally {
	tl := tally{seen: map[evKey]int{}, NeedsReauth: map[string]bool{}, incomplete: map[int64]bool{}}
	ticks := map[int64]time.Time{}
	ids := map[string]int{}
	for _, ev := range evs {
		ids[ev.ID]++
		sig, _ := ev.Signal()
		switch sig {
		case events.SignalStatus:
			var st events.StatusData
			if ev.DecodeData(&st) == nil && st.Status == events.StatusNeedsReauth {
				tl.NeedsReauth[ev.Subject] = true
			}
			continue
		case events.SignalError:
			tl.Errors++
			continue
		}
		if ev.Tick.IsZero() {
			continue
		}
		tl.Events++
		tl.seen[evKey{ev.Subject, sig, ev.Tick.Unix()}]++
		ticks[ev.Tick.Unix()] = ev.Tick
	}
	for _, n := range ids {
		tl.Duplicates += n - 1
	}
	for _, n := range tl.seen {
		if n > 1 {
			tl.Duplicates += n - 1
		}
	}
	for u, tk := range ticks {
		tl.Ticks = append(tl.Ticks, tk)
		for _, v := range vehicles {
			tl.Jobs++
			for _, p := range paths {
				sig, _ := normalize.SignalForPath(p)
				if tl.seen[evKey{v, sig, u}] == 0 {
					tl.Missing = append(tl.Missing, fmt.Sprintf("%.8s/%s@%s", v, sig, tk.UTC().Format("15:04:05")))
					tl.incomplete[u] = true
				}
			}
		}
	}
	sort.Slice(tl.Ticks, func(i, j int) bool { return tl.Ticks[i].Before(tl.Ticks[j]) })
	sort.Strings(tl.Missing)
	return tl
}

// completeBetween counts the ticks in (from, to] with an event for every
// vehicle and path. Ticks still being polled are not: with calls as long as
// the schedule's period, some tick is always in flight.
func (tl tally) completeBetween(from, to time.Time) int {
	n := 0
	for _, tk := range tl.Ticks {
		if tk.After(from) && !tk.After(to) && !tl.incomplete[tk.Unix()] {
			n++
		}
	}
	return n
}

// incompleteUntil counts the ticks up to t that lack an event.
func (tl tally) incompleteUntil(t time.Time) int {
	n := 0
	for _, tk := range tl.Ticks {
		if !tk.After(t) && tl.incomplete[tk.Unix()] {
			n++
		}
	}
	return n
}

// ticksBetween counts the ticks seen in (from, to].
func (tl tally) ticksBetween(from, to time.Time) int {
	n := 0
	for _, tk := range tl.Ticks {
		if tk.After(from) && !tk.After(to) {
			n++
		}
	}
	return n
}

// skipped counts the ticks of a schedule firing every period, between the
// first and the last tick seen, that produced no event at all.
func (tl tally) skipped(period time.Duration) int {
	if len(tl.Ticks) == 0 {
		return 0
	}
	span := tl.Ticks[len(tl.Ticks)-1].Sub(tl.Ticks[0])
	return int(span/period) + 1 - len(tl.Ticks)
}

// check fails t for lost, duplicated or failed polls.
func (tl tally) check(t *testing.T) {
	t.Helper()
	if len(tl.Missing) > 0 {
		t.Errorf("%d (vehicle, signal, tick) lost: %v", len(tl.Missing), firstN(tl.Missing, 30))
	}
	if tl.Duplicates > 0 {
		t.Errorf("%d duplicate events in the stream", tl.Duplicates)
	}
	if tl.Errors > 0 {
		t.Errorf("%d error events: paths failed for good", tl.Errors)
	}
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// waitTwoTicks waits up to a minute for two ticks with every vehicle's
// events, failing if one of alive exits meanwhile. Ticks still in flight do
// not count, and do not hold it up: with calls as long as the period, and
// a vehicle's next job meeting its last one's poll lease on another
// replica, some tick is always being polled.
func (s *setup) waitTwoTicks(t *testing.T, alive ...*replica) tally {
	t.Helper()
	return s.waitTicks(t, 60*time.Second, "two complete ticks", func(tl tally) bool {
		return tl.completeBetween(time.Time{}, time.Now().Add(time.Hour)) >= 2
	}, alive...)
}

// waitTicks polls the events stream until cond holds for its tally, or fails
// t after limit.
func (s *setup) waitTicks(t *testing.T, limit time.Duration, what string, cond func(tally) bool, alive ...*replica) tally {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		for _, r := range alive {
			r.alive(t)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		evs, err := s.streamEvents(ctx)
		cancel()
		if err == nil {
			tl := count(evs, s.Vehicles, s.opts.Paths)
			if cond(tl) {
				return tl
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached after %s (last error: %v)", what, limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// final reads the events stream once the queue is drained, and checks the
// calls the simulator saw (checkCalls).
func (s *setup) final(t *testing.T) tally {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	evs, err := s.streamEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s.checkCalls(t)
	return count(evs, s.Vehicles, s.opts.Paths)
}

// checkCalls checks what the simulator saw of the API in use. On v3: no v2
// call and no refresh (the refresh tokens were spent only at connect
// time), sc-user-id on every call and the vehicle's user in it, and at most
// one application token per run process (they live an hour here: none
// needed renewing). On both: no call inside a Retry-After.
func (s *setup) checkCalls(t *testing.T) {
	t.Helper()
	st := s.sim.Stats()
	if st.RetryAfterViolations != 0 {
		t.Errorf("%d calls inside a Retry-After window", st.RetryAfterViolations)
	}
	if s.opts.API != config.APIV3 {
		return
	}
	users := map[string]string{}
	for _, v := range s.sim.Vehicles() {
		users[v.ID] = v.UserID
	}
	wrong := 0
	for _, r := range s.sim.Requests() {
		if r.Route == "/v3/signals" && r.Status != 401 && r.UserID != users[r.VehicleID] {
			wrong++
		}
	}
	if st.MissingUserID != 0 || wrong != 0 || st.Paths["/batch"] != 0 || st.Refreshes > int64(len(s.sim.Users())) {
		t.Errorf("on API v3: %d calls without sc-user-id, %d for another user, %d batch calls, %d refreshes; want none (and one refresh per user at connect)",
			st.MissingUserID, wrong, st.Paths["/batch"], st.Refreshes)
	}
	if st.AppTokens < 1 || st.AppTokens > int64(s.runs) {
		t.Errorf("%d application tokens for %d run processes, want 1 to %d (one per process)", st.AppTokens, s.runs, s.runs)
	}
}

// drain runs a replica whose schedule does not fire until the job consumer
// has nothing left to deliver and nothing delivered unacked, then stops it
// with SIGTERM. It returns the jobs still stored in the work-queue stream
// (see staleJobs).
func (s *setup) drain(t *testing.T, limit time.Duration) uint64 {
	t.Helper()
	r := s.start("drain", "@yearly")
	deadline := time.Now().Add(limit)
	var d depth
	for {
		r.alive(t)
		var err error
		d, err = s.queueDepth(t.Context())
		if err == nil && d.ackPending == 0 && d.pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job queue not drained after %s: %+v, %v", limit, d, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.term(t, s.opts.ShutdownGrace+20*time.Second)
	if d.msgs > 0 {
		t.Logf("%d jobs left in the work-queue stream that the consumer will not deliver: %v", d.msgs, s.staleJobs(t))
	}
	return d.msgs
}

// staleJobs lists the ids of the jobs still stored in the work-queue stream.
func (s *setup) staleJobs(t *testing.T) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, queue.StreamName(s.prefix))
	if err != nil {
		return []string{err.Error()}
	}
	info, err := st.Info(ctx)
	if err != nil {
		return []string{err.Error()}
	}
	var ids []string
	unreadable := 0
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq && len(ids) < 50; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			unreadable++
			continue
		}
		ids = append(ids, fmt.Sprintf("%d:%s", seq, m.Header.Get("Nats-Msg-Id")))
	}
	ids = append(ids, fmt.Sprintf("(stream first %d last %d, %d sequences unreadable)", info.State.FirstSeq, info.State.LastSeq, unreadable))
	if ci, err := s.consumerInfo(ctx); err == nil {
		ids = append(ids, fmt.Sprintf("(consumer delivered %d, ack floor %d)", ci.Delivered.Stream, ci.AckFloor.Stream))
	}
	return ids
}

type depth struct {
	msgs       uint64 // jobs in the work-queue stream (not yet acked)
	pending    uint64 // not yet delivered
	ackPending int    // delivered, not acked (snoozed and handed back included)
}

func (s *setup) queueDepth(ctx context.Context) (depth, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := s.js.Stream(ctx, queue.StreamName(s.prefix))
	if err != nil {
		return depth{}, err
	}
	si, err := st.Info(ctx)
	if err != nil {
		return depth{}, err
	}
	c, err := st.Consumer(ctx, queue.ConsumerName(s.prefix))
	if err != nil {
		return depth{}, err
	}
	ci, err := c.Info(ctx)
	if err != nil {
		return depth{}, err
	}
	return depth{msgs: si.State.Msgs, pending: ci.NumPending, ackPending: ci.NumAckPending}, nil
}

// consumerInfo returns the durable job consumer's info.
func (s *setup) consumerInfo(ctx context.Context) (*jetstream.ConsumerInfo, error) {
	c, err := s.js.Consumer(ctx, queue.StreamName(s.prefix), queue.ConsumerName(s.prefix))
	if err != nil {
		return nil, err
	}
	return c.Info(ctx)
}

// metric reads one unlabelled sample from a replica's /metrics.
func (r *replica) metric(name string) (float64, error) {
	resp, err := http.Get("http://" + r.http + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == name {
			return strconv.ParseFloat(f[1], 64)
		}
	}
	return 0, fmt.Errorf("metric %s not found", name)
}

// figures logs a scenario's figures in the form docs/reliability.md quotes.
func (s *setup) figures(t *testing.T, scenario string, tl tally, extra string) {
	t.Helper()
	st := s.sim.Stats()
	violations := st.SpentRefreshReuse + st.RetryAfterViolations + st.ExpiredTokenUses
	t.Logf("FIGURES %s api=%s: vehicles=%d ticks=%d jobs=%d events=%d losses=%d duplicates=%d errors=%d refreshes=%d grace_reuse=%d app_tokens=%d runs=%d no_user_id=%d requests=%d faults=%d violations=%d %s",
		scenario, s.opts.API, len(s.Vehicles), len(tl.Ticks), tl.Jobs, tl.Events, len(tl.Missing), tl.Duplicates, tl.Errors,
		st.Refreshes, st.GraceRefreshReuse, st.AppTokens, s.runs, st.MissingUserID, st.Requests, st.FaultsInjected, violations, extra)
}

func mustEvents(t *testing.T, s *setup) []events.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	evs, err := s.streamEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func itoa(n int) string { return strconv.Itoa(n) }

func keyFor(vehicle, path string, tick time.Time) evKey {
	sig, _ := normalize.SignalForPath(path)
	return evKey{vehicle, sig, tick.Unix()}
}
