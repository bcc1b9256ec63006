package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/events"
)

// TestPrinter: the output of tail and demo has a header row naming the
// columns; the first column is when the event arrived (in order, however
// old the data), the second the data's age then, "-" where an event carries
// no data age.
func TestPrinter(t *testing.T) {
	const v1, v2 = "c96187fb-8772-40cf-ad21-4ffb710c4ee3", "e18dd5ed-3115-4e2d-b92a-25efb8b5d7e9"
	start := time.Date(2026, 12, 7, 5, 6, 0, 0, time.UTC)
	now := start
	var out strings.Builder
	p := &printer{w: &out, now: func() time.Time { return now }, maxData: 40, resumes: true}
	emit := func(after time.Duration, s events.Signal, vehicle string, data any, dataTime time.Time) {
		t.Helper()
		now = start.Add(after)
		ev, err := events.New(s, vehicle, data, events.Meta{ID: "id", Time: dataTime})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		p.print(raw)
	}
	emit(0, events.SignalOdometer, v1, events.OdometerData{DistanceKm: 37533.02}, start.Add(-102*time.Second))
	emit(time.Second, events.SignalOdometer, v2, events.OdometerData{DistanceKm: 35172.88}, start.Add(-5*time.Second))
	emit(2*time.Second, events.SignalStatus, v1, events.StatusData{Status: events.StatusRateLimited, Reason: "Retry-After 15s"}, start.Add(2*time.Second))
	emit(3*time.Second, events.SignalError, v2, events.ErrorData{Path: "/fuel", StatusCode: 409, Type: "VEHICLE_STATE", Code: "ASLEEP"}, time.Time{})
	emit(4*time.Second, events.SignalLocation, v2, events.LocationData{Latitude: 37.777459, Longitude: -122.370021}, time.Time{})
	emit(5*time.Second, events.SignalGeneric, v2, events.SignalData{Code: "transmission-gearstate", Body: json.RawMessage(`{"value":"D"}`)},
		start.Add(-time.Minute))
	emit(6*time.Second, events.SignalConnectivity, v2, events.ConnectivityData{IsOnline: true}, start.Add(-time.Minute))
	emit(18*time.Second, events.SignalOdometer, v1, events.OdometerData{DistanceKm: 37540}, start.Add(-3*time.Hour-4*time.Minute))
	emit(19*time.Second, events.SignalOdometer, v1, events.OdometerData{DistanceKm: 37541}, start.Add(-50*time.Hour))
	p.print([]byte("{not json"))

	at := func(d time.Duration) string { return start.Add(d).Local().Format(time.TimeOnly) }
	want := strings.Join([]string{
		"RECEIVED  DATA AGE  VEHICLE                               SIGNAL           DATA",
		at(0) + "  1m42s     " + v1 + "  odometer         {\"distance_km\":37533.02}",
		at(time.Second) + "  6s        " + v2 + "  odometer         {\"distance_km\":35172.88}",
		at(2*time.Second) + "  -         " + v1 + "  status           {\"status\":\"rate_limited\",\"reason\":\"Retry…",
		at(3*time.Second) + "  -         " + v2 + "  error            {\"path\":\"/fuel\",\"status_code\":409,\"type\"…",
		at(4*time.Second) + "  -         " + v2 + "  location         {\"latitude\":37.777459,\"longitude\":-122.3…",
		at(5*time.Second) + "  1m05s     " + v2 + "  transmission-gearstate {\"code\":\"transmission-gearstate\",\"body\":…",
		at(6*time.Second) + "  1m06s     " + v2 + "  connectivity     {\"is_online\":true}",
		at(18*time.Second) + "  -         " + v1 + "  (resumed)        polling again, 16s after rate_limited",
		at(18*time.Second) + "  3h04m     " + v1 + "  odometer         {\"distance_km\":37540}",
		at(19*time.Second) + "  2d02h     " + v1 + "  odometer         {\"distance_km\":37541}",
		"(undecodable event: invalid character 'n' looking for beginning of object key string)",
	}, "\n") + "\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestTailFilter(t *testing.T) {
	tests := []struct {
		vehicle, signal, want string
	}{
		{"", "", "sc.vehicles.*.>"},
		{"v1", "", "sc.vehicles.v1.>"},
		{"", "odometer", "sc.vehicles.*.odometer"},
		{"v1", "connectivity", "sc.vehicles.v1.connectivity"},
		{"", "signal", "sc.vehicles.*.signals.*"},
		{"v1", "transmission-gearstate", "sc.vehicles.v1.signals.transmission-gearstate"},
		{"", "a.b", ""},
		{"", "*", ""},
		{"v.1", "odometer", ""},
	}
	for _, tt := range tests {
		got, err := tailFilter("sc", tt.vehicle, tt.signal)
		if (err != nil) != (tt.want == "") || got != tt.want {
			t.Errorf("tailFilter(%q, %q) = %q, %v; want %q", tt.vehicle, tt.signal, got, err, tt.want)
		}
	}
}

func TestFormatAge(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-3 * time.Second, "0s"},
		{400 * time.Millisecond, "0s"},
		{59*time.Second + 600*time.Millisecond, "1m00s"},
		{time.Minute + 5*time.Second, "1m05s"},
		{time.Hour - time.Second, "59m59s"},
		{25*time.Hour + 59*time.Minute, "1d01h"},
	}
	for _, tt := range tests {
		if got := formatAge(tt.d); got != tt.want {
			t.Errorf("formatAge(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
