package events_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/events"
)

func TestNew(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	age := time.Date(2026, 3, 1, 13, 30, 0, 500_000_000, paris)
	got, err := events.New(events.SignalOdometer, "v1", events.OdometerData{DistanceKm: 37829}, events.Meta{
		ID:        "abc",
		Time:      age,
		FetchedAt: age.Add(time.Second),
		RequestID: "req-1",
		Schedule:  "default",
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	want := events.Event{
		SpecVersion:     "1.0",
		ID:              "abc",
		Source:          "smartcar-poller",
		Type:            "smartcar.vehicle.odometer.v1",
		Subject:         "v1",
		Time:            time.Date(2026, 3, 1, 12, 30, 0, 500_000_000, time.UTC),
		DataContentType: "application/json",
		DataSchema:      events.SchemaBaseURL + "odometer.v1.json",
		RequestID:       "req-1",
		FetchedAt:       time.Date(2026, 3, 1, 12, 30, 1, 500_000_000, time.UTC),
		Schedule:        "default",
		Data:            json.RawMessage(`{"distance_km":37829}`),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("New() mismatch (-want +got):\n%s", diff)
	}
	if got.Time.Location() != time.UTC {
		t.Errorf("Time location = %v, want UTC", got.Time.Location())
	}
}

func TestNew_omitsUnknown(t *testing.T) {
	ev, err := events.New(events.SignalVIN, "v1", events.VINData{VIN: "5YJSA1CN5DFP00101"}, events.Meta{ID: "x", Source: "test"})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]any
	if err := json.Unmarshal(b, &attrs); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"time", "fetchedat", "requestid", "schedule"} {
		if _, ok := attrs[k]; ok {
			t.Errorf("event JSON has %q although it was not set: %s", k, b)
		}
	}
	if attrs["source"] != "test" {
		t.Errorf("source = %v, want test", attrs["source"])
	}
	if err := events.Validate(b); err != nil {
		t.Errorf("Validate() = %v, want nil", err)
	}
}

func TestNew_errors(t *testing.T) {
	tests := []struct {
		name    string
		signal  events.Signal
		vehicle string
		data    any
		meta    events.Meta
		want    error
	}{
		{"unknown signal", "speed", "v1", events.OdometerData{}, events.Meta{ID: "x"}, events.ErrInvalidName},
		{"bad vehicle", events.SignalOdometer, "v.1", events.OdometerData{}, events.Meta{ID: "x"}, events.ErrInvalidName},
		{"missing id", events.SignalOdometer, "v1", events.OdometerData{}, events.Meta{}, events.ErrInvalidEvent},
		{"nil data", events.SignalOdometer, "v1", nil, events.Meta{ID: "x"}, events.ErrInvalidEvent},
		{"data of other signal", events.SignalOdometer, "v1", events.FuelData{}, events.Meta{ID: "x"}, events.ErrInvalidEvent},
		{"invalid raw json", events.SignalOdometer, "v1", json.RawMessage(`{"distance_km":`), events.Meta{ID: "x"}, nil},
		{"unencodable data", events.SignalOdometer, "v1", map[string]any{"f": func() {}}, events.Meta{ID: "x"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := events.New(tt.signal, tt.vehicle, tt.data, tt.meta)
			if err == nil {
				t.Fatal("New() error = nil, want an error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("New() error = %v, want it to wrap %v", err, tt.want)
			}
		})
	}
}

func TestNew_rawData(t *testing.T) {
	ev, err := events.New(events.SignalOdometer, "v1", json.RawMessage("{ \"distance_km\" :\n 12 }"), events.Meta{ID: "x"})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	if got, want := string(ev.Data), `{"distance_km":12}`; got != want {
		t.Errorf("Data = %s, want %s", got, want)
	}
}

func TestParse(t *testing.T) {
	for _, s := range events.Signals() {
		t.Run(string(s), func(t *testing.T) {
			want := sampleEvent(t, s, "36ab27d0-fd9d-4455-823a-ce30af709ffc")
			b, err := json.Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := events.Parse(b)
			if err != nil {
				t.Fatalf("Parse() error = %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse() mismatch (-want +got):\n%s", diff)
			}
			if sig, ok := got.Signal(); sig != s || !ok {
				t.Errorf("Signal() = %q, %v; want %q, true", sig, ok, s)
			}
			if got.VehicleID() != want.Subject {
				t.Errorf("VehicleID() = %q, want %q", got.VehicleID(), want.Subject)
			}
		})
	}
}

func TestParse_errors(t *testing.T) {
	good, err := json.Marshal(sampleEvent(t, events.SignalOdometer, "v1"))
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"not json":        `{`,
		"specversion 0.3": strings.Replace(string(good), `"specversion":"1.0"`, `"specversion":"0.3"`, 1),
		"unknown type":    strings.Replace(string(good), `odometer.v1"`, `speed.v1"`, 1),
		"bad subject":     strings.Replace(string(good), `"subject":"v1"`, `"subject":"v.1"`, 1),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if in == string(good) {
				t.Fatal("test input was not modified")
			}
			if _, err := events.Parse([]byte(in)); err == nil {
				t.Errorf("Parse(%s) error = nil, want an error", in)
			}
		})
	}
}

func TestEvent_DecodeData(t *testing.T) {
	for _, s := range events.Signals() {
		t.Run(string(s), func(t *testing.T) {
			ev := sampleEvent(t, s, "v1")
			want := samples[s]
			got := newDataOf(want)
			if err := ev.DecodeData(got); err != nil {
				t.Fatalf("DecodeData() error = %v", err)
			}
			if diff := cmp.Diff(want, deref(got)); diff != "" {
				t.Errorf("DecodeData() mismatch (-want +got):\n%s", diff)
			}
		})
	}
	var fuel events.FuelData
	if err := (events.Event{Data: json.RawMessage(`[1]`)}).DecodeData(&fuel); err == nil {
		t.Error("DecodeData([1]) error = nil, want an error")
	}
}

func TestEvent_Code(t *testing.T) {
	gear := sampleEvent(t, events.SignalGeneric, "v1")
	if code, err := gear.Code(); err != nil || code != "transmission-gearstate" {
		t.Errorf("Code() = %q, %v; want transmission-gearstate", code, err)
	}
	bad := map[string]events.Event{"odometer event": sampleEvent(t, events.SignalOdometer, "v1")}
	for name, data := range map[string]string{"no code": `{"body":1}`, "dotted code": `{"code":"a.b"}`, "not an object": `[1]`} {
		ev := gear
		ev.Data = json.RawMessage(data)
		bad[name] = ev
	}
	for name, ev := range bad {
		t.Run(name, func(t *testing.T) {
			if code, err := ev.Code(); !errors.Is(err, events.ErrInvalidEvent) {
				t.Errorf("Code() = %q, %v; want an error wrapping ErrInvalidEvent", code, err)
			}
		})
	}
}
