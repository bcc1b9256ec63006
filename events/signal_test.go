package events_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/events"
)

func TestSignals(t *testing.T) {
	want := []events.Signal{"info", "vin", "odometer", "location", "battery", "battery_capacity", "charge",
		"charge_limit", "fuel", "tire_pressure", "engine_oil", "lock_status", "diagnostics", "connectivity", "doors",
		"windows", "signal", "error", "status"}
	if diff := cmp.Diff(want, events.Signals()); diff != "" {
		t.Errorf("Signals() mismatch (-want +got):\n%s", diff)
	}
	events.Signals()[0] = "mutated"
	if got := events.Signals()[0]; got != events.SignalInfo {
		t.Errorf("Signals() shares its slice: first = %q after mutation", got)
	}
	for _, s := range events.Signals() {
		if !s.Valid() {
			t.Errorf("%q.Valid() = false", s)
		}
	}
	if events.Signal("speed").Valid() {
		t.Error(`Signal("speed").Valid() = true`)
	}
}

func TestSignal_Type(t *testing.T) {
	for _, s := range events.Signals() {
		t.Run(string(s), func(t *testing.T) {
			typ := s.Type()
			if want := "smartcar.vehicle." + string(s) + ".v1"; typ != want {
				t.Errorf("Type() = %q, want %q", typ, want)
			}
			got, ok := events.SignalFromType(typ)
			if got != s || !ok {
				t.Errorf("SignalFromType(%q) = %q, %v; want %q, true", typ, got, ok, s)
			}
		})
	}
	for _, typ := range []string{"", "smartcar.vehicle.odometer", "smartcar.vehicle.odometer.v2",
		"smartcar.vehicle.speed.v1", "other.vehicle.odometer.v1", "smartcar.vehicle..v1"} {
		if s, ok := events.SignalFromType(typ); ok {
			t.Errorf("SignalFromType(%q) = %q, true; want false", typ, s)
		}
	}
}
