package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Plans is where the worker keeps adaptive schedules' plans and counts
// billed calls (a registry.Planner).
type Plans interface {
	GetPlan(ctx context.Context, schedule, vehicleID string) (registry.Plan, error)
	// UpdatePlan changes a plan atomically (registry.Planner.UpdatePlan):
	// the poll and the webhooks change a vehicle's plan through it, so
	// none of them undoes another's change.
	UpdatePlan(ctx context.Context, schedule, vehicleID string, fn func(registry.Plan) (registry.Plan, error)) error
	// AddPlan enters a vehicle at due unless it has a plan already
	// (WebhookPlanner, for a vehicle just registered; it moves one that
	// has a plan with UpdatePlan).
	AddPlan(ctx context.Context, schedule, vehicleID string, due time.Time) (bool, error)
	// AddCalls counts n billed calls of the vehicle in at's billing month
	// and returns the month's total.
	AddCalls(ctx context.Context, vehicleID string, at time.Time, n int) (int, error)
}

// PollResult is what an adaptive job's poll came to, for Plan.
type PollResult struct {
	// Signals are the vehicle's signals when the call succeeded.
	Signals []smartcar.Signal
	// Err is the call's error (nil when it succeeded).
	Err error
	// Calls is what the poll was billed.
	Calls int
	// MonthCalls is the vehicle's billed calls in the billing month so
	// far, this poll's included, by every schedule (0: unknown): calls the
	// policy's record does not know of (other schedules', commands) are
	// counted against its reserve.
	MonthCalls int
}

// Plan is the worker's decision after an adaptive job's poll at now: prev
// is the vehicle's plan state (adaptive.Vehicle's binary form; nil for
// none, and one that does not decode starts afresh), and it returns the
// new state, when the vehicle is due next, and whether its month's quota
// is spent (a 430 BILLING:VEHICLE_REQUEST_LIMIT: due at the next billing
// month). Data (or a VEHICLE_STATE answer such as ASLEEP) goes through
// Policy.Polled; any other failure makes the vehicle due again after its
// shortest floor, or when the policy says if that is later.
func Plan(p *adaptive.Policy, prev []byte, r PollResult, now time.Time) (state []byte, due time.Time, exhausted bool) {
	var v adaptive.Vehicle
	if len(prev) > 0 && v.UnmarshalBinary(prev) != nil {
		v = adaptive.Vehicle{}
	}
	if r.MonthCalls > 0 {
		polls, other := p.Spent(&v, now)
		if extra := r.MonthCalls - r.Calls - polls - other; extra > 0 {
			p.Billed(&v, now, extra)
		}
	}
	var e *smartcar.Error
	switch {
	case r.Err == nil:
		due = p.Polled(&v, adaptive.FromSignals(r.Signals, now), r.Calls)
	case errors.As(r.Err, &e) && e.QuotaExhausted():
		due, exhausted = p.QuotaExhausted(&v, now), true
	default:
		if o, ok := adaptive.FromError(r.Err, now); ok {
			due = p.Polled(&v, o, r.Calls)
			break
		}
		if r.Calls > 0 {
			p.Billed(&v, now, r.Calls)
		}
		due = later(p.Next(&v, now), now.Add(shortestFloor(p.Config().Intervals)))
	}
	state, _ = v.MarshalBinary() // cannot fail
	return state, due, exhausted
}

// Webhook is Plan for a webhook about the vehicle at now (not billed):
// o is what it showed (adaptive.FromSignals of its signals).
func Webhook(p *adaptive.Policy, prev []byte, o adaptive.Observation) (state []byte, due time.Time) {
	var v adaptive.Vehicle
	if len(prev) > 0 && v.UnmarshalBinary(prev) != nil {
		v = adaptive.Vehicle{}
	}
	due = p.Webhook(&v, o)
	state, _ = v.MarshalBinary() // cannot fail
	return state, due
}

