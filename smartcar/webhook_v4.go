package smartcar

import (
	"bytes"
	"cmp"
	"encoding/json"
	"strings"
	"time"
)

// Webhook event types. A legacy (v2.0) payload's eventName "verify" becomes
// WebhookVerify; its other event names are kept as sent ("schedule").
const (
	WebhookVerify       = "VERIFY"
	WebhookVehicleState = "VEHICLE_STATE"
	WebhookVehicleError = "VEHICLE_ERROR"
)

// Webhook trigger types and vehicle error states.
const (
	TriggerSignalUpdated = "SIGNAL_UPDATED"
	TriggerFirstDelivery = "FIRST_DELIVERY"
	ErrorStateError      = "ERROR"
	ErrorStateResolved   = "RESOLVED"
)

// WebhookEvent is a parsed webhook delivery: a VERIFY challenge, a
// VEHICLE_STATE (the vehicle's subscribed signals and what triggered the
// delivery), a VEHICLE_ERROR (errors and their resolution), or a legacy
// v2.0 payload. Verify the SC-Signature header with VerifyPayload on the
// raw body before trusting it.
type WebhookEvent struct {
	EventID   string // deduplicate deliveries on it
	Type      string // WebhookVerify, WebhookVehicleState, WebhookVehicleError, or a legacy event name
	Challenge string // VERIFY: answer {"challenge": HashChallenge(amt, Challenge)}
	Vehicle   WebhookVehicle
	UserID    string
	Signals   []Signal // VEHICLE_STATE
	Triggers  []WebhookTrigger
	Errors    []WebhookError // VEHICLE_ERROR
	Meta      WebhookMeta
	// Payload is a legacy (v2.0) event's payload, undecoded.
	Payload json.RawMessage
}

// Legacy reports whether the event came in the v2.0 webhook format.
func (e *WebhookEvent) Legacy() bool { return strings.HasPrefix(e.Meta.Version, "2.") }

// Signal returns the signal with code, if the event carries it.
func (e *WebhookEvent) Signal(code string) (*Signal, bool) {
	for i := range e.Signals {
		if e.Signals[i].Code == code {
			return &e.Signals[i], true
		}
	}
	return nil, false
}

// WebhookVehicle is the vehicle a webhook is about.
type WebhookVehicle struct {
	ID    string
	Make  string
	Model string
	Year  int
	VIN   string
}

// WebhookTrigger is why a VEHICLE_STATE was sent: TriggerSignalUpdated for
// SignalCode, or TriggerFirstDelivery after a subscription.
type WebhookTrigger struct {
	Type       string
	SignalCode string
}

// WebhookError is one error of a VEHICLE_ERROR: the failure as a *Error
// (type, code, description, resolution), its State (ErrorStateError, or
// ErrorStateResolved once it is over) and the signals it affects.
type WebhookError struct {
	Err         *Error
	State       string
	SignalCodes []string
}

// Resolved reports whether the error is over.
func (w WebhookError) Resolved() bool { return w.State == ErrorStateResolved }

// WebhookMeta is the delivery's metadata.
type WebhookMeta struct {
	Version     string // "4.0", or "2.0" for a legacy payload
	DeliveryID  string
	DeliveredAt time.Time // from epoch milliseconds or RFC 3339
	WebhookID   string
	WebhookName string
	Mode        string // LIVE or TEST
	SignalCount int
}

