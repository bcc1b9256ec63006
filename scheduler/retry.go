package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/smartcar-poller/smartcar-poller/queue"
)

// Retries of a firing wait retryMin, doubling up to retryMax, each delay
// jittered to between half and all of it.
const (
	retryMin = 250 * time.Millisecond
	retryMax = 10 * time.Second
)

// newBackoff returns the delays of a firing's retries: a cenkalti/backoff
// exponential backoff whose interval is 3/4 of the delay above, randomized
// by ±1/3, so each delay d lands in [d/2, d].
func newBackoff() *backoff.ExponentialBackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     retryMin * 3 / 4,
		RandomizationFactor: 1.0 / 3,
		Multiplier:          2,
		MaxInterval:         retryMax * 3 / 4,
	}
}

// errGiveUp ends a firing's retries: the schedule's next tick (or the retry
// limit) came, or the next firing hurried this one.
var errGiveUp = errors.New("retries given up")

// run is one firing of a schedule: the jobs it handed to the queue, those
// that failed and wait for a retry, and the pace of the retries.
type run struct {
	s       *Scheduler
	e       *entry
	tick    time.Time
	next    time.Time // the schedule's next tick; zero if it has none
	hurry   <-chan struct{}
	hurried bool
	log     *slog.Logger

	res     queue.EnqueueResult
	handed  int                         // jobs handed to Enqueue at least once
	retry   []pending                   // jobs that failed, to enqueue again
	lost    int                         // jobs that failed for good or past their retry limit
	err     error                       // the latest failure
	retries int                         // attempts made again after a backoff
	delays  *backoff.ExponentialBackOff // of the failed attempts in a row
	retryAt time.Time                   // when the next retry is due
	warned  bool
}

func (s *Scheduler) newRun(e *entry, tick time.Time, hurry <-chan struct{}) *run {
	return &run{
		s: s, e: e, tick: tick, next: e.spec.Next(tick.In(s.loc)), hurry: hurry,
		log: s.log.With("schedule", e.Name, "tick", tick), delays: newBackoff(),
	}
}

// until returns when the retries of a job due offset after the tick stop:
// at the schedule's next tick, or Config.RetryFor after the job was due,
// whichever comes first.
func (r *run) until(offset time.Duration) time.Time {
	u := r.tick.Add(offset + r.s.retryFor)
	if !r.next.IsZero() && r.next.Before(u) {
		u = r.next
	}
	return u
}

// listVehicles lists the vehicles, retrying until the list succeeds or its
// retries are over (errGiveUp) or ctx is done.
func (r *run) listVehicles(ctx context.Context) ([]Vehicle, error) {
	vs, err := r.s.vehicles.ListVehicles(ctx)
	until := r.until(0)
	for err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // stopping, not failing
		}
		r.failed(ctx, err, until)
		if err := r.wait(ctx, until); err != nil {
			return nil, err
		}
		r.retried()
		actx, cancel := context.WithDeadline(ctx, until)
		vs, err = r.s.vehicles.ListVehicles(actx)
		cancel()
	}
	r.delays.Reset()
	return vs, nil
}

// sendGrace bounds how long a batch of jobs begun before the scheduler
// stopped may still take to be enqueued.
const sendGrace = 3 * time.Second

// send enqueues ps (a group, or jobs to retry) and keeps the jobs that
// failed for the next retry. After the first failure of a row it schedules
// that retry; retry says ps are retries, whose failure pushes it back.
func (r *run) send(ctx context.Context, ps []pending, retry bool) {
	if len(ps) == 0 {
		return
	}
	failing := len(r.retry) > 0
	jobs := make([]queue.PollJob, len(ps))
	for i := range ps {
		jobs[i] = ps[i].job
	}
	// A batch begun before the scheduler stops is finished (bounded by
	// sendGrace), so that a stop does not cut a tick in two: its jobs are
	// all handed to the queue, or none is.
	sctx := ctx
	if ctx.Err() == nil {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), sendGrace)
		defer cancel()
	}
	res, err := r.s.enq.Enqueue(sctx, jobs...)
	r.res.Enqueued += res.Enqueued
	r.res.Duplicates += res.Duplicates
	if err != nil {
		r.err = err
		var qe *queue.EnqueueError
		switch {
		case errors.Is(err, queue.ErrInvalidJob):
			r.lost += len(ps) // would fail the same way again
		case errors.As(err, &qe):
			for _, i := range qe.Failed {
				if i >= 0 && i < len(ps) {
					r.retry = append(r.retry, ps[i])
				}
			}
		default:
			// The Enqueuer does not say which jobs failed: all of them
			// again (the queue drops the copies by id).
			r.retry = append(r.retry, ps...)
		}
	}
	switch {
	case len(r.retry) == 0:
		r.delays.Reset()
	case ctx.Err() != nil:
		// Stopping: nothing will be retried.
	case retry || !failing:
		r.failed(ctx, r.err, r.retryUntil())
	}
}

// retryDue reports whether failed jobs wait for a retry that is due now.
func (r *run) retryDue() bool {
	return len(r.retry) > 0 && !r.hurried && !r.s.now().Before(r.retryAt)
}

// retryUntil returns when the retries of the failed jobs stop.
func (r *run) retryUntil() time.Time { return latest(r.retry) }

// latest returns the latest retry limit among ps.
func latest(ps []pending) time.Time {
	var u time.Time
	for i := range ps {
		if ps[i].until.After(u) {
			u = ps[i].until
		}
	}
	return u
}

// retryOnce enqueues the failed jobs again, but counts those past their
// limit as lost. The attempt ends by the latest limit.
func (r *run) retryOnce(ctx context.Context) {
	now := r.s.now()
	ps := r.retry
	r.retry = nil
	keep := ps[:0]
	for _, p := range ps {
		if now.Before(p.until) {
			keep = append(keep, p)
		} else {
			r.lost++
		}
	}
	if len(keep) == 0 {
		return
	}
	r.retried()
	actx, cancel := context.WithDeadline(ctx, latest(keep))
	defer cancel()
	r.send(actx, keep, true)
}

// retryLeft retries the failed jobs until none is left, their retries are
// over (errGiveUp) or ctx is done.
func (r *run) retryLeft(ctx context.Context) error {
	for len(r.retry) > 0 {
		if err := r.wait(ctx, r.retryUntil()); err != nil {
			return err
		}
		r.retryOnce(ctx)
	}
	return nil
}

// failed notes a failed attempt and schedules the next retry. The first
// failure of a firing is a warning, later ones are debug logs.
func (r *run) failed(ctx context.Context, err error, until time.Time) {
	r.err = err
	r.retryAt = r.s.now().Add(r.delays.NextBackOff())
	if !r.warned {
		r.warned = true
		r.log.WarnContext(ctx, "firing failed; retrying", "retry_until", until, "err", err)
		return
	}
	r.log.DebugContext(ctx, "firing retry failed", "retries", r.retries, "err", err)
}

func (r *run) retried() {
	r.retries++
	r.s.stats.retries.Add(1)
}

// wait sleeps until the next retry is due. It returns errGiveUp if until
// comes first (at until) or the schedule fires again, and ctx's error if ctx
// is done first.
func (r *run) wait(ctx context.Context, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-r.hurry:
		r.hurried = true
		return errGiveUp
	default:
	}
	at, over := r.retryAt, false
	if !at.Before(until) {
		at, over = until, true
	}
	t := time.NewTimer(max(at.Sub(r.s.now()), 0))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-r.hurry:
		r.hurried = true
		return errGiveUp
	case <-t.C:
	}
	if over {
		return errGiveUp
	}
	return nil
}
