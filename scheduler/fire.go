package scheduler

import (
	"cmp"
	"context"
	"errors"
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
// enqueued at once. If a firing of the same schedule is still running, it is
// hurried first (see the package doc).
//
// What fails is retried with backoff: the vehicle list, and the jobs that
// Enqueue did not store (only those). Retries stop at the schedule's next
// tick after tick, or Config.RetryFor after a job was due; jobs still not
// enqueued then are logged in a warning, and Fire returns an error wrapping
// ErrAbandoned. If ctx is done first, Fire returns its error.
func (s *Scheduler) Fire(ctx context.Context, name string, tick time.Time) error {
	e, ok := s.byName[name]
	if !ok {
		return fmt.Errorf("fire %q: %w", name, ErrUnknownSchedule)
	}
	if e.Adaptive {
		return fmt.Errorf("fire %q: an adaptive schedule has no firings", name)
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
	until  time.Time // the job's retries stop then
	job    queue.PollJob
}

func (s *Scheduler) fire(ctx context.Context, e *entry, tick time.Time, hurry <-chan struct{}) error {
	start := s.now()
	s.stats.firings.Add(1)
	r := s.newRun(e, tick, hurry)
	vs, err := r.listVehicles(ctx)
	if errors.Is(err, errGiveUp) {
		s.stats.abandoned.Add(1)
		r.log.WarnContext(ctx, "firing abandoned: vehicles not listed", "retries", r.retries, "next_tick", r.next, "err", r.err)
		return fmt.Errorf("fire %s: %w: list vehicles: %w", e.Name, ErrAbandoned, r.err)
	} else if err != nil {
		return fmt.Errorf("fire %s: list vehicles: %w", e.Name, err)
	}
	due, paused, webhooked := r.jobs(vs)

	if e.Jitter == 0 {
		r.send(ctx, due, false)
		r.handed = len(due)
	} else {
		err = r.spread(ctx, due)
	}
	if err == nil {
		err = r.retryLeft(ctx)
	}
	left := len(due) - r.handed + len(r.retry) + r.lost
	if err != nil && !errors.Is(err, errGiveUp) {
		r.log.InfoContext(ctx, "firing stopped", "enqueued", r.res.Enqueued, "not_enqueued", left, "retries", r.retries, "err", err)
		return fmt.Errorf("fire %s: %w", e.Name, err)
	}
	attrs := []any{"vehicles", len(due), "paused", paused, "webhooks_fresh", webhooked,
		"enqueued", r.res.Enqueued, "duplicates", r.res.Duplicates, "retries", r.retries, "took", s.now().Sub(start)}
	if left == 0 {
		r.log.InfoContext(ctx, "schedule fired", attrs...)
		return nil
	}
	s.stats.abandoned.Add(1)
	s.stats.jobsAbandoned.Add(int64(left))
	r.log.WarnContext(ctx, "firing abandoned: jobs not enqueued",
		append(attrs, "not_enqueued", left, "next_tick", r.next, "err", r.err)...)
	return fmt.Errorf("fire %s: %w: %d of %d jobs not enqueued: %w", e.Name, ErrAbandoned, left, len(due), r.err)
}

// jobs returns the jobs of the firing for the registered vehicles vs, and
// how many were skipped as paused or fresh from webhooks.
func (r *run) jobs(vs []Vehicle) (due []pending, paused, webhooked int) {
	e := r.e
	due = make([]pending, 0, len(vs))
	for i := range vs {
		v := &vs[i]
		if !e.match(v) {
			continue
		}
		if v.Paused {
			paused++
			continue
		}
		if e.heardFrom(v, r.tick) {
			webhooked++
			continue
		}
		off := Offset(e.Name, v.ID, e.Jitter)
		due = append(due, pending{
			offset: off,
			until:  r.until(off),
			job: queue.PollJob{
				ID:        queue.JobID(e.Name, v.ID, r.tick),
				Schedule:  e.Name,
				VehicleID: v.ID,
				Paths:     e.Paths,   // shared, read-only
				Signals:   e.Signals, // shared, read-only
				Tick:      r.tick,
				Emit:      e.Emit,
			},
		})
	}
	return due, paused, webhooked
}

// spread enqueues due in groups as their offsets come due after the tick,
// and the jobs that failed again as their retries come due; once the next
// firing hurries this one it enqueues the rest at once and retries nothing.
func (r *run) spread(ctx context.Context, due []pending) error {
	slices.SortFunc(due, func(a, b pending) int {
		return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(a.job.VehicleID, b.job.VehicleID))
	})
	width := groupWidth(r.e.Jitter)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for i := 0; i < len(due); {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.retryDue() {
			r.retryOnce(ctx)
			continue
		}
		group := due[i].offset / width
		j := i + 1
		for j < len(due) && due[j].offset/width == group {
			j++
		}
		elapsed := r.s.now().Sub(r.tick)
		if wait := group*width - elapsed; wait <= 0 {
			// Due or late: take every group already due in one call.
			for j < len(due) && due[j].offset/width*width <= elapsed {
				j++
			}
		} else if !r.hurried {
			forRetry := false
			if len(r.retry) > 0 {
				if d := r.retryAt.Sub(r.s.now()); d < wait {
					wait, forRetry = d, true
				}
			}
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			select {
			case <-timer.C:
				if forRetry {
					continue
				}
			case <-r.hurry:
				r.hurried = true
				r.log.WarnContext(ctx, "schedule fired again while spreading; enqueuing the rest now", "left", len(due)-i)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if r.hurried {
			j = len(due)
		}
		r.send(ctx, due[i:j], false)
		r.handed += j - i
		i = j
	}
	return nil
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