// webhookWire holds both the v4.0 and the legacy v2.0 shapes.
type webhookWire struct {
	EventID   string `json:"eventId"`
	EventType string `json:"eventType"`
	Data      struct {
		Challenge string             `json:"challenge"`
		Vehicle   webhookVehicleWire `json:"vehicle"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
		Signals []webhookSignalWire `json:"signals"`
		Errors  []webhookErrorWire  `json:"errors"`
	} `json:"data"`
	Triggers []struct {
		Type   string `json:"type"`
		Signal struct {
			Code string `json:"code"`
		} `json:"signal"`
	} `json:"triggers"`
	Meta struct {
		Version     json.RawMessage `json:"version"`
		DeliveryID  string          `json:"deliveryId"`
		DeliveredAt flexTime        `json:"deliveredAt"`
		WebhookID   string          `json:"webhookId"`
		WebhookName string          `json:"webhookName"`
		Mode        string          `json:"mode"`
		SignalCount flexInt         `json:"signalCount"`
	} `json:"meta"`
	// v2.0
	Version   json.RawMessage `json:"version"`
	WebhookID string          `json:"webhookId"`
	EventName string          `json:"eventName"`
	Payload   json.RawMessage `json:"payload"`
}

type webhookVehicleWire struct {
	ID    string  `json:"id"`
	Make  string  `json:"make"`
	Model string  `json:"model"`
	Year  flexInt `json:"year"`
	VIN   string  `json:"vin"`
}

type webhookSignalWire struct {
	Code   string           `json:"code"`
	Name   string           `json:"name"`
	Group  string           `json:"group"`
	Body   json.RawMessage  `json:"body"`
	Status signalStatusWire `json:"status"`
	Error  *signalErrorWire `json:"error"`
	Meta   signalMetaWire   `json:"meta"`
}

type webhookErrorWire struct {
	signalErrorWire
	State   string `json:"state"`
	Signals []struct {
		Code string `json:"code"`
	} `json:"signals"`
}

// ParseWebhook parses a webhook body: v4.0 (VERIFY, VEHICLE_STATE,
// VEHICLE_ERROR and any other eventType, kept with its metadata) or a legacy
// v2.0 payload ({version, webhookId, eventName, payload}). A body that is not
// a JSON object of either shape is a VALIDATION *Error with Code WEBHOOK.
// Parsing does not verify the signature: call VerifyPayload first.
func ParseWebhook(body []byte) (*WebhookEvent, error) {
	var w webhookWire
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, webhookError("decode webhook body: "+err.Error(), err)
	}
	if w.EventType == "" {
		return parseLegacyWebhook(&w)
	}
	m := &w.Meta
	ev := &WebhookEvent{
		EventID:   w.EventID,
		Type:      w.EventType,
		Challenge: w.Data.Challenge,
		Vehicle: WebhookVehicle{ID: w.Data.Vehicle.ID, Make: w.Data.Vehicle.Make, Model: w.Data.Vehicle.Model,
			Year: int(w.Data.Vehicle.Year), VIN: w.Data.Vehicle.VIN},
		UserID: w.Data.User.ID,
		Meta: WebhookMeta{Version: versionString(m.Version), DeliveryID: m.DeliveryID,
			DeliveredAt: time.Time(m.DeliveredAt), WebhookID: m.WebhookID, WebhookName: m.WebhookName,
			Mode: m.Mode, SignalCount: int(m.SignalCount)},
	}
	if len(w.Data.Signals) > 0 {
		ev.Signals = make([]Signal, len(w.Data.Signals))
		for i := range w.Data.Signals {
			s := &w.Data.Signals[i]
			ev.Signals[i] = newSignal(s.Code, s.Name, s.Group, s.Status, s.Error, s.Body, s.Meta, "", secrets{})
		}
	}
	for _, t := range w.Triggers {
		ev.Triggers = append(ev.Triggers, WebhookTrigger{Type: t.Type, SignalCode: t.Signal.Code})
	}
	for i := range w.Data.Errors {
		x := &w.Data.Errors[i]
		we := WebhookError{Err: x.toError("", secrets{}), State: strings.ToUpper(cmp.Or(x.State, ErrorStateError))}
		for _, s := range x.Signals {
			we.SignalCodes = append(we.SignalCodes, s.Code)
		}
		ev.Errors = append(ev.Errors, we)
	}
	return ev, nil
}

// parseLegacyWebhook reads a v2.0 payload; a VERIFY's challenge is in
// payload.challenge.
func parseLegacyWebhook(w *webhookWire) (*WebhookEvent, error) {
	if w.EventName == "" {
		return nil, webhookError("webhook body has neither eventType (v4.0) nor eventName (v2.0)", nil)
	}
	ev := &WebhookEvent{
		Type:    w.EventName,
		Meta:    WebhookMeta{Version: cmp.Or(versionString(w.Version), "2.0"), WebhookID: w.WebhookID},
		Payload: w.Payload,
	}
	if strings.EqualFold(w.EventName, "verify") {
		ev.Type = WebhookVerify
		var p struct {
			Challenge string `json:"challenge"`
		}
		if len(bytes.TrimSpace(w.Payload)) > 0 && json.Unmarshal(w.Payload, &p) == nil {
			ev.Challenge = p.Challenge
		}
	}
	return ev, nil
}

// versionString reads a version sent as a string ("4.0") or a number (4).
func versionString(raw json.RawMessage) string {
	var f FlexString
	if len(raw) == 0 || f.UnmarshalJSON(raw) != nil {
		return ""
	}
	return string(f)
}

func webhookError(description string, err error) *Error {
	return &Error{Type: TypeValidation, Code: "WEBHOOK", Description: description, Err: err}
}
