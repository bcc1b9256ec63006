package worker_test

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/limiter"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// leaseShapes are the two kinds of poll lease the worker meets: in the
// store, seen by every replica (the Redis registry's StartPoll, one Lua
// script), and in the process (registry.LocalLeases, as the daemon wires
// its embedded store: lease in memory, then the vehicle and the hold read).
func leaseShapes(f *fixture) []struct {
	name  string
	store registry.Store
} {
	return []struct {
		name  string
		store registry.Store
	}{
		{"store", f.store},
		{"local", registry.LocalLeases(f.store)},
	}
}

// replica is a second worker on the fixture's parts, as another process would
// run it: its own in-process vehicle locks, the given registry.
func (f *fixture) replica(t *testing.T, cfg worker.Config, reg worker.Registry, lim worker.Limiter) *worker.Worker {
	t.Helper()
	w, err := worker.New(cfg, nil, worker.Deps{Tokens: f.mgr, API: f.client, Registry: reg, Publisher: f.pub,
		Changes: f.pub, Enqueuer: f.q, Limiter: lim})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func unlimited() worker.Limiter { return rate.NewLimiter(rate.Inf, 1) }

// leaseFree checks that the vehicle's poll lease is not held in store.
func leaseFree(t *testing.T, store registry.Store, vehicle string) {
	t.Helper()
	p, err := store.StartPoll(t.Context(), vehicle, time.Second)
	if errors.Is(err, registry.ErrLeased) {
		t.Fatalf("lease of %s still taken", vehicle)
	}
	if err == nil {
		_ = p.Unlock(t.Context())
	} else if !errors.Is(err, registry.ErrNotFound) {
		t.Fatal(err)
	}
}

func TestHandle_LeaseHeldByAnotherReplicaSnoozes(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	for i, shape := range leaseShapes(f) {
		t.Run(shape.name, func(t *testing.T) {
			w := f.replica(t, worker.Config{LeaseBusy: time.Second}, shape.store, unlimited())
			ctx := t.Context()
			tick := tick0.Add(time.Duration(i) * time.Hour)
			theirs, err := shape.store.StartPoll(ctx, f.bev, 30*time.Second) // the other poll
			if err != nil {
				t.Fatal(err)
			}
			before := f.sim.Stats().Requests
			err = w.Handle(ctx, job(f.bev, tick, "always", "/odometer"), queue.Delivery{Deliveries: 1})
			d, ok := queue.SnoozeDelay(err)
			if !ok || d < time.Second || d >= 2*time.Second {
				t.Fatalf("Handle while the lease is held = %v; want a snooze in [1s, 2s)", err)
			}
			if got := f.sim.Stats().Requests - before; got != 0 {
				t.Errorf("%d Smartcar requests while another poll held the lease, want 0", got)
			}
			if got := w.Stats().Snapshot().LeaseBusy; got != 1 {
				t.Errorf("LeaseBusy = %d, want 1", got)
			}
			if err := theirs.Unlock(ctx); err != nil {
				t.Fatal(err)
			}
			if err := w.Handle(ctx, job(f.bev, tick, "always", "/odometer"), queue.Delivery{Deliveries: 2}); err != nil {
				t.Fatalf("Handle after the lease was released: %v", err)
			}
			leaseFree(t, shape.store, f.bev) // the poll released its lease
		})
	}
}

func TestHandle_LeaseReleasedAfterFailure(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	for i, shape := range leaseShapes(f) {
		t.Run(shape.name, func(t *testing.T) {
			w := f.replica(t, worker.Config{}, shape.store, unlimited())
			vehicle := []string{f.bev, f.ice}[i] // the other shape's hold stays on its vehicle
			f.sim.SetFault(vehicle, "/batch", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 5 * time.Second, Times: 1})
			err := w.Handle(t.Context(), job(vehicle, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1})
			if _, ok := queue.SnoozeDelay(err); !ok {
				t.Fatalf("Handle with Retry-After = %v, want a snooze", err)
			}
			leaseFree(t, shape.store, vehicle)
			// The hold was stored before the lease went: another replica sees it.
			until, err := f.store.Hold(t.Context(), vehicle)
			if err != nil || time.Until(until) < 3*time.Second {
				t.Errorf("hold = %v, %v; want about 5s from now", until, err)
			}
		})
	}
}

// TestHandle_TwoReplicasNeverCallTogether runs two workers (two replicas)
// on jobs of one vehicle, the second while the first is in a slow call: the
// second is snoozed without calling Smartcar.
func TestHandle_TwoReplicasNeverCallTogether(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	f.sim.SetFault(f.bev, "/batch", smartcartest.Fault{Latency: 2 * time.Second})
	first := f.replica(t, worker.Config{}, f.store, unlimited())
	second := f.replica(t, worker.Config{}, f.store, unlimited())
	ctx := t.Context()
	done := make(chan error, 1)
	go func() {
		done <- first.Handle(ctx, job(f.bev, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1})
	}()
	// Wait until the first holds the lease (its key exists in Redis).
	rdb := testserver.Redis(t)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if n, _ := rdb.Exists(ctx, f.prefix+":lock:poll:"+f.bev).Result(); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first replica never took the lease")
		}
		time.Sleep(5 * time.Millisecond)
	}
	err := second.Handle(ctx, job(f.bev, tick0.Add(time.Second), "always", "/odometer"), queue.Delivery{Deliveries: 1})
	if _, ok := queue.SnoozeDelay(err); !ok {
		t.Errorf("second replica's Handle during the first's call = %v, want a snooze", err)
	}
	if err := <-done; err != nil {
		t.Errorf("first replica's Handle = %v", err)
	}
	if got := f.sim.Stats().Paths["/batch"]; got != 1 {
		t.Errorf("%d batch calls, want 1", got)
	}
}

// TestHandle_RateLimitSlotTooFarSnoozes uses the shared limiter with one slot
// a minute: the second poll is snoozed for about a minute without calling.
func TestHandle_RateLimitSlotTooFarSnoozes(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	rdb := testserver.Redis(t)
	shared, err := limiter.NewShared(rdb, f.prefix+":", limiter.Limit{PerMinute: 1, Burst: 1})
	if err != nil {
		t.Fatal(err)
	}
	w := f.replica(t, worker.Config{LeaseTTL: 10 * time.Second}, f.store, shared)
	ctx := t.Context()
	if err := w.Handle(ctx, job(f.bev, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatal(err)
	}
	before := f.sim.Stats().Requests
	err = w.Handle(ctx, job(f.ice, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1})
	d, ok := queue.SnoozeDelay(err)
	var we *limiter.WaitError
	if !ok || !errors.As(err, &we) || d < 50*time.Second || d > time.Minute {
		t.Fatalf("Handle with the next slot a minute away = %v; want a snooze of about 1m", err)
	}
	if got := f.sim.Stats().Requests - before; got != 0 {
		t.Errorf("%d Smartcar requests, want 0", got)
	}
}
