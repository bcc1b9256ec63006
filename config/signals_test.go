package config_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/config"
)

func TestSchedule_wire(t *testing.T) {
	tests := []struct {
		name   string
		s      config.Schedule
		v3, v2 []string
	}{
		{"paths", config.Schedule{Paths: []string{"/odometer", "/security", "/battery/capacity", "/battery/nominal_capacity", "/diagnostics/dtcs"}},
			[]string{"odometer", "lock_status", "battery_capacity"}, // diagnostics has no v3 signal
			[]string{"/odometer", "/security", "/battery/capacity", "/battery/nominal_capacity", "/diagnostics/dtcs"}},
		{"signals", config.Schedule{Signals: []string{"odometer", "battery_capacity", "lock_status", "connectivity", "transmission-gearstate"}},
			[]string{"odometer", "battery_capacity", "lock_status", "connectivity", "transmission-gearstate"},
			[]string{"/odometer", "/battery/nominal_capacity", "/security"}}, // the first path of each; none for v3-only ones
		{"all", config.Schedule{Signals: []string{"all"}}, []string{"all"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.v3, tc.s.V3Signals()); diff != "" {
				t.Errorf("V3Signals (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.v2, tc.s.V2Paths()); diff != "" {
				t.Errorf("V2Paths (-want +got):\n%s", diff)
			}
		})
	}
}

func TestIsSignalCode(t *testing.T) {
	for s, want := range map[string]bool{
		"transmission-gearstate": true, "odometer-traveleddistance": true, "a-b-c": true, "x1-y2": true,
		"odometer": false, "lock_status": false, "Transmission-Gearstate": false, "-x": false, "x-": false, "a--b": false, "": false,
	} {
		if got := config.IsSignalCode(s); got != want {
			t.Errorf("IsSignalCode(%q) = %v, want %v", s, got, want)
		}
	}
}
