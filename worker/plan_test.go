package worker_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

func secondsPolicy(t *testing.T) *adaptive.Policy {
	t.Helper()
	p, err := adaptive.New(adaptive.Config{
		Budget:    adaptive.Budget{CallsPerMonth: 500, Reserve: 0.1},
		Intervals: adaptive.Intervals{Driving: 2 * time.Second, Charging: 3 * time.Second, PluggedIn: 5 * time.Second, Parked: 7 * time.Second, Asleep: 11 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPlan: the decision after a poll, from data, a 430, a VEHICLE_STATE
// answer and a failure without data; calls the record does not know of
// come out of the reserve.
func TestPlan(t *testing.T) {
	p := secondsPolicy(t)
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	sigs := []smartcar.Signal{}

	state, due, exhausted := worker.Plan(p, nil, worker.PollResult{Signals: sigs, Calls: 1, MonthCalls: 1}, now)
	if exhausted || len(state) == 0 || !due.After(now) {
		t.Fatalf("after data: state %d bytes, due %v, exhausted %v; want a state and a due time after %v", len(state), due, exhausted, now)
	}
	var v adaptive.Vehicle
	if err := v.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	if polls, other := p.Spent(&v, now); polls != 1 || other != 0 {
		t.Errorf("Spent = %d polls, %d other; want 1, 0", polls, other)
	}

	// Another schedule's 4 calls came in between: they count as other calls.
	later := now.Add(time.Hour)
	state, _, _ = worker.Plan(p, state, worker.PollResult{Signals: sigs, Calls: 1, MonthCalls: 6}, later)
	if err := v.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	if polls, other := p.Spent(&v, later); polls != 2 || other != 4 {
		t.Errorf("Spent = %d polls, %d other; want 2, 4", polls, other)
	}

	quota := &smartcar.Error{Type: smartcar.TypeBilling, Code: "VEHICLE_REQUEST_LIMIT", StatusCode: 430}
	_, due, exhausted = worker.Plan(p, state, worker.PollResult{Err: quota}, later)
	if want := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC); !exhausted || !due.Equal(want) {
		t.Errorf("after a 430: due %v, exhausted %v; want %v, true", due, exhausted, want)
	}

	asleep := &smartcar.Error{Type: "VEHICLE_STATE", Code: "ASLEEP", StatusCode: 409}
	if _, ok := adaptive.FromError(asleep, later); !ok {
		t.Fatal("FromError does not take VEHICLE_STATE:ASLEEP")
	}
	_, due, exhausted = worker.Plan(p, state, worker.PollResult{Err: asleep, Calls: 1}, later)
	if exhausted || due.Sub(later) < 11*time.Second {
		t.Errorf("asleep: due %v after, exhausted %v; want at least the asleep floor (11s)", due.Sub(later), exhausted)
	}

	_, due, _ = worker.Plan(p, []byte("garbage"), worker.PollResult{Err: errors.New("connection reset")}, later)
	if d := due.Sub(later); d < 2*time.Second {
		t.Errorf("after a failure: due %v after; want at least the shortest floor (2s)", d)
	}
}

// adaptiveWorker is the fixture's API v3 worker with the registry's plans
// and policy p for schedule "live".
func (f *fixture) adaptiveWorker(t *testing.T, p *adaptive.Policy) *worker.Worker {
	t.Helper()
	return f.withDeps(t, worker.Config{Policies: map[string]*adaptive.Policy{"live": p}}, func(d *worker.Deps) {
		d.Tokens, d.API = nil, nil
		d.V3, d.Latest, d.Plans = appAPI{f.app}, f.pub, f.store
	})
}

func adaptiveJob(vehicle string, tick time.Time) queue.PollJob {
	return queue.PollJob{ID: queue.JobID("live", vehicle, tick), Schedule: "live", VehicleID: vehicle,
		Signals: []string{"odometer", "location", "battery", "charge"}, Tick: tick, Emit: "on_change", Adaptive: true}
}

// TestHandle_AdaptiveJobSetsPlan: an adaptive job's poll stores the
// vehicle's plan and next due time, and every job's billed call is counted.
func TestHandle_AdaptiveJobSetsPlan(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	w := f.adaptiveWorker(t, secondsPolicy(t))
	ctx := t.Context()
	before := time.Now()
	if _, err := f.store.AddPlan(ctx, "live", f.bev, tick0); err != nil { // as the due loop enters it
		t.Fatal(err)
	}
	if err := w.Handle(ctx, adaptiveJob(f.bev, tick0), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	plan, err := f.store.GetPlan(ctx, "live", f.bev)
	if err != nil {
		t.Fatalf("GetPlan: %v", err)
	}
	if len(plan.State) == 0 || plan.Due.Before(before.Add(2*time.Second).Truncate(time.Millisecond)) {
		t.Errorf("plan: %d bytes, due %v; want a state and a due time at least a floor after %v", len(plan.State), plan.Due, before)
	}
	// A cron job of the same vehicle is counted too, and plans nothing.
	if err := w.Handle(ctx, job3(f.bev, tick0.Add(time.Minute), "always", "odometer"), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle cron job: %v", err)
	}
	if _, err := f.store.GetPlan(ctx, "t", f.bev); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetPlan of the cron schedule = %v, want ErrNotFound", err)
	}
	if n, err := f.store.Calls(ctx, f.bev, time.Now()); err != nil || n != 2 {
		t.Errorf("Calls = %d, %v; want 2", n, err)
	}
	if got := w.Stats().Snapshot().Billed; got != 2 {
		t.Errorf("Stats.Billed = %d, want 2", got)
	}
}

// TestHandle_AdaptiveStaleJob: a second job for a due time a later poll
// already served (an earlier claim's job that outwaited its lease, or a
// claim after a webhook while a job was queued) makes no call; a job whose
// vehicle was taken out of the schedule meanwhile does not put its plan
// back.
func TestHandle_AdaptiveStaleJob(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	w := f.adaptiveWorker(t, secondsPolicy(t))
	ctx := t.Context()
	claimed := time.Now().Truncate(time.Second).Add(-time.Second) // the second claim's tick, a second before the first job polls
	if _, err := f.store.AddPlan(ctx, "live", f.bev, claimed); err != nil {
		t.Fatal(err)
	}
	if err := w.Handle(ctx, adaptiveJob(f.bev, claimed.Add(-20*time.Minute)), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle of the first job: %v", err)
	}
	if err := w.Handle(ctx, adaptiveJob(f.bev, claimed), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle of the second job: %v", err)
	}
	if n := f.v3Calls(t, f.user); n != 1 {
		t.Errorf("%d /signals calls, want 1 (the second job served by the first's poll)", n)
	}
	if got := w.Stats().Snapshot().StaleAdaptive; got != 1 {
		t.Errorf("Stats.StaleAdaptive = %d, want 1", got)
	}

	// Taken out of the schedule while its job waited: polled (it was due),
	// and its plan stays gone.
	if err := f.store.DeletePlan(ctx, "live", f.ice); err != nil {
		t.Fatal(err)
	}
	if err := w.Handle(ctx, adaptiveJob(f.ice, claimed), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle of a job of a vehicle without a plan: %v", err)
	}
	if _, err := f.store.GetPlan(ctx, "live", f.ice); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetPlan after the poll = %v, want ErrNotFound (the vehicle left the schedule)", err)
	}
}

// TestHandle_AdaptiveQuotaExhausted: a 430 makes the vehicle due at the next
// billing month, holds it, publishes quota_exhausted, and bills nothing.
func TestHandle_AdaptiveQuotaExhausted(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	w := f.adaptiveWorker(t, secondsPolicy(t))
	ctx := t.Context()
	f.sim.SetFault(f.bev, "/v3/vehicles/x/signals", smartcartest.ErrorFault("BILLING", "VEHICLE_REQUEST_LIMIT"))
	if _, err := f.store.AddPlan(ctx, "live", f.bev, tick0); err != nil { // as the due loop enters it
		t.Fatal(err)
	}
	if err := w.Handle(ctx, adaptiveJob(f.bev, tick0), queue.Delivery{Deliveries: 1}); !queue.IsDrop(err) {
		t.Fatalf("Handle = %v, want a drop", err)
	}
	now := time.Now().UTC()
	next := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	plan, err := f.store.GetPlan(ctx, "live", f.bev)
	if err != nil || !plan.Due.Equal(next) {
		t.Errorf("plan due %v, %v; want %v", plan.Due, err, next)
	}
	if h, err := f.store.Hold(ctx, f.bev); err != nil || !h.Equal(next) {
		t.Errorf("hold until %v, %v; want %v", h, err, next)
	}
	if n, err := f.store.Calls(ctx, f.bev, now); err != nil || n != 0 {
		t.Errorf("Calls = %d, %v; want 0 (a 430 is not billed)", n, err)
	}
	st := bySignal(f.stored(t))[events.SignalStatus]
	if len(st) != 1 || !strings.Contains(string(st[0].Data), `"quota_exhausted"`) {
		t.Errorf("status events %v, want one quota_exhausted", st)
	}
	// Claimed again (say the lease ended): held, no call, still due next month.
	if err := w.Handle(ctx, adaptiveJob(f.bev, tick0.Add(time.Hour)), queue.Delivery{Deliveries: 1}); !queue.IsDrop(err) {
		t.Errorf("Handle during the hold = %v, want a drop", err)
	}
	if plan, err := f.store.GetPlan(ctx, "live", f.bev); err != nil || !plan.Due.Equal(next) {
		t.Errorf("plan due %v, %v after the held job; want %v", plan.Due, err, next)
	}
	if n := f.v3Calls(t, f.user); n != 1 {
		t.Errorf("%d /signals calls, want 1", n)
	}
}

// TestWebhookPlanner: a VEHICLE_STATE folds into the plan of each adaptive
// schedule that selects the vehicle and has a plan for it; the others are
// left alone.
func TestWebhookPlanner(t *testing.T) {
	rdb := testserver.Redis(t)
	store := redisregistry.New(rdb, testserver.RedisPrefix(t, rdb, "wkhook"))
	ctx := t.Context()
	p := secondsPolicy(t)
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	far := now.Add(24 * time.Hour)
	for _, s := range []string{"live", "other"} {
		if _, err := store.AddPlan(ctx, s, "v1", far); err != nil {
			t.Fatal(err)
		}
	}
	wp := worker.WebhookPlanner{Plans: store, Schedules: []worker.AdaptiveSchedule{
		{Name: "live", Policy: p, Selects: func(v registry.Vehicle) bool { return v.ID == "v1" }},
		{Name: "other", Policy: p, Selects: func(registry.Vehicle) bool { return false }},
		{Name: "new", Policy: p, Selects: func(registry.Vehicle) bool { return true }},
		{Name: "early", Policy: p, Selects: func(registry.Vehicle) bool { return true }},
	}}
	signals := []smartcar.Signal{
		{Code: "charge-detailedchargingstatus", Status: smartcar.SignalSuccess, Body: []byte(`{"value":"CHARGING"}`), OEMUpdatedAt: now},
		{Code: "charge-ischargingcableconnected", Status: smartcar.SignalSuccess, Body: []byte(`{"value":true}`), OEMUpdatedAt: now},
	}
	if err := wp.ObserveState(ctx, registry.Vehicle{ID: "v1"}, signals, now); err != nil {
		t.Fatal(err)
	}
	live, err := store.GetPlan(ctx, "live", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if len(live.State) == 0 || !live.Due.Before(far) {
		t.Errorf("live: %d bytes, due %v; want a state and a due time before %v", len(live.State), live.Due, far)
	}
	if other, err := store.GetPlan(ctx, "other", "v1"); err != nil || len(other.State) != 0 || !other.Due.Equal(far) {
		t.Errorf("other: %+v, %v; want it untouched", other, err)
	}
	if _, err := store.GetPlan(ctx, "new", "v1"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("new: GetPlan = %v, want ErrNotFound (left to its due loop)", err)
	}

	// Registered (reconnected): entered where it has no plan, due at once;
	// where it has one, its state is kept and it is due at once unless it
	// is due earlier.
	live.Due = far // say its claims' leases moved it while it was paused
	if err := store.SetPlan(ctx, "live", "v1", live); err != nil {
		t.Fatal(err)
	}
	early := registry.Plan{State: []byte{7}, Due: now.Add(-time.Hour)}
	if err := store.SetPlan(ctx, "early", "v1", early); err != nil {
		t.Fatal(err)
	}
	if err := wp.ObserveRegistered(ctx, registry.Vehicle{ID: "v1"}, now); err != nil {
		t.Fatal(err)
	}
	if p, err := store.GetPlan(ctx, "new", "v1"); err != nil || !p.Due.Equal(now) {
		t.Errorf("new after ObserveRegistered: %+v, %v; want due at %v", p, err, now)
	}
	if p, err := store.GetPlan(ctx, "live", "v1"); err != nil || !p.Due.Equal(now) || !bytes.Equal(p.State, live.State) {
		t.Errorf("live after ObserveRegistered: %+v, %v; want its state kept, due at %v (not %v)", p, err, now, far)
	}
	if p, err := store.GetPlan(ctx, "early", "v1"); err != nil || !p.Due.Equal(early.Due) || !bytes.Equal(p.State, early.State) {
		t.Errorf("early after ObserveRegistered: %+v, %v; want it kept (%+v)", p, err, early)
	}
	if p, err := store.GetPlan(ctx, "other", "v1"); err != nil || !p.Due.Equal(far) {
		t.Errorf("other after ObserveRegistered: %+v, %v; want it untouched", p, err)
	}
}

// interleaved is the registry's plans with a write of another's between
// the read and the write of the first UpdatePlan: between runs inside its
// fn, before the decision.
type interleaved struct {
	*redisregistry.Store
	between func()
	prevs   [][]byte // the states fn was called with
}

func (p *interleaved) UpdatePlan(ctx context.Context, schedule, vehicleID string, fn func(registry.Plan) (registry.Plan, error)) error {
	return p.Store.UpdatePlan(ctx, schedule, vehicleID, func(prev registry.Plan) (registry.Plan, error) {
		p.prevs = append(p.prevs, bytes.Clone(prev.State))
		if len(p.prevs) == 1 {
			p.between()
		}
		return fn(prev)
	})
}

// TestHandle_AdaptivePollBuildsOnWebhook: a webhook's plan stored while
// the poll's plan is decided is not undone by the poll's: the poll decides
// again from the webhook's plan, and stores that.
func TestHandle_AdaptivePollBuildsOnWebhook(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	ctx := t.Context()
	p := secondsPolicy(t)
	if _, err := f.store.AddPlan(ctx, "live", f.bev, tick0); err != nil {
		t.Fatal(err)
	}
	wp := worker.WebhookPlanner{Plans: f.store, Schedules: []worker.AdaptiveSchedule{
		{Name: "live", Policy: p, Selects: func(registry.Vehicle) bool { return true }},
	}}
	at := time.Now().UTC()
	var hooked registry.Plan
	plans := &interleaved{Store: f.store, between: func() {
		signals := []smartcar.Signal{
			{Code: "charge-detailedchargingstatus", Status: smartcar.SignalSuccess, Body: []byte(`{"value":"CHARGING"}`), OEMUpdatedAt: at},
			{Code: "charge-ischargingcableconnected", Status: smartcar.SignalSuccess, Body: []byte(`{"value":true}`), OEMUpdatedAt: at},
		}
		if err := wp.ObserveState(ctx, registry.Vehicle{ID: f.bev}, signals, at); err != nil {
			t.Errorf("ObserveState: %v", err)
		}
		var err error
		if hooked, err = f.store.GetPlan(ctx, "live", f.bev); err != nil || len(hooked.State) == 0 {
			t.Errorf("plan after the webhook: %+v, %v; want a state", hooked, err)
		}
	}}
	w := f.withDeps(t, worker.Config{Policies: map[string]*adaptive.Policy{"live": p}}, func(d *worker.Deps) {
		d.Tokens, d.API = nil, nil
		d.V3, d.Latest, d.Plans = appAPI{f.app}, f.pub, plans
	})
	if err := w.Handle(ctx, adaptiveJob(f.bev, tick0), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if len(plans.prevs) != 2 || len(plans.prevs[0]) != 0 || !bytes.Equal(plans.prevs[1], hooked.State) {
		t.Fatalf("the poll decided %d times, from states %x; want twice: from the added plan's (none), then from the webhook's %x", len(plans.prevs), plans.prevs, hooked.State)
	}
	got, err := f.store.GetPlan(ctx, "live", f.bev)
	if err != nil {
		t.Fatal(err)
	}
	var v adaptive.Vehicle
	if err := v.UnmarshalBinary(got.State); err != nil || v.Polled == 0 || bytes.Equal(got.State, hooked.State) {
		t.Errorf("plan after the poll: %x (%v); want the poll's decision on the webhook's plan", got.State, err)
	}
}
