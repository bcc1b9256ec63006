package onboard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// ProcessWebhook turns a delivery ServeWebhook stored (body, stored at
// received) into events. An error means it should be tried again later:
// nothing it published is published twice (event ids derive from the
// eventId). A delivery that can never give events (malformed, another event
// type, an unregistered vehicle) is logged, counted and returns nil.
//
// VEHICLE_STATE: the signals through package normalize, published with
// Publisher.PublishNewer: a signal whose data age (oemUpdatedAt) is older
// than the vehicle's latest event of it, a delivery that Smartcar retried
// or reordered, is left out (Stats.StaleEvents). Then the vehicle's
// last-webhook time is set to received.
//
// VEHICLE_ERROR: per error in state ERROR, an error event and a status
// event; an error that needs the user (normalize.StatusOf: needs_reauth) or
// an operator (disabled) sets that status on a vehicle that was pollable,
// with the reason "webhook TYPE:CODE"; others leave the status (the event
// reports it). Per error RESOLVED, a status event: connected again if the
// vehicle's status was set by that very error, else its status unchanged,
// so a vehicle an operator disabled, or one waiting for its user, stays so.
// These events carry the delivery's time (meta.deliveredAt) and go through
// PublishNewer too: a status older than the vehicle's latest status event
// (an ERROR delivered after its RESOLVED) is neither published nor set.
func (h *Handler) ProcessWebhook(ctx context.Context, body []byte, received time.Time) error {
	ev, err := smartcar.ParseWebhook(body)
	if err != nil {
		h.log.WarnContext(ctx, "stored webhook is malformed, ignored", "err", err)
		h.stats.processed.Add(1)
		return nil
	}
	log := h.log.With("event_type", ev.Type, "event_id", ev.EventID)
	ignore := func(reason string) error {
		log.DebugContext(ctx, "webhook ignored", "reason", reason, "vehicle_id", ev.Vehicle.ID)
		h.stats.processed.Add(1)
		return nil
	}
	if ev.Type != smartcar.WebhookVehicleState && ev.Type != smartcar.WebhookVehicleError {
		return ignore("event type")
	}
	if events.ValidateVehicleID(ev.Vehicle.ID) != nil {
		h.stats.unknownVehicles.Add(1)
		return ignore("bad vehicle id")
	}
	v, err := h.d.Registry.GetVehicle(ctx, ev.Vehicle.ID)
	if errors.Is(err, registry.ErrNotFound) {
		h.stats.unknownVehicles.Add(1)
		return ignore("vehicle not registered")
	} else if err != nil {
		return fmt.Errorf("get vehicle: %w", err)
	}
	received = received.UTC()
	if ev.Type == smartcar.WebhookVehicleState {
		err = h.vehicleState(ctx, ev, v, received)
	} else {
		err = h.vehicleErrors(ctx, ev, v, received)
	}
	if err != nil {
		return err
	}
	h.stats.processed.Add(1)
	return nil
}

// vehicleState publishes a VEHICLE_STATE's signals, those not older than
// the vehicle's latest state, and records the webhook's time.
func (h *Handler) vehicleState(ctx context.Context, ev *smartcar.WebhookEvent, v registry.Vehicle, received time.Time) error {
	evs, err := h.signalEvents(ctx, ev.EventID, ev.Vehicle.ID, ev, received)
	if err != nil {
		return err
	}
	if _, err := h.publish(ctx, evs); err != nil {
		return err
	}
	// Only fresh data defers polling; an error report does not.
	if err := h.d.Registry.TouchWebhook(ctx, ev.Vehicle.ID, received); err != nil {
		return fmt.Errorf("touch webhook: %w", err)
	}
	if h.d.States != nil {
		if err := h.d.States.ObserveState(ctx, v, ev.Signals, received); err != nil {
			h.log.WarnContext(ctx, "webhook state not observed", "vehicle_id", ev.Vehicle.ID, "err", err)
		}
	}
	return nil
}

// publish publishes evs with PublishNewer and counts what went out and
// what was stale; it returns the stale ones.
func (h *Handler) publish(ctx context.Context, evs []events.Event) ([]events.Event, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	stale, err := h.d.Publisher.PublishNewer(ctx, evs...)
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	h.stats.published.Add(uint64(len(evs) - len(stale)))
	h.stats.stale.Add(uint64(len(stale)))
	for _, e := range stale {
		h.log.DebugContext(ctx, "webhook event older than the latest state, left out",
			"vehicle_id", e.Subject, "type", e.Type, "time", e.Time)
	}
	return stale, nil
}

// vehicleErrors handles a VEHICLE_ERROR's errors, in order.
func (h *Handler) vehicleErrors(ctx context.Context, ev *smartcar.WebhookEvent, v registry.Vehicle, received time.Time) error {
	at := ev.Meta.DeliveredAt.UTC()
	if at.IsZero() {
		at = received
	}
	for i, we := range ev.Errors {
		e := we.Err
		if e == nil {
			continue
		}
		code := e.Type
		if e.Code != "" {
			code += ":" + e.Code
		}
		cause := fmt.Sprintf("webhook/%s/%d", ev.EventID, i)
		next, reason := v.Status, "webhook "+code
		var evs []events.Event
		if !we.Resolved() {
			path := "/"
			if len(we.SignalCodes) > 0 {
				if p, ok := normalize.PathOfCode(we.SignalCodes[0]); ok {
					path = p
				}
			}
			errEv, err := events.New(events.SignalError, v.ID, events.ErrorData{
				Path: path, Type: e.Type, Code: e.Code, Description: e.Description,
			}, events.Meta{ID: events.ErrorEventID(cause, path), Source: h.cfg.Source, Time: at, FetchedAt: received})
			if err != nil {
				return err
			}
			evs = append(evs, errEv)
			if s, ok := normalize.StatusOf(e); ok && v.Status.Pollable() {
				next = s
			}
		} else {
			// Back to connected only from the status this error set.
			if v.Status != events.StatusConnected && v.Reason == reason {
				next = events.StatusConnected
			}
			reason = "resolved " + code
		}
		data := events.StatusData{Status: next, Reason: reason}
		if next != v.Status {
			data.Previous = v.Status
		}
		stEv, err := events.New(events.SignalStatus, v.ID, data,
			events.Meta{ID: events.StatusEventID(cause, next), Source: h.cfg.Source, Time: at, FetchedAt: received})
		if err != nil {
			return err
		}
		stale, err := h.publish(ctx, append(evs, stEv))
		if err != nil {
			return err
		}
		if next == v.Status || slices.ContainsFunc(stale, func(s events.Event) bool { return s.ID == stEv.ID }) {
			continue
		}
		if err := h.d.Registry.SetStatus(ctx, v.ID, next, reason); err != nil {
			return fmt.Errorf("set status %s: %w", next, err)
		}
		h.stats.statusChanges.Add(1)
		h.log.WarnContext(ctx, "vehicle status changed by a webhook", "vehicle_id", v.ID, "status", next,
			"previous", v.Status, "reason", reason)
		v.Status, v.Reason = next, reason
	}
	return nil
}
