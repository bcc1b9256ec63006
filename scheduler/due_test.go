package scheduler_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
	reg "github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

// fleet is a vehicle list a test changes.
type fleet struct {
	mu sync.Mutex
	vs []scheduler.Vehicle
}

func (f *fleet) ListVehicles(context.Context) ([]scheduler.Vehicle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.vs), nil
}

func (f *fleet) add(v scheduler.Vehicle) {
	f.mu.Lock()
	f.vs = append(f.vs, v)
	f.mu.Unlock()
}

// virtualClock is a clock the test moves.
type virtualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *virtualClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// jobsOf consumes q and sends each job on the returned channel.
func jobsOf(t *testing.T, q *queue.Queue) <-chan queue.PollJob {
	t.Helper()
	ch := make(chan queue.PollJob, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = q.Consume(ctx, 4, func(_ context.Context, j queue.PollJob, _ queue.Delivery) error {
			ch <- j
			return nil
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return ch
}

// next returns the next job, failing the test after 20 s without one.
func next(t *testing.T, ch <-chan queue.PollJob) queue.PollJob {
	t.Helper()
	select {
	case j := <-ch:
		return j
	case <-time.After(20 * time.Second):
		t.Fatal("no job in 20 s")
	}
	return queue.PollJob{}
}

// TestDue: an adaptive schedule's due loop enters the vehicles it selects
// (not another schedule's, and paused ones are not enqueued), enqueues one
// adaptive job per due vehicle, a vehicle again when the worker's next due
// time comes or its lease ends, and a vehicle registered later after the
// next reading of the list, or at once when onboarding entered it. Two replicas share the due index and enqueue
// each due vehicle once. On Redis and on the embedded store (JetStream KV,
// with its mirror, as the daemon runs it).
func TestDue(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		rdb := testserver.Redis(t)
		testDue(t, redisregistry.New(rdb, testserver.RedisPrefix(t, rdb, "due")))
	})
	t.Run("kv", func(t *testing.T) {
		js := testserver.JetStream(t)
		prefix := testserver.Unique("due")
		v, l := kvregistry.Buckets(prefix)
		d, p := kvregistry.PlanBuckets(prefix)
		testserver.DeleteBucketsAtCleanup(t, js, v, l, d, p)
		store, err := kvregistry.Open(t.Context(), js, kvregistry.Config{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		if err := store.StartMirror(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(store.Close)
		testDue(t, store)
	})
}

// planStore is the registry as TestDue uses it.
type planStore interface {
	scheduler.Plans
	GetPlan(ctx context.Context, schedule, vehicleID string) (reg.Plan, error)
	SetPlan(ctx context.Context, schedule, vehicleID string, p reg.Plan) error
}

func testDue(t *testing.T, store planStore) {
	q, _ := replicaQueue(t, testserver.NATSURL(), testserver.Unique("due"))
	clock := &virtualClock{now: time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)}
	vs := &fleet{vs: []scheduler.Vehicle{
		{ID: "a", Tags: []string{"fleet"}},
		{ID: "b", Tags: []string{"fleet"}},
		{ID: "c", Tags: []string{"other"}},
		{ID: "p", Tags: []string{"fleet"}, Paused: true},
	}}
	sched := scheduler.Schedule{Name: "live", Adaptive: true, Signals: []string{"odometer"}, Emit: "on_change",
		Vehicles: scheduler.Selector{Tags: []string{"fleet"}}}
	cfg := scheduler.Config{Schedules: []scheduler.Schedule{sched}, Now: clock.Now, Plans: store,
		Due: scheduler.Due{Tick: 10 * time.Millisecond, Reseed: time.Hour, Lease: 10 * time.Minute, Page: 1}}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var replicas []*scheduler.Scheduler
	for range 2 {
		s, err := scheduler.New(cfg, nil, vs, q)
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, s)
		wg.Go(func() { _ = s.Run(ctx) })
	}
	jobs := jobsOf(t, q)

	got := map[string]queue.PollJob{}
	for range 2 {
		j := next(t, jobs)
		got[j.VehicleID] = j
	}
	for _, id := range []string{"a", "b"} {
		j, ok := got[id]
		if !ok || !j.Adaptive || j.Schedule != "live" || !slices.Equal(j.Signals, []string{"odometer"}) ||
			j.ID != queue.JobID("live", id, clock.Now()) {
			t.Errorf("job of %s: %+v, %v; want an adaptive job of live at %v", id, j, ok, clock.Now())
		}
	}
	for _, id := range []string{"c", "p"} {
		if _, err := store.GetPlan(ctx, "live", id); (err == nil) != (id == "p") {
			t.Errorf("GetPlan(%s) = %v", id, err)
		}
	}

	// The worker sets a's next due time; b's job got lost.
	start := clock.Now()
	if err := store.SetPlan(ctx, "live", "a", reg.Plan{State: []byte{1}, Due: start.Add(30 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	clock.advance(30 * time.Second)
	if j := next(t, jobs); j.VehicleID != "a" || !j.Tick.Equal(start.Add(30*time.Second)) {
		t.Errorf("job %s at %v, want a at +30s", j.VehicleID, j.Tick)
	}
	// b's lease ends; a vehicle registered meanwhile is entered at the next reading.
	vs.add(scheduler.Vehicle{ID: "d", Tags: []string{"fleet"}})
	clock.advance(10*time.Minute - 30*time.Second) // to b's and p's lease end, before a's
	if j := next(t, jobs); j.VehicleID != "b" {
		t.Errorf("job of %s after b's lease, want b", j.VehicleID)
	}
	clock.advance(time.Hour)
	seen := map[string]int{}
	for range 3 { // a's and b's leases have ended too
		seen[next(t, jobs).VehicleID]++
	}
	if seen["a"] != 1 || seen["b"] != 1 || seen["d"] != 1 {
		t.Errorf("jobs after an hour: %v, want a, b and d once", seen)
	}
	// A vehicle onboarding entered (AddPlan) before a reading saw it is
	// polled at once.
	if _, err := store.AddPlan(ctx, "live", "e", clock.Now()); err != nil {
		t.Fatal(err)
	}
	if j := next(t, jobs); j.VehicleID != "e" || !j.Adaptive {
		t.Errorf("job %+v, want e's adaptive job", j)
	}
	var claimed int64
	for _, s := range replicas {
		claimed += s.Stats().Snapshot().DueClaimed
	}
	// a, b and p at first; a at +30s; b and p when their leases end; a, b, p and d at +1h; e.
	if claimed != 11 {
		t.Errorf("the replicas claimed %d vehicles, want 11", claimed)
	}
}
