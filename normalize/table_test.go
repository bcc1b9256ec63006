package normalize_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

func TestSignalForPath(t *testing.T) {
	tests := []struct {
		path   string
		want   events.Signal
		wantOK bool
	}{
		{"/", events.SignalInfo, true},
		{"/vin", events.SignalVIN, true},
		{"/odometer", events.SignalOdometer, true},
		{"/location", events.SignalLocation, true},
		{"/battery", events.SignalBattery, true},
		{"/battery/capacity", events.SignalBatteryCapacity, true},
		{"/battery/nominal_capacity", events.SignalBatteryCapacity, true},
		{"/charge", events.SignalCharge, true},
		{"/charge/limit", events.SignalChargeLimit, true},
		{"/fuel", events.SignalFuel, true},
		{"/tires/pressure", events.SignalTirePressure, true},
		{"/engine/oil", events.SignalEngineOil, true},
		{"/security", events.SignalLockStatus, true},
		{"/diagnostics/system_status", events.SignalDiagnostics, true},
		{"/diagnostics/dtcs", events.SignalDiagnostics, true},
		{"", "", false},
		{"odometer", "", false},
		{"/odometer/", "", false},
		{"/service/history", "", false},
		{"/tesla/speedometer", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := normalize.SignalForPath(tt.path)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("SignalForPath(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.wantOK)
			}
		})
	}
	if got, want := len(normalize.Paths()), 15; got != want {
		t.Errorf("len(Paths()) = %d, want %d", got, want)
	}
	if !slices.IsSorted(normalize.Paths()) {
		t.Errorf("Paths() = %q, not sorted", normalize.Paths())
	}
}

// config keeps its own list of the paths a schedule may poll (it imports no
// internal package): it must be this package's.
func TestPaths_config(t *testing.T) {
	if diff := cmp.Diff(normalize.Paths(), slices.Sorted(slices.Values(config.KnownPaths))); diff != "" {
		t.Errorf("config.KnownPaths differs from normalize.Paths() (-normalize +config):\n%s", diff)
	}
}

// config keeps its own list of the signals a schedule may ask for, with
// their v2 paths and whether v3 has them: it must be this package's table
// (info comes on v3 with the vehicle, not from a signal code).
func TestSignals_config(t *testing.T) {
	var want []config.KnownSignal
	for _, s := range normalize.Table() {
		want = append(want, config.KnownSignal{Name: string(s.Signal), Paths: s.Paths,
			V3: len(s.Codes) > 0 || s.Signal == events.SignalInfo})
	}
	if diff := cmp.Diff(want, config.KnownSignals, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("config.KnownSignals differs from normalize.Table() (-normalize +config):\n%s", diff)
	}
}

func TestTable(t *testing.T) {
	tab := normalize.Table()
	var signals []events.Signal
	for _, s := range tab {
		signals = append(signals, s.Signal)
		if len(s.Paths) == 0 && len(s.Codes) == 0 {
			t.Errorf("%s comes from nowhere", s.Signal)
		}
		for _, p := range s.Paths {
			if got, _ := normalize.SignalForPath(p); got != s.Signal {
				t.Errorf("SignalForPath(%s) = %s, want %s", p, got, s.Signal)
			}
		}
		for _, c := range s.Codes {
			if !slices.Contains(normalize.SignalsForCode(c), s.Signal) {
				t.Errorf("SignalsForCode(%s) = %v, want %s in it", c, normalize.SignalsForCode(c), s.Signal)
			}
		}
	}
	// Every signal with data from Smartcar, nothing else: not the generic
	// one, not error or status.
	var want []events.Signal
	for _, s := range events.Signals() {
		if s != events.SignalGeneric && s != events.SignalError && s != events.SignalStatus {
			want = append(want, s)
		}
	}
	if diff := cmp.Diff(want, signals); diff != "" {
		t.Errorf("Table() signals (-events +table):\n%s", diff)
	}
	// A copy.
	tab[1].Codes[0] = "mutated"
	if normalize.Table()[1].Codes[0] == "mutated" {
		t.Error("Table() shares its slices")
	}

	// Each code the simulator serves is part of a signal, or one the table
	// leaves to the generic event.
	generic := []string{smartcar.SignalChargeRate, smartcar.SignalGearState, smartcar.SignalLowVoltageSoC, "charge-timetocomplete"}
	for _, c := range smartcartest.SignalCodes() {
		if got := normalize.SignalsForCode(c); (len(got) == 0) != slices.Contains(generic, c) {
			t.Errorf("SignalsForCode(%s) = %v", c, got)
		}
	}
	if diff := cmp.Diff([]events.Signal{events.SignalLockStatus, events.SignalDoors}, normalize.SignalsForCode(smartcar.SignalDoors)); diff != "" {
		t.Errorf("SignalsForCode(closure-doors) (-want +got):\n%s", diff)
	}
	for code, want := range map[string]string{smartcar.SignalOdometer: "/odometer", smartcar.SignalBatteryRange: "/battery",
		smartcar.SignalDoors: "/security", smartcar.SignalIsOnline: "", smartcar.SignalGearState: ""} {
		if got, ok := normalize.PathOfCode(code); got != want || ok != (want != "") {
			t.Errorf("PathOfCode(%s) = %q, %v; want %q", code, got, ok, want)
		}
	}
}
