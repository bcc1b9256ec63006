package worker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// recordingObserver keeps everything a worker reports.
type recordingObserver struct {
	mu      sync.Mutex
	calls   []string // "path outcome"
	ages    map[string]time.Duration
	newest  map[string]time.Time
	waits   int
	waitsOK int
}

func newRecordingObserver() *recordingObserver {
	return &recordingObserver{ages: map[string]time.Duration{}, newest: map[string]time.Time{}}
}

func (o *recordingObserver) ObserveCall(path string, d time.Duration, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, path+" "+outcome)
}

func (o *recordingObserver) ObserveDataAge(path string, age time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.ages[path] = age
}

func (o *recordingObserver) ObserveBilled(string, time.Time, int) {}

func (o *recordingObserver) ObserveNewestData(vehicleID string, recorded time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.newest[vehicleID] = recorded
}

func (o *recordingObserver) ObserveLimiterWait(d time.Duration, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.waits++
	if ok {
		o.waitsOK++
	}
}

// observed is a worker on the fixture's parts reporting to o.
func (f *fixture) observed(t *testing.T, cfg worker.Config, o worker.Observer, lim worker.Limiter) *worker.Worker {
	t.Helper()
	w, err := worker.New(cfg, nil, worker.Deps{Tokens: f.mgr, API: f.client, Registry: f.store, Publisher: f.pub,
		Changes: f.pub, Enqueuer: f.q, Limiter: lim, Observer: o})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestObserver_PathOutcomesAndDataAge: one batch call is reported under each
// path it asked for, with that path's own outcome; the paths with data give
// their age (the simulator's SC-Fetched-At minus SC-Data-Age) and the
// vehicle's newest data time.
func TestObserver_PathOutcomesAndDataAge(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	f.sim.SetFault(f.bev, "/location", smartcartest.Fault{Type: "SERVER", Code: "INTERNAL", Times: 1})
	o := newRecordingObserver()
	w := f.observed(t, worker.Config{}, o, unlimited())
	j := job(f.bev, tick0, "always", "/odometer", "/location", "/battery")
	if err := w.Handle(t.Context(), j, queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	slices.Sort(o.calls)
	if want := []string{"/battery ok", "/location server", "/odometer ok"}; !slices.Equal(o.calls, want) {
		t.Errorf("ObserveCall = %q, want %q", o.calls, want)
	}
	if _, ok := o.ages["/location"]; ok || len(o.ages) != 2 {
		t.Errorf("data ages = %v, want /odometer and /battery only", o.ages)
	}
	// The simulator dates each value a little before its fetch (the vehicle's
	// lag), and never after it.
	var newest time.Time
	for _, ev := range f.stored(t) {
		if ev.Time.After(newest) {
			newest = ev.Time
		}
	}
	for p, age := range o.ages {
		if age < 0 || age > 24*time.Hour {
			t.Errorf("age of %s = %v, want between 0 and a day", p, age)
		}
	}
	if got := o.newest[f.bev]; newest.IsZero() || !got.Equal(newest) {
		t.Errorf("newest data of %s = %v, want the newest event time %v", f.bev, got, newest)
	}
	if o.waits != 1 || o.waitsOK != 1 {
		t.Errorf("limiter waits = %d (%d ok), want 1 (1)", o.waits, o.waitsOK)
	}
	if s := w.Stats().Snapshot(); s.Calls != 1 || s.LimiterWaits != 1 || s.LimiterDenied != 0 {
		t.Errorf("Snapshot = %+v, want 1 call, 1 limiter wait, 0 denied", s)
	}
}

// clock is a settable worker clock.
type clock struct{ ns atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestObserver_FailedCallAndActiveHolds: a call that fails as a whole is
// reported under every path with its error class, and its Retry-After hold
// counts as active until it is over.
func TestObserver_FailedCallAndActiveHolds(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	f.sim.SetFault(f.bev, "/batch", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 20 * time.Second, Times: 1})
	var c clock
	c.ns.Store(time.Now().UnixNano())
	o := newRecordingObserver()
	w := f.observed(t, worker.Config{Now: c.Now}, o, unlimited())
	err := w.Handle(t.Context(), job(f.bev, tick0, "always", "/odometer", "/location"), queue.Delivery{Deliveries: 1})
	if _, ok := queue.SnoozeDelay(err); !ok {
		t.Fatalf("Handle = %v, want a snooze", err)
	}
	slices.Sort(o.calls)
	if want := []string{"/location rate_limit", "/odometer rate_limit"}; !slices.Equal(o.calls, want) {
		t.Errorf("ObserveCall = %q, want %q", o.calls, want)
	}
	if len(o.ages) != 0 || len(o.newest) != 0 {
		t.Errorf("data observed from a failed call: ages %v, newest %v", o.ages, o.newest)
	}
	if s := w.Stats().Snapshot(); s.HoldsActive != 1 || s.Holds != 1 {
		t.Errorf("after a Retry-After: %d holds active, %d set; want 1 and 1", s.HoldsActive, s.Holds)
	}
	c.Advance(21 * time.Second)
	if s := w.Stats().Snapshot(); s.HoldsActive != 0 || s.Holds != 1 {
		t.Errorf("after the hold: %d holds active, %d set; want 0 and 1", s.HoldsActive, s.Holds)
	}
}

// farLimiter refuses every slot: the next one is an hour away.
type farLimiter struct{}

type delayError struct{ d time.Duration }

func (e delayError) Error() string        { return fmt.Sprintf("next slot in %s", e.d) }
func (e delayError) Delay() time.Duration { return e.d }

func (farLimiter) Wait(ctx context.Context) error { return delayError{time.Hour} }

// TestObserver_LimiterDenied: a wait that gives no slot is counted as denied
// and the snooze still carries the limiter's delay through the wrapper.
func TestObserver_LimiterDenied(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	o := newRecordingObserver()
	w := f.observed(t, worker.Config{}, o, farLimiter{})
	err := w.Handle(t.Context(), job(f.bev, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1})
	if d, ok := queue.SnoozeDelay(err); !ok || d < time.Hour {
		t.Fatalf("Handle = %v, want a snooze of the limiter's hour", err)
	}
	if o.waits != 1 || o.waitsOK != 0 || len(o.calls) != 0 {
		t.Errorf("limiter waits %d (%d ok), calls %q; want 1 (0 ok) and no call", o.waits, o.waitsOK, o.calls)
	}
	if s := w.Stats().Snapshot(); s.LimiterWaits != 1 || s.LimiterDenied != 1 || s.Calls != 0 {
		t.Errorf("Snapshot = %+v, want 1 limiter wait, 1 denied, 0 calls", s)
	}
}

func TestErrorOutcome(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, worker.OutcomeOK},
		{context.Canceled, worker.OutcomeError},
		{&smartcar.Error{Type: smartcar.TypeRateLimit, Code: "VEHICLE"}, "rate_limit"},
		{fmt.Errorf("batch: %w", &smartcar.Error{Type: smartcar.TypeVehicleState, Code: "ASLEEP"}), "vehicle_state"},
		{&smartcar.Error{Type: smartcar.TypeAuthentication}, "authentication"},
		{&smartcar.Error{Type: smartcar.TypeSDK, Err: errors.New("connection reset")}, "sdk_error"},
		{&smartcar.Error{Type: "SOMETHING_NEW", Code: "X"}, worker.OutcomeOther},
	} {
		if got := worker.ErrorOutcome(tt.err); got != tt.want {
			t.Errorf("ErrorOutcome(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
