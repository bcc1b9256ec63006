package scheduler_test

import (
	"context"
	"fmt"
	"log/slog"
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

// fleet is a vehicle list a test changes. It counts the readings of the
// list and, when reads is set, sends the id of each vehicle read alone;
// with readErr such a read fails.
type fleet struct {
	mu      sync.Mutex
	vs      []scheduler.Vehicle
	lists   int
	reads   chan string
	readErr error
}

func (f *fleet) ListVehicles(context.Context) ([]scheduler.Vehicle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	return slices.Clone(f.vs), nil
}

func (f *fleet) Vehicle(ctx context.Context, id string) (scheduler.Vehicle, error) {
	if f.reads != nil {
		select {
		case f.reads <- id:
		case <-ctx.Done():
			return scheduler.Vehicle{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return scheduler.Vehicle{}, f.readErr
	}
	for _, v := range f.vs {
		if v.ID == id {
			return v, nil
		}
	}
	return scheduler.Vehicle{}, fmt.Errorf("vehicle %s: %w", id, scheduler.ErrNotFound)
}

func (f *fleet) add(v scheduler.Vehicle) {
	f.mu.Lock()
	f.vs = append(f.vs, v)
	f.mu.Unlock()
}

// set replaces the vehicle with v's id by v, or removes it when gone.
func (f *fleet) set(v scheduler.Vehicle, gone bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vs = slices.DeleteFunc(f.vs, func(w scheduler.Vehicle) bool { return w.ID == v.ID })
	if !gone {
		f.vs = append(f.vs, v)
	}
}

func (f *fleet) listed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
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
func TestDue(t *testing.T) { onPlanStores(t, "due", testDue) }

// onPlanStores runs test on Redis and on the embedded store (JetStream KV,
// with its mirror, as the daemon runs it), each keyed by a fresh name.
func onPlanStores(t *testing.T, name string, test func(*testing.T, planStore)) {
	t.Run("redis", func(t *testing.T) {
		rdb := testserver.Redis(t)
		test(t, redisregistry.New(rdb, testserver.RedisPrefix(t, rdb, name)))
	})
	t.Run("kv", func(t *testing.T) {
		js := testserver.JetStream(t)
		prefix := testserver.Unique(name)
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
		test(t, store)
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

// readOf returns the id of the next vehicle the due loop read alone,
// failing the test after 20 s without one.
func readOf(t *testing.T, reads <-chan string) string {
	t.Helper()
	select {
	case id := <-reads:
		return id
	case <-time.After(20 * time.Second):
		t.Fatal("no vehicle read in 20 s")
	}
	return ""
}

// TestDue_Resumed: a claimed vehicle the last reading of the list saw
// paused is read alone; once it is active again (reconnected) it is polled
// at that claim, not a reading later, and later claims take it as active
// without reading it; one still paused, or gone, is not enqueued. The list
// is read once, at the start.
func TestDue_Resumed(t *testing.T) { onPlanStores(t, "resumed", testDueResumed) }

func testDueResumed(t *testing.T, store planStore) {
	q, _ := replicaQueue(t, testserver.NATSURL(), testserver.Unique("resumed"))
	clock := &virtualClock{now: time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)}
	start := clock.Now()
	const lease = 10 * time.Minute
	vs := &fleet{reads: make(chan string, 16), vs: []scheduler.Vehicle{
		{ID: "a", Tags: []string{"fleet"}},
		{ID: "r", Tags: []string{"fleet"}, Paused: true}, // reconnects
		{ID: "s", Tags: []string{"fleet"}, Paused: true}, // stays paused
		{ID: "g", Tags: []string{"fleet"}, Paused: true}, // removed
	}}
	sched := scheduler.Schedule{Name: "live", Adaptive: true, Signals: []string{"odometer"}, Emit: "on_change",
		Vehicles: scheduler.Selector{Tags: []string{"fleet"}}}
	s, err := scheduler.New(scheduler.Config{Schedules: []scheduler.Schedule{sched}, Now: clock.Now, Plans: store,
		Due: scheduler.Due{Tick: 10 * time.Millisecond, Reseed: time.Hour, Lease: lease}}, nil, vs, q)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() { _ = s.Run(ctx) })
	jobs := jobsOf(t, q)
	readsOf := func(n int) map[string]int {
		t.Helper()
		got := map[string]int{}
		for range n {
			got[readOf(t, vs.reads)]++
		}
		return got
	}
	jobsOfN := func(n int) map[string]time.Time {
		t.Helper()
		got := map[string]time.Time{}
		for range n {
			j := next(t, jobs)
			if _, dup := got[j.VehicleID]; dup || !j.Adaptive {
				t.Errorf("job %+v, twice or not adaptive", j)
			}
			got[j.VehicleID] = j.Tick
		}
		return got
	}

	// All four are entered and claimed; the paused ones are read, a is polled.
	if got := readsOf(3); got["r"] != 1 || got["s"] != 1 || got["g"] != 1 {
		t.Errorf("reads at the start: %v, want r, s and g once", got)
	}
	if got := jobsOfN(1); !got["a"].Equal(start) {
		t.Errorf("jobs at the start: %v, want a's", got)
	}

	// r reconnects and g is removed; their leases end before a reading.
	vs.set(scheduler.Vehicle{ID: "r", Tags: []string{"fleet"}}, false)
	vs.set(scheduler.Vehicle{ID: "g"}, true)
	clock.advance(lease)
	if got := readsOf(3); got["r"] != 1 || got["s"] != 1 || got["g"] != 1 {
		t.Errorf("reads at the leases' end: %v, want r, s and g once", got)
	}
	if got := jobsOfN(2); !got["a"].Equal(clock.Now()) || !got["r"].Equal(clock.Now()) {
		t.Errorf("jobs at the leases' end: %v, want a's and r's at %v", got, clock.Now())
	}

	// The worker makes r due again: it is polled without a read.
	clock.advance(time.Second)
	if err := store.SetPlan(ctx, "live", "r", reg.Plan{State: []byte{1}, Due: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if got := jobsOfN(1); !got["r"].Equal(clock.Now()) {
		t.Errorf("jobs after r's poll: %v, want r's at %v", got, clock.Now())
	}
	// s made due again is read: the loop's ticks before have ended.
	clock.advance(time.Second)
	if err := store.SetPlan(ctx, "live", "s", reg.Plan{Due: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if id := readOf(t, vs.reads); id != "s" {
		t.Errorf("read %s, want s (r is active)", id)
	}
	st := s.Stats().Snapshot()
	// Claimed: all four at the start and at the leases' end, r, s.
	// Enqueued: a; a and r; r.
	if st.DueClaimed != 10 || st.DueEnqueued != 4 {
		t.Errorf("claimed %d, enqueued %d; want 10 and 4 (s and g never enqueued)", st.DueClaimed, st.DueEnqueued)
	}
	if n := vs.listed(); n != 1 {
		t.Errorf("the list was read %d times, want once", n)
	}
}

// TestDue_ReadFails: when the paused vehicles a claim returns cannot be
// read, they are skipped (their leases bring them back) and the failure is
// logged once per tick, not once per vehicle.
func TestDue_ReadFails(t *testing.T) {
	rdb := testserver.Redis(t)
	store := redisregistry.New(rdb, testserver.RedisPrefix(t, rdb, "readfails"))
	q, _ := replicaQueue(t, testserver.NATSURL(), testserver.Unique("readfails"))
	clock := &virtualClock{now: time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)}
	const lease = 10 * time.Minute
	vs := &fleet{reads: make(chan string, 16), readErr: errBoom, vs: []scheduler.Vehicle{
		{ID: "a", Tags: []string{"fleet"}},
		{ID: "x", Tags: []string{"fleet"}, Paused: true},
		{ID: "y", Tags: []string{"fleet"}, Paused: true},
	}}
	sched := scheduler.Schedule{Name: "live", Adaptive: true, Signals: []string{"odometer"}, Emit: "on_change",
		Vehicles: scheduler.Selector{Tags: []string{"fleet"}}}
	s, logs := newLoggedScheduler(t, scheduler.Config{Schedules: []scheduler.Schedule{sched}, Now: clock.Now, Plans: store,
		Due: scheduler.Due{Tick: 10 * time.Millisecond, Reseed: time.Hour, Lease: lease}}, vs, q)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() { _ = s.Run(ctx) })
	jobs := jobsOf(t, q)

	const msg = "adaptive schedule: read paused vehicle"
	for i := 1; i <= 2; i++ { // at the start, then when the leases end
		if i == 2 {
			clock.advance(lease)
		}
		for range 2 {
			if id := readOf(t, vs.reads); id != "x" && id != "y" {
				t.Errorf("read %s, want x or y", id)
			}
		}
		if j := next(t, jobs); j.VehicleID != "a" || !j.Tick.Equal(clock.Now()) {
			t.Errorf("job %s at %v, want a's at %v", j.VehicleID, j.Tick, clock.Now())
		}
		// a's job is enqueued after the tick's reads: their warnings are in.
		if got := logs.find(msg); len(got) != i || got[i-1].level != slog.LevelWarn || got[i-1].attrs["err"] == nil {
			t.Fatalf("after tick %d: %d warnings %q (%+v), want %d", i, len(got), msg, got, i)
		}
	}
	// x made due again is read: the loop's ticks before have ended.
	if err := store.SetPlan(ctx, "live", "x", reg.Plan{Due: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if id := readOf(t, vs.reads); id != "x" {
		t.Errorf("read %s, want x", id)
	}
	if st := s.Stats().Snapshot(); st.DueEnqueued != 2 {
		t.Errorf("enqueued %d jobs, want 2 (a's; x and y never)", st.DueEnqueued)
	}
}