func shortestFloor(in adaptive.Intervals) time.Duration {
	return max(min(in.Driving, in.Charging, in.PluggedIn, in.Parked, in.Asleep), time.Second)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// pollRecord is what one job's Smartcar calls came to.
type pollRecord struct {
	called  bool              // a call went out
	calls   int               // billed calls
	signals []smartcar.Signal // the last v3 call's signals, when it succeeded
	err     error             // the last call's error
}

// record notes a call's outcome: billed unless Smartcar refused it for a
// rate limit or a spent quota, or it never got an answer (n is what it
// bills: 1 on v3, one per path on v2).
func (r *pollRecord) record(n int, sigs *smartcar.Signals, err error) {
	r.called, r.err, r.signals = true, err, nil
	if sigs != nil {
		r.signals = sigs.Items
	}
	if billed(err) {
		r.calls += n
	}
}

// billed reports whether a call that ended with err was billed: one that
// succeeded, or that Smartcar answered with an error other than a rate
// limit or a spent quota.
func billed(err error) bool {
	if err == nil {
		return true
	}
	e, ok := smartcar.AsError(err)
	if !ok || e.StatusCode == 0 {
		return false
	}
	return !e.IsRateLimit() && !e.QuotaExhausted()
}

// afterPoll counts the job's billed calls and, for an adaptive job whose
// outcome is final (done or dropped; a job the queue tries again plans
// nothing), stores the vehicle's next due time. The plan is changed with
// UpdatePlan, the policy deciding from the plan as stored at the write: a
// webhook's change stored while the job ran is built on, not undone. A
// vehicle left without one (a failure here) is due again when the due
// loop's lease ends. Failures are logged, never returned: the poll is over
// and was billed.
func (w *Worker) afterPoll(ctx context.Context, job queue.PollJob, rec *pollRecord, hold time.Time, outcome error) {
	plans := w.deps.Plans
	if plans == nil {
		return
	}
	now := w.cfg.Now()
	total := 0
	if rec.calls > 0 {
		w.st.billed.Add(int64(rec.calls))
		n, err := plans.AddCalls(ctx, job.VehicleID, now, rec.calls)
		switch {
		case errors.Is(err, errors.ErrUnsupported): // a store without counts
		case err != nil:
			w.log.WarnContext(ctx, "count billed calls", "vehicle_id", job.VehicleID, "calls", rec.calls, "err", err)
		case w.deps.Observer != nil:
			w.deps.Observer.ObserveBilled(job.VehicleID, now, n)
		}
		total = n
	}
	p := w.cfg.Policies[job.Schedule]
	if !job.Adaptive || p == nil || outcome != nil && !queue.IsDrop(outcome) {
		return
	}
	if !rec.called && !hold.After(now) {
		return // not polled (paused, disabled): due again when the lease ends
	}
	var due time.Time
	err := plans.UpdatePlan(ctx, job.Schedule, job.VehicleID, func(prev registry.Plan) (registry.Plan, error) {
		next := registry.Plan{State: prev.State, Due: hold} // held (a Retry-After, a spent quota): due when it ends
		if rec.called {
			next.State, next.Due, _ = Plan(p, prev.State, PollResult{Signals: rec.signals, Err: rec.err, Calls: rec.calls, MonthCalls: total}, now)
		}
		due = next.Due
		return next, nil
	})
	if errors.Is(err, registry.ErrNotFound) {
		// Taken out of the schedule (removed, or no longer selected) while
		// it was polled: UpdatePlan writes no plan that would put it back.
		return
	}
	if err != nil {
		w.log.WarnContext(ctx, "store plan", "vehicle_id", job.VehicleID, "schedule", job.Schedule, "due", due, "err", err)
	}
}

// staleAdaptive reports whether an adaptive job's vehicle was polled for
// its schedule after the job's tick: by a job of an earlier claim that
// waited longer than the claim's lease (a Retry-After, a backlog), or after
// a webhook made the vehicle due again while a job was queued. Polling it
// again would bill a second call for one due time. It runs with the
// vehicle's poll lease held, and the poll before stored its plan before
// letting go of the lease.
func (w *Worker) staleAdaptive(ctx context.Context, job queue.PollJob) (bool, error) {
	if !job.Adaptive || w.deps.Plans == nil || w.cfg.Policies[job.Schedule] == nil {
		return false, nil
	}
	p, err := w.deps.Plans.GetPlan(ctx, job.Schedule, job.VehicleID)
	if errors.Is(err, registry.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load plan: %w", err)
	}
	var v adaptive.Vehicle
	if len(p.State) == 0 || v.UnmarshalBinary(p.State) != nil {
		return false, nil // never polled, or a state this version cannot read: poll
	}
	// Both are whole seconds: a poll in the tick's own second may have come
	// before the claim (the claim after a poll that set an early due time,
	// or a due time moved by hand), so only a later second proves it.
	if v.Polled <= job.Tick.Unix() {
		return false, nil
	}
	w.st.stale.Add(1)
	w.log.DebugContext(ctx, "adaptive job already served by a later poll", "vehicle_id", job.VehicleID,
		"schedule", job.Schedule, "tick", job.Tick)
	return true, nil
}

// AdaptiveSchedule is an adaptive schedule as webhooks meet it.
type AdaptiveSchedule struct {
	Name   string
	Policy *adaptive.Policy
	// Selects reports whether the schedule selects the vehicle.
	Selects func(v registry.Vehicle) bool
}

// WebhookPlanner folds the signals of VEHICLE_STATE webhooks into the plans
// of the adaptive schedules that select the vehicle (Webhook), so a change
// a webhook reports moves the vehicle's next poll (an
// onboard.StateObserver). A vehicle without a plan yet is left to its
// schedule's due loop. Plans are changed with UpdatePlan: a webhook that
// comes while the vehicle's poll stores its plan (or another replica's
// webhook) is folded into the plan the other stored, and the other into
// its, whichever stores last; neither is lost.
type WebhookPlanner struct {
	Plans     Plans
	Schedules []AdaptiveSchedule
}

// ObserveState takes in a VEHICLE_STATE of v with signals at at.
func (wp WebhookPlanner) ObserveState(ctx context.Context, v registry.Vehicle, signals []smartcar.Signal, at time.Time) error {
	var errs []error
	for _, s := range wp.Schedules {
		if !s.Selects(v) {
			continue
		}
		o := adaptive.FromSignals(signals, at)
		err := wp.Plans.UpdatePlan(ctx, s.Name, v.ID, func(prev registry.Plan) (registry.Plan, error) {
			state, due := Webhook(s.Policy, prev.State, o)
			return registry.Plan{State: state, Due: due}, nil
		})
		if err != nil && !errors.Is(err, registry.ErrNotFound) { // none: left to the due loop
			errs = append(errs, fmt.Errorf("schedule %s: update plan: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// ObserveRegistered makes a vehicle just registered (connected, or
// reconnected after a pause) due at at in the adaptive schedules that
// select it: a new vehicle is entered, due at at; one that has a plan keeps
// its state and is moved to at unless it is due earlier, so a reconnected
// vehicle need not wait out the due time or lease its pause left. The move
// is an UpdatePlan that changes the due time alone, so it keeps a state
// the vehicle's poll stored in the meantime; a poll that stores after it
// sets the due time its fresh outcome calls for.
func (wp WebhookPlanner) ObserveRegistered(ctx context.Context, v registry.Vehicle, at time.Time) error {
	var errs []error
	for _, s := range wp.Schedules {
		if !s.Selects(v) {
			continue
		}
		added, err := wp.Plans.AddPlan(ctx, s.Name, v.ID, at)
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule %s: add plan: %w", s.Name, err))
			continue
		}
		if added {
			continue
		}
		err = wp.Plans.UpdatePlan(ctx, s.Name, v.ID, func(p registry.Plan) (registry.Plan, error) {
			if !p.Due.After(at) {
				return p, registry.ErrSkip // due already
			}
			return registry.Plan{State: p.State, Due: at}, nil
		})
		if err != nil && !errors.Is(err, registry.ErrNotFound) { // none: taken out since, the due loop's next reading enters it
			errs = append(errs, fmt.Errorf("schedule %s: update plan: %w", s.Name, err))
		}
	}
	return errors.Join(errs...)
}
