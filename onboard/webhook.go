package onboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// webhook is the v4 envelope Smartcar POSTs.
type webhook struct {
	EventID   string          `json:"eventId"`
	EventType string          `json:"eventType"`
	Data      json.RawMessage `json:"data"`
}

// errIgnored marks a delivery that is acknowledged but not acted on.
var errIgnored = errors.New("ignored")

// ServeWebhook is POST /webhooks/smartcar. The body is read raw (at most
// Config.MaxBody) and its SC-Signature checked before anything is parsed:
// a bad one is 401, VERIFY included (answering an unsigned challenge would
// sign anything for anyone). A repeated eventId is acknowledged and dropped;
// a failure to process answers 500 and forgets the eventId, so Smartcar's
// redelivery is processed.
func (h *Handler) ServeWebhook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if h.cfg.ManagementToken == "" || !smartcar.VerifyPayload(h.cfg.ManagementToken, r.Header.Get("SC-Signature"), body) {
		h.stats.badSignatures.Add(1)
		h.log.WarnContext(ctx, "webhook with a bad signature", "remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	h.stats.webhooks.Add(1)
	var wh webhook
	if err := json.Unmarshal(body, &wh); err != nil || wh.EventType == "" {
		http.Error(w, "malformed webhook", http.StatusBadRequest)
		return
	}
	if wh.EventType == "VERIFY" {
		var d struct {
			Challenge string `json:"challenge"`
		}
		if err := json.Unmarshal(wh.Data, &d); err != nil || d.Challenge == "" {
			http.Error(w, "malformed VERIFY", http.StatusBadRequest)
			return
		}
		writeJSON(w, map[string]string{"challenge": smartcar.HashChallenge(h.cfg.ManagementToken, d.Challenge)})
		return
	}
	if wh.EventID == "" {
		http.Error(w, "missing eventId", http.StatusBadRequest)
		return
	}
	first, err := h.d.Marks.MarkWebhookEvent(ctx, wh.EventID, h.cfg.DedupTTL)
	if err != nil {
		h.log.ErrorContext(ctx, "mark webhook event", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	if !first {
		h.stats.duplicates.Add(1)
		writeJSON(w, map[string]string{"status": "duplicate"})
		return
	}
	n, err := h.process(ctx, wh, body)
	switch {
	case errors.Is(err, errIgnored):
		h.log.DebugContext(ctx, "webhook ignored", "event_type", wh.EventType, "reason", err)
		writeJSON(w, map[string]string{"status": "ignored"})
	case err != nil:
		h.log.ErrorContext(ctx, "process webhook", "event_type", wh.EventType, "err", err)
		if ferr := h.d.Marks.ForgetWebhookEvent(context.WithoutCancel(ctx), wh.EventID); ferr != nil {
			h.log.WarnContext(ctx, "forget webhook event", "err", ferr)
		}
		http.Error(w, "processing failed", http.StatusInternalServerError)
	default:
		h.stats.published.Add(uint64(n))
		writeJSON(w, map[string]any{"status": "ok", "events": n})
	}
}

// process publishes a VEHICLE_STATE's or VEHICLE_ERROR's events (body is
// the delivery, read by smartcar.ParseWebhook) and returns how many.
func (h *Handler) process(ctx context.Context, wh webhook, body []byte) (int, error) {
	if wh.EventType != smartcar.WebhookVehicleState && wh.EventType != smartcar.WebhookVehicleError {
		return 0, fmt.Errorf("%w: event type %q", errIgnored, wh.EventType)
	}
	d, err := smartcar.ParseWebhook(body)
	if err != nil {
		return 0, fmt.Errorf("%w: malformed data: %v", errIgnored, err)
	}
	id := d.Vehicle.ID
	if events.ValidateVehicleID(id) != nil {
		h.stats.unknownVehicles.Add(1)
		return 0, fmt.Errorf("%w: bad vehicle id", errIgnored)
	}
	v, err := h.d.Registry.GetVehicle(ctx, id)
	if errors.Is(err, registry.ErrNotFound) {
		h.stats.unknownVehicles.Add(1)
		return 0, fmt.Errorf("%w: vehicle %s is not registered", errIgnored, id)
	} else if err != nil {
		return 0, fmt.Errorf("get vehicle: %w", err)
	}
	now := h.cfg.Now().UTC()
	var evs []events.Event
	if wh.EventType == smartcar.WebhookVehicleState {
		evs, err = h.signalEvents(ctx, wh.EventID, id, d, now)
	} else {
		evs, err = h.errorEvents(wh.EventID, v, d.Errors, now)
	}
	if err != nil {
		return 0, err
	}
	if len(evs) > 0 {
		if err := h.d.Publisher.Publish(ctx, evs...); err != nil {
			return 0, fmt.Errorf("publish: %w", err)
		}
	}
	if wh.EventType == smartcar.WebhookVehicleState {
		// Only fresh data defers polling; an error report does not.
		if err := h.d.Registry.TouchWebhook(ctx, id, now); err != nil {
			return 0, fmt.Errorf("touch webhook: %w", err)
		}
	}
	return len(evs), nil
}

// errorEvents turns VEHICLE_ERROR's errors into events: an error event per
// error in state ERROR (path: the v2 path of the first affected signal's
// daemon signal, else "/"), a status event (the vehicle's current status,
// reason "resolved TYPE:CODE") per RESOLVED.
func (h *Handler) errorEvents(eventID string, v registry.Vehicle, errs []smartcar.WebhookError, now time.Time) ([]events.Event, error) {
	var evs []events.Event
	for i, we := range errs {
		e := we.Err
		path := "/"
		if len(we.SignalCodes) > 0 {
			if p, ok := normalize.PathOfCode(we.SignalCodes[0]); ok {
				path = p
			}
		}
		cause := fmt.Sprintf("webhook/%s/%d", eventID, i)
		var (
			ev  events.Event
			err error
		)
		if we.Resolved() {
			ev, err = events.New(events.SignalStatus, v.ID, events.StatusData{
				Status: events.Status(v.Status), Reason: "resolved " + e.Type + ":" + e.Code,
			}, events.Meta{ID: events.StatusEventID(cause, events.Status(v.Status)), Source: h.cfg.Source, Time: now})
		} else {
			ev, err = events.New(events.SignalError, v.ID, events.ErrorData{
				Path: path, Type: e.Type, Code: e.Code, Description: e.Description,
			}, events.Meta{ID: events.ErrorEventID(cause, path), Source: h.cfg.Source, Time: now, FetchedAt: now})
		}
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
