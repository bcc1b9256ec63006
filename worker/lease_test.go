package worker_test

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/limiter"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// lockOnly is a store whose leases are plain Locks, not a
// worker.PollStarter: the worker's path for such Leases (lease, then hold
// read, then the token manager's vehicle read).
type lockOnly struct {
	worker.Registry
	worker.Leases
}

// leaseShapes are the two ways the worker takes a poll lease: StartPoll
// (RedisStore is a worker.PollStarter) and a plain Lock.
func leaseShapes(f *fixture) []struct {
	name  string
	store interface {
		worker.Registry
		worker.Leases
	}
} {
	return []struct {
		name  string
		store interface {
			worker.Registry
			worker.Leases
		}
	}{
		{"start_poll", f.store},
		{"lock", lockOnly{Registry: f.store, Leases: f.store}},
	}
}

// replica is a second worker on the fixture's parts, as another process would
// run it: its own in-process vehicle locks, the same store.
func (f *fixture) replica(t *testing.T, cfg worker.Config, store interface {
	worker.Registry
	worker.Leases
}, leased bool, lim worker.Limiter) *worker.Worker {
	t.Helper()
	deps := worker.Deps{Tokens: f.mgr, API: f.client, Registry: store, Publisher: f.pub, Changes: f.pub,
		Enqueuer: f.q, Limiter: lim}
	if leased {
		deps.Leases = store
	}
	w, err := worker.New(cfg, nil, deps)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func unlimited() worker.Limiter { return rate.NewLimiter(rate.Inf, 1) }

func TestHandle_LeaseHeldByAnotherReplicaSnoozes(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	for i, shape := range leaseShapes(f) {
		t.Run(shape.name, func(t *testing.T) {
			w := f.replica(t, worker.Config{LeaseBusy: time.Second}, shape.store, true, unlimited())
			ctx := t.Context()
			tick := tick0.Add(time.Duration(i) * time.Hour)
			unlock, err := f.store.Lock(ctx, "poll:"+f.bev, 30*time.Second) // the other replica's poll
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
				t.Errorf("%d Smartcar requests while another replica held the lease, want 0", got)
			}
			if got := w.Stats().Snapshot().LeaseBusy; got != 1 {
				t.Errorf("LeaseBusy = %d, want 1", got)
			}
			if err := unlock(ctx); err != nil {
				t.Fatal(err)
			}
			if err := w.Handle(ctx, job(f.bev, tick, "always", "/odometer"), queue.Delivery{Deliveries: 2}); err != nil {
				t.Fatalf("Handle after the lease was released: %v", err)
			}
			// The poll released its lease.
			again, err := f.store.Lock(ctx, "poll:"+f.bev, time.Second)
			if err != nil {
				t.Fatalf("lease still taken after the poll: %v", err)
			}
			_ = again(ctx)
		})
	}
}

func TestHandle_LeaseReleasedAfterFailure(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	for i, shape := range leaseShapes(f) {
		t.Run(shape.name, func(t *testing.T) {
			w := f.replica(t, worker.Config{}, shape.store, true, unlimited())
			vehicle := []string{f.bev, f.ice}[i] // the other shape's hold stays on its vehicle
			f.sim.SetFault(vehicle, "/batch", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 5 * time.Second, Times: 1})
			err := w.Handle(t.Context(), job(vehicle, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1})
			if _, ok := queue.SnoozeDelay(err); !ok {
				t.Fatalf("Handle with Retry-After = %v, want a snooze", err)
			}
			unlock, err := f.store.Lock(t.Context(), "poll:"+vehicle, time.Second)
			if err != nil {
				t.Fatalf("lease still taken after a failed poll: %v", err)
			}
			_ = unlock(t.Context())
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
	first := f.replica(t, worker.Config{}, f.store, true, unlimited())
	second := f.replica(t, worker.Config{}, f.store, true, unlimited())
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
	w := f.replica(t, worker.Config{LeaseTTL: 10 * time.Second}, f.store, true, shared)
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
