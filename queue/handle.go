package queue

import (
	"encoding/json"
	"errors"
	"fmt"

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
	d := Delivery{Attempt: int(meta.NumDelivered), Enqueued: meta.Timestamp, Sequence: meta.Sequence.Stream}
	log := r.log.With("job_id", job.ID, "vehicle_id", job.VehicleID, "attempt", d.Attempt)

	r.mu.Lock()
	r.running[msg] = struct{}{}
	r.mu.Unlock()
	r.active.Add(1)
	err = r.call(job, d)
	r.active.Add(-1)
	r.mu.Lock()
	delete(r.running, msg) // no InProgress after the ack below
	r.mu.Unlock()

	if delay, ok := SnoozeDelay(err); ok {
		log.Debug("job snoozed", "delay", delay, "err", err)
		r.settle(msg, "nak with delay", msg.NakWithDelay(delay))
		return
	}
	switch {
	case err == nil:
		r.settle(msg, "ack", msg.Ack())
	case IsDrop(err):
		log.Warn("job dropped", "err", err)
		r.settle(msg, "term", msg.Term())
	case r.hctx.Err() != nil:
		log.Warn("job handed back at shutdown", "err", err)
		r.settle(msg, "nak", msg.Nak())
	default:
		delay := r.q.cfg.Backoff(d.Attempt)
		log.Warn("job failed", "retry_in", delay, "err", err)
		r.settle(msg, "nak with delay", msg.NakWithDelay(delay))
	}
}

// call runs the handler, turning a panic into an error.
func (r *run) call(job PollJob, d Delivery) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panic: %v", p)
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

// decode parses a job body: the form Enqueue writes without reflection,
// anything else through encoding/json.
func decode(data []byte, job *PollJob) error {
	if !parseJob(data, job) {
		*job = PollJob{}
		if err := json.Unmarshal(data, job); err != nil {
			return fmt.Errorf("decode job: %w", err)
		}
	}
	if job.ID == "" || job.VehicleID == "" {
		return fmt.Errorf("decode job: %w", errNoID)
	}
	return nil
}
