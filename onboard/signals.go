package onboard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// signalEvents turns a VEHICLE_STATE's signals into events through package
// normalize, as polled signals are: the daemon's signals composed of their
// codes (a signal the webhook carries only part of completed from the
// vehicle's latest event of it, when Deps.Latest has one), every other code
// a generic signal event. Ids derive from the eventId; an event's time is
// its data's oemUpdatedAt, its fetch time the retrievedAt (else received);
// signals refused (an error in place of a body, a value out of range) are
// counted in Stats.RejectedSignals.
func (h *Handler) signalEvents(ctx context.Context, eventID, vehicleID string, ev *smartcar.WebhookEvent, received time.Time) ([]events.Event, error) {
	var prev normalize.Previous
	if h.d.Latest != nil {
		prev = func(s events.Signal) (events.Event, bool, error) {
			e, err := h.d.Latest.Get(ctx, vehicleID, s)
			if errors.Is(err, events.ErrNotFound) {
				return events.Event{}, false, nil
			}
			return e, err == nil, err
		}
	}
	r, err := normalize.FromWebhook(ev, prev)
	if err != nil {
		return nil, fmt.Errorf("normalize: %w", err)
	}
	if n := len(r.Rejected); n > 0 {
		h.stats.rejectedSignals.Add(uint64(n))
		for _, x := range r.Rejected {
			h.log.DebugContext(ctx, "webhook signal rejected", "vehicle_id", vehicleID, "code", x.Code, "err", x.Err)
		}
	}
	evs := make([]events.Event, 0, len(r.Items))
	for _, it := range r.Items {
		fetched := it.FetchedAt
		if fetched.IsZero() {
			fetched = received
		}
		e, err := events.New(it.Signal, vehicleID, it.Data, events.Meta{
			ID: events.EventID("webhook/"+eventID, it.Key), Source: h.cfg.Source, Time: it.Time, FetchedAt: fetched,
		})
		if err != nil {
			return nil, err
		}
		evs = append(evs, e)
	}
	return evs, nil
}
