package onboard

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// webhook is the v4 envelope Smartcar POSTs.
type webhook struct {
	EventID   string          `json:"eventId"`
	EventType string          `json:"eventType"`
	Data      json.RawMessage `json:"data"`
}

// ServeWebhook is POST /webhooks/smartcar. It answers as soon as the
// delivery is stored, not once it is processed, so it answers well within
// Smartcar's 15 s however far behind processing is (ProcessWebhook takes the
// stored deliveries from the inbox).
//
// The body is read raw (at most Config.MaxBody) and its SC-Signature checked
// before anything is parsed: a bad one is 401, VERIFY included (answering an
// unsigned challenge would sign anything for anyone). VERIFY is answered at
// once. A VEHICLE_STATE or VEHICLE_ERROR whose eventId was marked before is
// answered "duplicate"; any other is stored in the inbox under its eventId
// (a redelivery racing it is not stored twice), then marked for
// Config.DedupTTL, and answered "accepted". The mark comes after the store:
// a process that dies between the two has stored the delivery, and
// Smartcar's retry finds it in the inbox's duplicate window. When the marks
// or the inbox cannot be reached the answer is 503 and Smartcar retries.
// Other event types are acknowledged and ignored.
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
	sig := r.Header.Get("SC-Signature")
	if h.cfg.ManagementToken == "" || !smartcar.VerifyPayload(h.cfg.ManagementToken, sig, body) {
		h.stats.badSignatures.Add(1)
		// Enough to tell a wrong key from a mangled body, never the key.
		h.log.WarnContext(ctx, "webhook with a bad signature", "remote", r.RemoteAddr,
			"signature_present", sig != "", "body_bytes", len(body))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	h.stats.webhooks.Add(1)
	var wh webhook
	if err := json.Unmarshal(body, &wh); err != nil || wh.EventType == "" {
		http.Error(w, "malformed webhook", http.StatusBadRequest)
		return
	}
	if wh.EventType == smartcar.WebhookVerify {
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
	if wh.EventType != smartcar.WebhookVehicleState && wh.EventType != smartcar.WebhookVehicleError {
		h.log.DebugContext(ctx, "webhook ignored", "event_type", wh.EventType, "event_id", wh.EventID)
		writeJSON(w, map[string]string{"status": "ignored"})
		return
	}
	log := h.log.With("event_type", wh.EventType, "event_id", wh.EventID)
	if h.d.Inbox == nil {
		h.stats.unavailable.Add(1)
		log.ErrorContext(ctx, "webhook refused: the handler has no inbox")
		http.Error(w, "webhooks not configured", http.StatusServiceUnavailable)
		return
	}
	seen, err := h.d.Marks.WebhookEventSeen(ctx, wh.EventID)
	if err != nil {
		h.stats.unavailable.Add(1)
		log.ErrorContext(ctx, "read webhook mark", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	if seen {
		h.stats.duplicates.Add(1)
		writeJSON(w, map[string]string{"status": "duplicate"})
		return
	}
	dup, err := h.d.Inbox.Put(ctx, wh.EventID, body)
	if err != nil {
		h.stats.unavailable.Add(1)
		log.ErrorContext(ctx, "store webhook", "err", err)
		http.Error(w, "inbox unavailable", http.StatusServiceUnavailable)
		return
	}
	if _, err := h.d.Marks.MarkWebhookEvent(ctx, wh.EventID, h.cfg.DedupTTL); err != nil {
		// Stored all the same: a retry within the inbox's duplicate window
		// is not stored twice.
		log.WarnContext(ctx, "mark webhook event", "err", err)
	}
	if dup {
		h.stats.duplicates.Add(1)
		writeJSON(w, map[string]string{"status": "duplicate"})
		return
	}
	h.stats.accepted.Add(1)
	writeJSON(w, map[string]string{"status": "accepted"})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
