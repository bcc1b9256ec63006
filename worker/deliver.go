package worker

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// deliver turns a batch response into events: one per successful path
// (subject to emit: on_change), error events for paths that failed for good,
// a hold plus a follow-up job for paths that may succeed later.
func (w *Worker) deliver(ctx context.Context, job queue.PollJob, d queue.Delivery, res *smartcar.BatchResponse) error {
	var (
		evs       []events.Event
		retry     []string
		holdFor   time.Duration
		holdCause error
		gen       = generation(job.ID)
		lastTry   = tries(job, d) >= w.cfg.MaxAttempts
	)
	for _, item := range res.Items() {
		if item.Err == nil {
			ev, keep, err := w.dataEvent(ctx, job, item)
			if err != nil {
				// A body we cannot normalize is reported, not retried: it would fail again.
				e := &smartcar.Error{StatusCode: item.StatusCode, Type: smartcar.TypeSDK, Code: "NORMALIZE",
					Description: err.Error(), RequestID: item.Meta.RequestID}
				if ev, err = w.errorEvent(job, item.Path, e); err != nil {
					return queue.Drop(err)
				}
				keep = true
			}
			if keep {
				evs = append(evs, ev)
			}
			continue
		}
		e := item.Err
		switch {
		case e.RetryAfter > 0 && !lastTry:
			holdFor, holdCause = max(holdFor, e.RetryAfter), e
			retry = append(retry, item.Path)
		case e.NeedsReauth():
			return queue.Drop(w.markStatus(ctx, job, events.StatusNeedsReauth, e.Type+":"+e.Code, e))
		case e.Retryable() && !lastTry:
			retry = append(retry, item.Path)
		default:
			ev, err := w.errorEvent(job, item.Path, e)
			if err != nil {
				return queue.Drop(err)
			}
			evs = append(evs, ev)
		}
	}
	if len(evs) > 0 {
		if err := w.deps.Publisher.Publish(ctx, evs...); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		w.st.events.Add(int64(len(evs)))
	}
	if holdFor > 0 {
		if err := w.hold(ctx, job, w.cfg.Now().Add(holdFor), events.StatusRateLimited, fmt.Sprintf("Retry-After %s: %v", holdFor, holdCause)); err != nil {
			// A follow-up would find no hold and call before the Retry-After
			// ends: the whole job waits it out instead. The events published
			// above have ids derived from the job: JetStream drops them as
			// duplicates when the next try publishes them within its window,
			// and consumers can tell them apart after it.
			return w.waitOut(holdFor, fmt.Errorf("%w (%w)", holdCause, err))
		}
	}
	if len(retry) > 0 {
		follow := job
		follow.ID = followUpID(job.ID, gen+1)
		follow.Paths = retry
		if _, err := w.deps.Enqueuer.Enqueue(ctx, follow); err != nil {
			return fmt.Errorf("enqueue follow-up: %w", err)
		}
		w.st.followUps.Add(1)
	}
	if err := w.deps.Registry.TouchPoll(ctx, job.VehicleID, w.cfg.Now()); err != nil {
		w.log.WarnContext(ctx, "record last poll", "vehicle_id", job.VehicleID, "err", err)
	}
	return nil
}

// dataEvent builds the event of one successful item; keep is false when the
// schedule emits on change and nothing changed.
func (w *Worker) dataEvent(ctx context.Context, job queue.PollJob, item smartcar.BatchItem) (events.Event, bool, error) {
	it, err := normalize.FromBatchItem(item, w.cfg.UnitSystem)
	if err != nil {
		return events.Event{}, false, err
	}
	ev, err := events.New(it.Signal, job.VehicleID, it.Data, events.Meta{
		ID:        events.EventID(rootID(job.ID), it.Key),
		Time:      it.Time,
		RequestID: it.RequestID,
		FetchedAt: it.FetchedAt,
		Schedule:  job.Schedule,
		Tick:      job.Tick,
		Source:    w.cfg.Source,
	})
	if err != nil {
		return events.Event{}, false, err
	}
	return w.changed(ctx, job, ev)
}

// changed returns ev with keep false when the job emits on change and ev
// is no change from its vehicle's latest event of its signal.
func (w *Worker) changed(ctx context.Context, job queue.PollJob, ev events.Event) (events.Event, bool, error) {
	if job.Emit != "on_change" || w.deps.Changes == nil {
		return ev, true, nil
	}
	changed, err := w.deps.Changes.Changed(ctx, ev)
	if err != nil {
		// Unknown: emitting a duplicate value beats losing a change.
		w.log.WarnContext(ctx, "compare with latest state", "vehicle_id", job.VehicleID, "err", err)
		return ev, true, nil
	}
	if !changed {
		w.st.unchanged.Add(1)
	}
	return ev, changed, nil
}

// errorEvent reports a path that failed for good.
func (w *Worker) errorEvent(job queue.PollJob, path string, e *smartcar.Error) (events.Event, error) {
	data := events.ErrorData{
		Path:        path,
		StatusCode:  e.StatusCode,
		Type:        e.Type,
		Code:        e.Code,
		Description: e.Description,
		RequestID:   e.RequestID,
	}
	if e.RetryAfter > 0 {
		data.RetryAfterS = int(e.RetryAfter / time.Second)
	}
	return events.New(events.SignalError, job.VehicleID, data, events.Meta{
		ID:        events.ErrorEventID(rootID(job.ID), path),
		RequestID: e.RequestID,
		Schedule:  job.Schedule,
		Tick:      job.Tick,
		Source:    w.cfg.Source,
	})
}

// statusEvent reports a change of the vehicle's status; its id is tied to the
// job so a redelivered job cannot publish it twice.
func (w *Worker) statusEvent(job queue.PollJob, s events.Status, reason string) (events.Event, error) {
	return events.New(events.SignalStatus, job.VehicleID, events.StatusData{Status: s, Reason: reason}, events.Meta{
		ID:       events.StatusEventID(job.ID, s),
		Time:     w.cfg.Now(),
		Schedule: job.Schedule,
		Tick:     job.Tick,
		Source:   w.cfg.Source,
	})
}

// Follow-up jobs carry the paths of a job that must be retried. Their id is
// the original id plus "|<generation>", so events keep the original id (no
// duplicates) and each generation is a new message for JetStream's dedup.
func followUpID(id string, gen int) string { return rootID(id) + "|" + strconv.Itoa(gen) }

func rootID(id string) string {
	if i := strings.LastIndexByte(id, '|'); i >= 0 {
		return id[:i]
	}
	return id
}

// tries is the number of this try of the job's paths: one per follow-up
// generation before it, one per failed delivery of this job before it, and
// this one. Snoozes are no tries (queue.Delivery.Failures leaves them out).
func tries(job queue.PollJob, d queue.Delivery) int { return generation(job.ID) + d.Failures + 1 }

func generation(id string) int {
	if i := strings.LastIndexByte(id, '|'); i >= 0 {
		if n, err := strconv.Atoi(id[i+1:]); err == nil {
			return n
		}
	}
	return 0
}
