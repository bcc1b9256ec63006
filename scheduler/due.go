package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/queue"
)

// Plans is the due index of adaptive schedules (a registry.Planner): each
// vehicle's next due time under each schedule. The worker moves a vehicle
// to its next due time after polling it.
type Plans interface {
	// AddPlan enters the vehicle at due unless it has a plan already.
	AddPlan(ctx context.Context, schedule, vehicleID string, due time.Time) (bool, error)
	// DeletePlan removes the vehicle from schedule.
	DeletePlan(ctx context.Context, schedule, vehicleID string) error
	// ClaimDue returns up to limit vehicles due at now and moves each one's
	// due time to now+lease in the same atomic step.
	ClaimDue(ctx context.Context, schedule string, now time.Time, lease time.Duration, limit int) ([]string, error)
}

// Due tunes the due loops of adaptive schedules. Zero fields take
// defaults.
type Due struct {
	// Tick is how often a due loop claims the vehicles that are due
	// (default 1s): a vehicle's poll is enqueued within about a Tick of its
	// due time.
	Tick time.Duration
	// Reseed is how often the vehicle list is read again to enter new
	// vehicles in the due index and take out those gone (default 10m).
	// Vehicles connected through onboarding are entered when they are
	// registered; a reading catches the rest (registered by other means,
	// tags or pauses changed), and it reads the whole fleet, so it is rare.
	Reseed time.Duration
	// Lease is how long a claimed vehicle stays out of the due index
	// before it is due again should its job never set its next due time
	// (a job lost, a worker crashed); default 15m. Keep it above the
	// queue's longest wait and a job's retries, or a vehicle may be polled
	// twice.
	Lease time.Duration
	// Page is the most vehicles one ClaimDue returns (default 500); a loop
	// claims pages until none is left.
	Page int
}

func (d Due) withDefaults() Due {
	d.Tick = cmp.Or(d.Tick, time.Second)
	d.Reseed = cmp.Or(d.Reseed, 10*time.Minute)
	d.Lease = cmp.Or(d.Lease, 15*time.Minute)
	d.Page = cmp.Or(d.Page, 500)
	return d
}

func (d Due) validate() error {
	if d.Tick < 0 || d.Reseed < 0 || d.Lease < 0 || d.Page < 0 {
		return fmt.Errorf("due: negative tick %s, reseed %s, lease %s or page %d", d.Tick, d.Reseed, d.Lease, d.Page)
	}
	return nil
}

// dueLoop is one adaptive schedule's loop: what it knows of the vehicles
// between two readings of the list, and the jobs it could not enqueue yet.
type dueLoop struct {
	s *Scheduler
	e *entry

	seededAt time.Time
	seeded   map[string]bool // vehicle id -> paused, for the vehicles entered
	unsent   []queue.PollJob
}

