package worker_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// withDeps builds a worker on the fixture's parts, with its dependencies
// changed by edit.
func (f *fixture) withDeps(t *testing.T, cfg worker.Config, edit func(*worker.Deps)) *worker.Worker {
	t.Helper()
	deps := worker.Deps{Tokens: f.mgr, API: f.client, Registry: f.store, Publisher: f.pub, Changes: f.pub,
		Enqueuer: f.q, Limiter: unlimited()}
	edit(&deps)
	w, err := worker.New(cfg, nil, deps)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// outcome is what one delivery of a job came to.
type outcome struct {
	d   queue.Delivery
	err error
}

// consume runs w on the fixture's job queue, as the daemon does, with a quick
// backoff, and reports each delivery's outcome. around, if not nil, runs
// each delivery: it calls handle (the worker) and may act before and after.
// Consume stops when the test ends.
func (f *fixture) consume(t *testing.T, w *worker.Worker, around func(d queue.Delivery, handle func() error) error) <-chan outcome {
	t.Helper()
	q, err := queue.New(t.Context(), f.js, queue.Config{Prefix: f.prefix, Storage: jetstream.MemoryStorage,
		FetchWait: 200 * time.Millisecond, Backoff: func(int) time.Duration { return 20 * time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	if around == nil {
		around = func(_ queue.Delivery, handle func() error) error { return handle() }
	}
	out := make(chan outcome, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- q.Consume(ctx, 1, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
			err := around(d, func() error { return w.Handle(ctx, j, d) })
			out <- outcome{d, err}
			return err
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Consume: %v", err)
		}
	})
	return out
}

func next(t *testing.T, out <-chan outcome) outcome {
	t.Helper()
	select {
	case o := <-out:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery within 10s")
		return outcome{}
	}
}

// A vehicle held several times (Retry-After answers), then one transient
// failure: the job is retried and succeeds, because holds use none of its
// attempts.
func TestHandle_HoldsAreNotAttempts(t *testing.T) {
	const retryAfters = 2
	f := setup(t, worker.Config{MaxAttempts: 2}) // the simulator's own clock ends its Retry-After windows
	f.sim.SetFault(f.bev, "/batch", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: time.Second, Times: retryAfters})
	snoozes, failing := 0, false
	out := f.consume(t, f.w, func(d queue.Delivery, handle func() error) error {
		if snoozes == retryAfters && !failing {
			// Held twice: the next call after the hold gets a 500.
			f.sim.SetFault(f.bev, "/batch", smartcartest.Fault{Type: "SERVER", Code: "INTERNAL", Times: 1})
			failing = true
		}
		err := handle()
		if isSnooze(err) {
			snoozes++
		}
		return err
	})
	if _, err := f.q.Enqueue(t.Context(), job(f.bev, tick0, "always", "/odometer")); err != nil {
		t.Fatal(err)
	}
	// Until the job is acked or dropped. A redelivery a moment before its
	// hold ends is snoozed once more, so snoozes may exceed 2.
	failures := 0
	for done := false; !done; {
		o := next(t, out)
		switch {
		case isSnooze(o.err):
		case queue.IsDrop(o.err):
			t.Fatalf("delivery %d dropped the job: %v", o.d.Deliveries, o.err)
		case o.err != nil:
			failures++
		default:
			done = true
			if o.d.Failures != 1 {
				t.Errorf("the successful delivery saw %d failures before it, want 1", o.d.Failures)
			}
		}
	}
	if snoozes < retryAfters || failures != 1 {
		t.Errorf("%d snoozes and %d failures, want at least %d and 1", snoozes, failures, retryAfters)
	}
	got := bySignal(f.stored(t))
	if len(got[events.SignalError]) != 0 || len(got[events.SignalOdometer]) != 1 {
		t.Errorf("events = %v, want one odometer event and no error event", got)
	}
	s := f.sim.Stats()
	if n := s.Paths["/batch"]; n != retryAfters+2 {
		t.Errorf("batch calls = %d, want %d (the Retry-Afters, the 500 and the retry)", n, retryAfters+2)
	}
	if s.RetryAfterViolations != 0 {
		t.Errorf("Retry-After violations = %d, want 0", s.RetryAfterViolations)
	}
}

// MaxAttempts real failures, with snoozes between them (another replica
// polling the vehicle), report the paths as failed: after exactly
// MaxAttempts calls, and the message counts them.
func TestHandle_MaxAttemptsFailuresReportErrors(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	w := f.withDeps(t, worker.Config{MaxAttempts: 3, LeaseBusy: 10 * time.Millisecond}, func(*worker.Deps) {})
	f.sim.SetFault(f.bev, "/batch", smartcartest.Fault{Type: "SERVER", Code: "INTERNAL"})
	out := f.consume(t, w, func(d queue.Delivery, handle func() error) error {
		if d.Deliveries == 1 || d.Deliveries == 3 {
			// Another replica polls the vehicle during this delivery.
			theirs, err := f.store.StartPoll(t.Context(), f.bev, 30*time.Second)
			if err != nil {
				t.Error(err)
				return err
			}
			defer func() {
				if err := theirs.Unlock(context.WithoutCancel(t.Context())); err != nil {
					t.Error(err)
				}
			}()
		}
		return handle()
	})
	if _, err := f.q.Enqueue(t.Context(), job(f.bev, tick0, "always", "/odometer", "/location")); err != nil {
		t.Fatal(err)
	}
	var got []string
	var last outcome
	for !queue.IsDrop(last.err) && len(got) < 10 {
		last = next(t, out)
		switch {
		case isSnooze(last.err):
			got = append(got, "snooze")
		case queue.IsDrop(last.err):
			got = append(got, "drop")
		default:
			got = append(got, "fail")
		}
	}
	if want := []string{"snooze", "fail", "snooze", "fail", "drop"}; !slices.Equal(got, want) {
		t.Errorf("outcomes = %v, want %v", got, want)
	}
	if !strings.Contains(last.err.Error(), "after 3 attempts") {
		t.Errorf("drop = %v, want it to say after 3 attempts", last.err)
	}
	if n := f.sim.Stats().Paths["/batch"]; n != 3 {
		t.Errorf("batch calls = %d, want 3", n)
	}
	errs := bySignal(f.stored(t))[events.SignalError]
	if len(errs) != 2 {
		t.Fatalf("error events = %d, want one per path (2)", len(errs))
	}
	var e events.ErrorData
	if err := errs[0].DecodeData(&e); err != nil || e.Type != smartcar.TypeServer {
		t.Errorf("error event = %+v, %v; want SERVER", e, err)
	}
}

// panicky is Smartcar's API with a bug: its next calls panic (as many as
// left says), the later ones go through.
type panicky struct {
	worker.API
	left *atomic.Int32
}

func (p panicky) Batch(ctx context.Context, token, vehicleID string, paths []string) (*smartcar.BatchResponse, error) {
	if p.left.Add(-1) >= 0 {
		panic("bug in the batch path")
	}
	return p.API.Batch(ctx, token, vehicleID, paths)
}

// A job whose handling panics is retried until its panics reach the queue's
// limit; the last one reports its paths as failed, and the job is gone.
func TestHandle_PanicsEndInErrorEvents(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	var left atomic.Int32
	left.Store(queue.DefaultMaxPanics)
	w := f.withDeps(t, worker.Config{}, func(d *worker.Deps) { d.API = panicky{d.API, &left} })
	out := f.consume(t, w, nil)
	if _, err := f.q.Enqueue(t.Context(), job(f.bev, tick0, "always", "/odometer", "/location")); err != nil {
		t.Fatal(err)
	}
	for i := range queue.DefaultMaxPanics - 1 {
		o := next(t, out)
		var p *queue.PanicError
		if !errors.As(o.err, &p) || queue.IsDrop(o.err) || o.d.Panics != i {
			t.Fatalf("delivery %d = %v (panics before: %d), want a PanicError to retry", i+1, o.err, o.d.Panics)
		}
		if p.Value != "bug in the batch path" || !strings.Contains(string(p.Stack), "panicky.Batch") {
			t.Errorf("PanicError = %v, stack:\n%s\nwant the value and a stack through panicky.Batch", p.Value, p.Stack)
		}
	}
	if o := next(t, out); !queue.IsDrop(o.err) {
		t.Fatalf("delivery %d = %v, want a drop", queue.DefaultMaxPanics, o.err)
	}
	errs := bySignal(f.stored(t))[events.SignalError]
	if len(errs) != 2 {
		t.Fatalf("error events = %d, want one per path (2)", len(errs))
	}
	for _, ev := range errs {
		var e events.ErrorData
		if err := ev.DecodeData(&e); err != nil || e.Code != "PANIC" || strings.Contains(e.Description, "bug in") {
			t.Errorf("error event = %+v, %v; want code PANIC and no panic value", e, err)
		}
	}
	if jobs := f.queued(t); len(jobs) != 0 {
		t.Errorf("jobs left in the queue: %v", jobs)
	}
	// The panics released the vehicle's lock on their way out.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := w.Handle(ctx, job(f.bev, tick0.Add(time.Minute), "always", "/odometer"), queue.Delivery{Deliveries: 1}); err != nil {
		t.Errorf("next job for the vehicle: %v", err)
	}
}

func isSnooze(err error) bool {
	_, ok := queue.SnoozeDelay(err)
	return ok
}

// noStatus is the events publisher when status events cannot be published.
type noStatus struct{ worker.Publisher }

var errPublish = errors.New("status subject refused")

func (p noStatus) Publish(ctx context.Context, evs ...events.Event) error {
	for _, ev := range evs {
		if s, _ := ev.Signal(); s == events.SignalStatus {
			return errPublish
		}
	}
	return p.Publisher.Publish(ctx, evs...)
}

// noHolds is the registry when holds cannot be stored.
type noHolds struct{ worker.Registry }

func (noHolds) SetHold(context.Context, string, time.Time) error { return errors.New("store down") }

// A Retry-After is honoured when its status event cannot be published (the
// hold is stored, the job snoozed or followed up) and when the hold itself
// cannot be stored (the job waits it out).
func TestHandle_RetryAfterWhateverFails(t *testing.T) {
	batch := smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 20 * time.Second, Times: 1}
	item := smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 40 * time.Second, Times: 1}
	tests := []struct {
		name       string
		path       string
		fault      smartcartest.Fault
		edit       func(*worker.Deps)
		wantSnooze time.Duration // 0: nil wanted
		wantHold   bool
		wantFollow int
	}{
		{"batch, status not published", "/batch", batch, func(d *worker.Deps) { d.Publisher = noStatus{d.Publisher} }, 20 * time.Second, true, 0},
		{"item, status not published", "/odometer", item, func(d *worker.Deps) { d.Publisher = noStatus{d.Publisher} }, 0, true, 1},
		{"batch, hold not stored", "/batch", batch, func(d *worker.Deps) { d.Registry = noHolds{d.Registry} }, 20 * time.Second, false, 0},
		{"item, hold not stored", "/odometer", item, func(d *worker.Deps) { d.Registry = noHolds{d.Registry} }, 40 * time.Second, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, worker.Config{}, fixedClock)
			w := f.withDeps(t, worker.Config{}, tt.edit)
			f.sim.SetFault(f.bev, tt.path, tt.fault)
			err := w.Handle(t.Context(), job(f.bev, tick0, "always", "/odometer", "/location"), queue.Delivery{Deliveries: 1})
			if d, ok := queue.SnoozeDelay(err); tt.wantSnooze == 0 && err != nil || tt.wantSnooze > 0 && (!ok || d != tt.wantSnooze) {
				t.Errorf("Handle = %v, want snooze %v (0: success)", err, tt.wantSnooze)
			}
			until, err := f.store.Hold(t.Context(), f.bev)
			if err != nil {
				t.Fatal(err)
			}
			if held := time.Until(until) > 10*time.Second; held != tt.wantHold {
				t.Errorf("hold until %v: held = %v, want %v", until, held, tt.wantHold)
			}
			if n := len(f.queued(t)); n != tt.wantFollow {
				t.Errorf("follow-up jobs = %d, want %d", n, tt.wantFollow)
			}
			got := bySignal(f.stored(t))
			if len(got[events.SignalStatus]) != 0 || len(got[events.SignalError]) != 0 {
				t.Errorf("events = %v, want no status (refused or not held) and no error event", got)
			}
			if tt.path != "/batch" && len(got[events.SignalLocation]) != 1 {
				t.Errorf("location events = %d, want 1 (the path that answered)", len(got[events.SignalLocation]))
			}
		})
	}
}
