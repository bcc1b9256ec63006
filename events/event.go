package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// CloudEvents attributes shared by every event.
const (
	SpecVersion     = "1.0"
	DataContentType = "application/json"
	// DefaultSource is the CloudEvents source when Meta.Source is empty.
	DefaultSource = "smartcar-poller"
)

// Event is a CloudEvents 1.0 event in structured JSON mode.
//
// Subject is the vehicle id. Time is the age of the data (Smartcar's
// SC-Data-Age) and is omitted when unknown: it is never filled with the fetch
// time, so that "the data's age advanced" (emit: on_change) stays meaningful.
// For status events Time is when the status changed. The extension
// attributes requestid (SC-Request-Id), fetchedat (when the data was
// fetched: Smartcar's SC-Fetched-At when known, else when the poller received
// it), schedule (the schedule that caused the poll) and tick (the scheduled
// time of that poll; with subject and type it names one poll of one signal)
// are omitted when empty.
// Data is the normalized data of the signal named by Type.
type Event struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject"`
	Time            time.Time       `json:"time,omitzero"`
	DataContentType string          `json:"datacontenttype"`
	DataSchema      string          `json:"dataschema"`
	RequestID       string          `json:"requestid,omitempty"`
	FetchedAt       time.Time       `json:"fetchedat,omitzero"`
	Schedule        string          `json:"schedule,omitempty"`
	Tick            time.Time       `json:"tick,omitzero"`
	Data            json.RawMessage `json:"data"`
}

// Meta carries the attributes of an event other than its signal, vehicle and
// data. ID is required: use EventID, ErrorEventID or StatusEventID so that a
// redelivered job publishes the same ids. Source defaults to DefaultSource.
type Meta struct {
	ID        string
	Source    string
	Time      time.Time // data age (SC-Data-Age); zero when unknown
	FetchedAt time.Time
	RequestID string
	Schedule  string
	Tick      time.Time // the scheduled time of the poll; zero for events not caused by a schedule
}

// ErrInvalidEvent is wrapped by the errors of New and Parse.
var ErrInvalidEvent = errors.New("invalid event")

// New builds the event of signal s for vehicleID. data is one of the *Data
// types of this package (it must match s) or already-encoded JSON
// (json.RawMessage); times are converted to UTC.
func New(s Signal, vehicleID string, data any, m Meta) (Event, error) {
	if err := validateSignal(s); err != nil {
		return Event{}, fmt.Errorf("new event: %w", err)
	}
	if err := ValidateVehicleID(vehicleID); err != nil {
		return Event{}, fmt.Errorf("new event: %w", err)
	}
	if m.ID == "" {
		return Event{}, fmt.Errorf("new %s event: missing id: %w", s, ErrInvalidEvent)
	}
	raw, err := encodeData(s, data)
	if err != nil {
		return Event{}, err
	}
	if m.Source == "" {
		m.Source = DefaultSource
	}
	return Event{
		SpecVersion:     SpecVersion,
		ID:              m.ID,
		Source:          m.Source,
		Type:            s.Type(),
		Subject:         vehicleID,
		Time:            utc(m.Time),
		DataContentType: DataContentType,
		DataSchema:      SchemaURL(s),
		RequestID:       m.RequestID,
		FetchedAt:       utc(m.FetchedAt),
		Schedule:        m.Schedule,
		Tick:            utc(m.Tick),
		Data:            raw,
	}, nil
}

func encodeData(s Signal, data any) (json.RawMessage, error) {
	switch d := data.(type) {
	case nil:
		return nil, fmt.Errorf("new %s event: missing data: %w", s, ErrInvalidEvent)
	case json.RawMessage:
		var buf bytes.Buffer
		if err := json.Compact(&buf, d); err != nil {
			return nil, fmt.Errorf("new %s event: compact data: %w", s, err)
		}
		return buf.Bytes(), nil
	case Data:
		if d.Signal() != s {
			return nil, fmt.Errorf("new %s event: data is %T, which belongs to signal %s: %w", s, data, d.Signal(), ErrInvalidEvent)
		}
	}
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("new %s event: encode data: %w", s, err)
	}
	return b, nil
}

func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// Parse decodes the JSON of an event and checks its envelope: spec version,
// a known type and a vehicle id. Use Validate for a full schema check.
func Parse(b []byte) (Event, error) {
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return Event{}, fmt.Errorf("parse event: %w", err)
	}
	if ev.SpecVersion != SpecVersion {
		return Event{}, fmt.Errorf("parse event %s: specversion %q: %w", ev.ID, ev.SpecVersion, ErrInvalidEvent)
	}
	if _, ok := ev.Signal(); !ok {
		return Event{}, fmt.Errorf("parse event %s: type %q: %w", ev.ID, ev.Type, ErrInvalidEvent)
	}
	if err := ValidateVehicleID(ev.Subject); err != nil {
		return Event{}, fmt.Errorf("parse event %s: %w", ev.ID, err)
	}
	return ev, nil
}

// Signal returns the signal named by the event's type.
func (e Event) Signal() (Signal, bool) { return SignalFromType(e.Type) }

// Code returns the API v3 signal code of a generic signal event
// (SignalGeneric), read from its data. Any other event, or a code that
// cannot be a subject token, is an error wrapping ErrInvalidEvent.
func (e Event) Code() (string, error) {
	if s, _ := e.Signal(); s != SignalGeneric {
		return "", fmt.Errorf("event %s: type %s has no signal code: %w", e.ID, e.Type, ErrInvalidEvent)
	}
	var d struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(e.Data, &d); err != nil {
		return "", fmt.Errorf("event %s: read signal code: %w: %w", e.ID, ErrInvalidEvent, err)
	}
	if err := ValidateCode(d.Code); err != nil {
		return "", fmt.Errorf("event %s: %w: %w", e.ID, ErrInvalidEvent, err)
	}
	return d.Code, nil
}

// VehicleID returns the vehicle id, i.e. the CloudEvents subject.
func (e Event) VehicleID() string { return e.Subject }

// DecodeData decodes the event's data into v, e.g. an *OdometerData.
func (e Event) DecodeData(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decode %s data of event %s: %w", e.Type, e.ID, err)
	}
	return nil
}
