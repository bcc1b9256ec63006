package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
)

// handle runs the handler for one delivered job and settles it.
func (r *run) handle(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		r.log.Error("job without metadata, terminating", "subject", msg.Subject(), "err", err)
		r.settle(msg, "term", msg.Term())
		return
	}
	var job PollJob
	if err := decode(msg.Data(), &job); err != nil {
		r.log.Error("malformed job, terminating", "subject", msg.Subject(), "seq", meta.Sequence.Stream, "err", err)
		r.settle(msg, "term", msg.Term())
		return
	}
	r.q.st.delivered(meta.NumDelivered)
	d := Delivery{
		Deliveries: int(meta.NumDelivered),
		MaxPanics:  r.q.cfg.MaxPanics,
		Enqueued:   meta.Timestamp,
		Sequence:   meta.Sequence.Stream,
	}
	log := r.log.With("job_id", job.ID, "vehicle_id", job.VehicleID, "delivery", d.Deliveries)
	// A first delivery has no failures before it: only redeliveries read the
	// count. counted says the bucket may hold one to delete once the job is
	// done.
	counted := false
	if meta.NumDelivered > 1 {
		ctx, cancel := context.WithTimeout(r.hctx, kvTimeout)
		c, rev, err := r.q.fails.get(ctx, d.Sequence, job.ID)
		cancel()
		if err != nil {
			log.Warn("read job failures; counting from 0", "err", err)
		}
		d.Failures, d.Panics = c.Failures, c.Panics
		counted = rev != 0 || err != nil
	}

	r.mu.Lock()
	r.running[msg] = struct{}{}
	r.mu.Unlock()
	r.active.Add(1)
	err = r.call(job, d)
	r.active.Add(-1)
	r.mu.Lock()
	delete(r.running, msg) // no InProgress after the ack below
	r.mu.Unlock()

	p, panicked := panicOf(err)
	if panicked {
		log.Error("job handler panicked", "panic", fmt.Sprint(p.Value), "stack", string(p.Stack))
	}
	delay, snoozed := SnoozeDelay(err)
	switch {
	case err == nil:
		r.settle(msg, "ack", msg.Ack())
		r.forget(log, d.Sequence, counted)
	case IsDrop(err):
		log.Warn("job dropped", "err", err)
		r.settle(msg, "term", msg.Term())
		r.forget(log, d.Sequence, counted)
	case panicked:
		r.fail(log, msg, job, d, err, true)
	case snoozed:
		log.Debug("job snoozed", "delay", delay, "err", err)
		r.settle(msg, "nak with delay", msg.NakWithDelay(delay))
	case r.hctx.Err() != nil:
		log.Warn("job handed back at shutdown", "err", err)
		r.settle(msg, "nak", msg.Nak())
	default:
		r.fail(log, msg, job, d, err, false)
	}
}

// fail counts a failed delivery in the failures bucket, before the job can
// be redelivered, then redelivers it after the backoff, or terminates it if
// it has panicked MaxPanics times. A count that cannot be stored is logged:
// the job is retried all the same.
func (r *run) fail(log *slog.Logger, msg jetstream.Msg, job PollJob, d Delivery, err error, panicked bool) {
	c := failureCount{Failures: d.Failures + 1, Panics: d.Panics}
	if panicked {
		c.Panics++
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.hctx), kvTimeout)
	defer cancel()
	if got, cerr := r.q.fails.add(ctx, d.Sequence, job.ID, panicked); cerr != nil {
		log.Warn("count job failure", "err", cerr)
	} else {
		c = got
	}
	if panicked && c.Panics >= r.q.cfg.MaxPanics {
		log.Error("job terminated: its handler panicked too often", "panics", c.Panics, "err", err)
		r.settle(msg, "term", msg.Term())
		r.forget(log, d.Sequence, true)
		return
	}
	delay := r.q.cfg.Backoff(c.Failures)
	log.Warn("job failed", "failures", c.Failures, "retry_in", delay, "err", err)
	r.settle(msg, "nak with delay", msg.NakWithDelay(delay))
}

// forget deletes the failure count of a job that is gone, if it may have one.
func (r *run) forget(log *slog.Logger, seq uint64, counted bool) {
	if !counted {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.hctx), kvTimeout)
	defer cancel()
	if err := r.q.fails.forget(ctx, seq); err != nil {
		log.Warn("forget job failures", "err", err) // the bucket's TTL clears it
	}
}

// call runs the handler, turning a panic into a PanicError.
func (r *run) call(job PollJob, d Delivery) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = Recovered(p)
		}
	}()
	return r.h(r.hctx, job, d)
}

func (r *run) settle(msg jetstream.Msg, action string, err error) {
	if err != nil {
		r.log.Warn(action+" job", "subject", msg.Subject(), "err", err)
	}
}

var errNoID = errors.New("no id or vehicle id")

// decode parses a job body (JSON, as Enqueue writes it).
func decode(data []byte, job *PollJob) error {
	if err := json.Unmarshal(data, job); err != nil {
		return fmt.Errorf("decode job: %w", err)
	}
	if job.ID == "" || job.VehicleID == "" {
		return fmt.Errorf("decode job: %w", errNoID)
	}
	return nil
}