// runDue runs e's due loop until ctx is done: at every Tick it claims the
// vehicles that are due and enqueues a job for each; every Reseed it reads
// the vehicle list and enters the vehicles e selects (AddPlan keeps a plan
// that exists). Its cost per tick grows with the vehicles due, not with the
// fleet.
func (s *Scheduler) runDue(ctx context.Context, e *entry) {
	l := &dueLoop{s: s, e: e}
	t := time.NewTicker(s.due.Tick)
	defer t.Stop()
	for {
		l.step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// step is one tick of the loop.
func (l *dueLoop) step(ctx context.Context) {
	now := l.s.now()
	if l.seeded == nil || now.Sub(l.seededAt) >= l.s.due.Reseed || now.Before(l.seededAt) {
		if err := l.seed(ctx, now); err != nil && ctx.Err() == nil {
			l.s.log.WarnContext(ctx, "adaptive schedule: list vehicles", "schedule", l.e.Name, "err", err)
		}
	}
	if l.seeded == nil {
		return // nothing known of the vehicles yet
	}
	if err := l.claim(ctx, now); err != nil && ctx.Err() == nil {
		l.s.log.WarnContext(ctx, "adaptive schedule: claim due vehicles", "schedule", l.e.Name, "err", err)
	}
}

// seed reads the vehicle list, enters the vehicles not seen before in the
// due index (due now, unless they have a plan) and takes out those no
// longer registered or selected.
func (l *dueLoop) seed(ctx context.Context, now time.Time) error {
	vs, err := l.s.vehicles.ListVehicles(ctx)
	if err != nil {
		return err
	}
	next := make(map[string]bool, len(vs))
	added := 0
	var errs []error
	for i := range vs {
		v := &vs[i]
		if !l.e.match(v) {
			continue
		}
		if _, ok := l.seeded[v.ID]; !ok {
			ok, err := l.s.plans.AddPlan(ctx, l.e.Name, v.ID, now)
			if err != nil {
				errs = append(errs, fmt.Errorf("add plan of %s: %w", v.ID, err))
				continue // tried again at the next reading
			}
			if ok {
				added++
			}
		}
		next[v.ID] = v.Paused
	}
	removed := 0
	for id := range l.seeded {
		if _, ok := next[id]; ok {
			continue
		}
		if err := l.s.plans.DeletePlan(ctx, l.e.Name, id); err != nil {
			errs = append(errs, fmt.Errorf("delete plan of %s: %w", id, err))
			next[id] = true // kept as paused, deleted at the next reading
			continue
		}
		removed++
	}
	l.seeded, l.seededAt = next, now
	if added > 0 || removed > 0 {
		l.s.log.InfoContext(ctx, "adaptive schedule: vehicles entered", "schedule", l.e.Name, "added", added, "removed", removed,
			"vehicles", len(next))
	}
	return errors.Join(errs...)
}

// claim enqueues the jobs a failed Enqueue left, then claims pages of due
// vehicles until none is left and enqueues a job for each that is not
// paused (one the last reading saw paused is read again: see resumed). A
// vehicle that is not enqueued (paused, or an Enqueue failed twice) is due
// again when its lease ends.
func (l *dueLoop) claim(ctx context.Context, now time.Time) error {
	if len(l.unsent) > 0 {
		jobs := l.unsent
		l.unsent = nil
		if err := l.enqueue(ctx, jobs, false); err != nil {
			return err
		}
	}
	tick := now.Truncate(time.Second)
	logged := false // a failed read of a paused vehicle is logged once per tick
	for {
		ids, claimErr := l.s.plans.ClaimDue(ctx, l.e.Name, now, l.s.due.Lease, l.s.due.Page)
		// Counted before any paused vehicle is read, so that whoever sees
		// that read sees the claim counted.
		l.s.stats.dueClaimed.Add(int64(len(ids)))
		jobs := make([]queue.PollJob, 0, len(ids))
		for _, id := range ids {
			if l.seeded[id] && !l.resumed(ctx, id, &logged) {
				continue // paused: its lease brings it back
			}
			// A vehicle the last reading did not see was entered since (by
			// onboarding): it is polled now; the worker drops the job of
			// one removed since, and the next reading takes it out.
			jobs = append(jobs, queue.PollJob{
				ID:        queue.JobID(l.e.Name, id, tick),
				Schedule:  l.e.Name,
				VehicleID: id,
				Paths:     l.e.Paths,   // shared, read-only
				Signals:   l.e.Signals, // shared, read-only
				Tick:      tick,
				Emit:      l.e.Emit,
				Adaptive:  true,
			})
		}
		if err := l.enqueue(ctx, jobs, true); err != nil {
			return errors.Join(err, claimErr)
		}
		if claimErr != nil {
			return fmt.Errorf("claim: %w", claimErr) // the vehicles claimed despite it are enqueued
		}
		if len(ids) < l.s.due.Page {
			return nil
		}
	}
}

// resumed reads a claimed vehicle that the last reading of the list saw
// paused and reports whether it is pollable now (reconnected since): it is
// marked unpaused and polled at once, not a reading later. A vehicle still
// paused, gone, no longer selected or not read (the first failure of a
// tick is logged) stays skipped until its lease brings it back, so a paused
// vehicle costs one read per lease.
func (l *dueLoop) resumed(ctx context.Context, id string, logged *bool) bool {
	v, err := l.s.vehicles.Vehicle(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return false // the next reading takes it out
	case err != nil:
		if !*logged && ctx.Err() == nil {
			*logged = true
			l.s.log.WarnContext(ctx, "adaptive schedule: read paused vehicle", "schedule", l.e.Name, "vehicle_id", id, "err", err)
		}
		return false
	case v.Paused || !l.e.match(&v):
		return false
	}
	l.seeded[id] = false
	return true
}

// enqueue puts jobs on the queue; when it fails and keep is set, they are
// tried again at the next tick.
func (l *dueLoop) enqueue(ctx context.Context, jobs []queue.PollJob, keep bool) error {
	if len(jobs) == 0 {
		return nil
	}
	res, err := l.s.enq.Enqueue(ctx, jobs...)
	l.s.stats.dueEnqueued.Add(int64(res.Enqueued))
	if err == nil {
		return nil
	}
	if keep {
		l.unsent = jobs // Enqueue is idempotent by job id within the duplicate window
	} else {
		l.s.stats.jobsAbandoned.Add(int64(len(jobs)))
	}
	return fmt.Errorf("enqueue %d jobs: %w", len(jobs), err)
}
