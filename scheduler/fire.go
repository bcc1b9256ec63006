package scheduler

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/smartcar-poller/smartcar-poller/queue"
)

// Fire enqueues one tick of the named schedule: one job per matching,
// unpaused vehicle, with id queue.JobID(name, vehicle, tick). With a jitter
// it enqueues the vehicles in groups as their offsets come due after tick
// and returns when all are enqueued (or ctx is done); groups already due are
// enqueued at once. If a firing of the same schedule is still spreading, it
// is hurried first (see the package doc). An enqueue error does not stop
// later groups; Fire returns the first one with a count.
func (s *Scheduler) Fire(ctx context.Context, name string, tick time.Time) error {
	e, ok := s.byName[name]
	if !ok {
		return fmt.Errorf("fire %q: %w", name, ErrUnknownSchedule)
	}
	f, prev := e.slot.take()
	defer e.slot.release(f)
	if prev != nil {
		prev.hurryUp()
		select {
		case <-prev.done:
		case <-ctx.Done():
			return fmt.Errorf("fire %s: %w", name, ctx.Err())
		}
	}
	return s.fire(ctx, e, tick, f.hurry)
}

// pending is one vehicle's job waiting for its offset.
type pending struct {
	offset time.Duration
	job    queue.PollJob
}

func (s *Scheduler) fire(ctx context.Context, e *entry, tick time.Time, hurry <-chan struct{}) error {
	start := s.now()
	vs, err := s.vehicles.ListVehicles(ctx)
	if err != nil {
		return fmt.Errorf("fire %s: list vehicles: %w", e.Name, err)
	}
	var paused, webhooked int
	due := make([]pending, 0, len(vs))
	for i := range vs {
		v := &vs[i]
		if !e.match(v) {
			continue
		}
		if v.Paused {
			paused++
			continue
		}
		if e.heardFrom(v, tick) {
			webhooked++
			continue
		}
		due = append(due, pending{
			offset: Offset(e.Name, v.ID, e.Jitter),
			job: queue.PollJob{
				ID:        queue.JobID(e.Name, v.ID, tick),
				Schedule:  e.Name,
				VehicleID: v.ID,
				Paths:     e.Paths, // shared, read-only
				Tick:      tick,
				Emit:      e.Emit,
			},
		})
	}
	log := s.log.With("schedule", e.Name, "tick", tick)

	var t tally
	if e.Jitter == 0 {
		t.enqueue(ctx, s.enq, due)
	} else if err := s.spread(ctx, e, tick, due, hurry, &t); err != nil {
		log.InfoContext(ctx, "firing stopped", "enqueued", t.res.Enqueued, "left", len(due)-t.done, "err", err)
		return fmt.Errorf("fire %s: %w", e.Name, err)
	}
	log.InfoContext(ctx, "schedule fired", "vehicles", len(due), "paused", paused, "webhooks_fresh", webhooked,
		"enqueued", t.res.Enqueued, "duplicates", t.res.Duplicates, "failed", t.failed, "took", s.now().Sub(start))
	if t.err != nil {
		return fmt.Errorf("fire %s: %d of %d jobs not enqueued: %w", e.Name, t.failed, len(due), t.err)
	}
	return nil
}

// spread enqueues due in groups as their offsets come due after tick; once
// hurry is closed it enqueues the rest at once.
func (s *Scheduler) spread(ctx context.Context, e *entry, tick time.Time, due []pending, hurry <-chan struct{}, t *tally) error {
	slices.SortFunc(due, func(a, b pending) int {
		return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(a.job.VehicleID, b.job.VehicleID))
	})
	width := groupWidth(e.Jitter)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	hurried := false
	for i := 0; i < len(due); {
		if err := ctx.Err(); err != nil {
			return err
		}
		group := due[i].offset / width
		j := i + 1
		for j < len(due) && due[j].offset/width == group {
			j++
		}
		elapsed := s.now().Sub(tick)
		if wait := group*width - elapsed; wait <= 0 {
			// Due or late: take every group already due in one call.
			for j < len(due) && due[j].offset/width*width <= elapsed {
				j++
			}
		} else if !hurried {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
			case <-hurry:
				hurried = true
				s.log.WarnContext(ctx, "schedule fired again while spreading; enqueuing the rest now",
					"schedule", e.Name, "tick", tick, "left", len(due)-i)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if hurried {
			j = len(due)
		}
		t.enqueue(ctx, s.enq, due[i:j])
		i = j
	}
	return nil
}

// tally adds up the enqueue calls of one firing.
type tally struct {
	res    queue.EnqueueResult
	done   int // jobs handed to Enqueue
	failed int
	err    error // the first
}

func (t *tally) enqueue(ctx context.Context, enq Enqueuer, ps []pending) {
	if len(ps) == 0 {
		return
	}
	jobs := make([]queue.PollJob, len(ps))
	for i := range ps {
		jobs[i] = ps[i].job
	}
	res, err := enq.Enqueue(ctx, jobs...)
	t.res.Enqueued += res.Enqueued
	t.res.Duplicates += res.Duplicates
	t.done += len(ps)
	if err != nil {
		t.failed += len(ps) - res.Enqueued - res.Duplicates
		if t.err == nil {
			t.err = err
		}
	}
}

// firingSlot chains the firings of one schedule: each new firing hurries the
// one before and waits for it to finish.
type firingSlot struct {
	mu   sync.Mutex
	last *firing
}

type firing struct {
	once  sync.Once
	hurry chan struct{}
	done  chan struct{}
}

func (f *firing) hurryUp() { f.once.Do(func() { close(f.hurry) }) }

// take registers a new firing and returns it with the one before, if any.
func (s *firingSlot) take() (f, prev *firing) {
	f = &firing{hurry: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	prev, s.last = s.last, f
	s.mu.Unlock()
	return f, prev
}

// release marks f finished.
func (s *firingSlot) release(f *firing) {
	s.mu.Lock()
	if s.last == f {
		s.last = nil
	}
	s.mu.Unlock()
	close(f.done)
}
