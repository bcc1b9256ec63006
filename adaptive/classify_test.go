package adaptive_test

import (
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
)

var t0 = time.Date(2026, 6, 3, 12, 0, 0, 0, time.UTC) // a Wednesday

// seen is a vehicle last seen parked at a place, odometer 1000 km.
func seen(state adaptive.State) *adaptive.Vehicle {
	return &adaptive.Vehicle{State: state, Seen: t0.Add(-time.Hour).Unix(), Odometer: 1000, Lat: 52.5, Lon: 13.4}
}

func TestClassify(t *testing.T) {
	here := adaptive.HasOdometer | adaptive.HasLocation
	tests := []struct {
		name      string
		prev      *adaptive.Vehicle
		obs       adaptive.Observation
		want      adaptive.State
		wantMoved bool
	}{
		{"gear D", seen(adaptive.Parked),
			adaptive.Observation{Has: here | adaptive.HasGear, Gear: "D", OdometerKm: 1000, Latitude: 52.5, Longitude: 13.4},
			adaptive.Driving, false},
		{"gear R", seen(adaptive.Parked), adaptive.Observation{Has: adaptive.HasGear, Gear: "R"}, adaptive.Driving, false},
		{"gear P after a trip", seen(adaptive.Parked),
			adaptive.Observation{Has: here | adaptive.HasGear, Gear: "P", OdometerKm: 1012, Latitude: 52.6, Longitude: 13.4},
			adaptive.Parked, true},
		{"no gear, odometer moved", seen(adaptive.Parked),
			adaptive.Observation{Has: adaptive.HasOdometer, OdometerKm: 1000.2}, adaptive.Driving, true},
		{"no gear, location moved", seen(adaptive.Parked),
			adaptive.Observation{Has: adaptive.HasLocation, Latitude: 52.51, Longitude: 13.4}, adaptive.Driving, true},
		{"odometer noise", seen(adaptive.Parked),
			adaptive.Observation{Has: here, OdometerKm: 1000.01, Latitude: 52.5002, Longitude: 13.4}, adaptive.Parked, false},
		{"charging", seen(adaptive.Parked),
			adaptive.Observation{Has: adaptive.HasCharging | adaptive.HasPluggedIn, Charging: true, PluggedIn: true},
			adaptive.Charging, false},
		{"charge rate", seen(adaptive.Parked),
			adaptive.Observation{Has: adaptive.HasChargeRate, ChargeRateKW: 7.4}, adaptive.Charging, false},
		{"plugged in, full", seen(adaptive.Charging),
			adaptive.Observation{Has: adaptive.HasCharging | adaptive.HasPluggedIn, PluggedIn: true}, adaptive.PluggedIn, false},
		{"asleep", seen(adaptive.Parked),
			adaptive.Observation{Has: adaptive.HasAsleep | adaptive.HasGear, Asleep: true, Gear: "P"}, adaptive.Asleep, false},
		{"asleep, plugged in", seen(adaptive.Parked),
			adaptive.Observation{Has: adaptive.HasAsleep | adaptive.HasPluggedIn, Asleep: true, PluggedIn: true}, adaptive.Asleep, false},
		{"offline", seen(adaptive.Parked), adaptive.Observation{Has: adaptive.HasOnline}, adaptive.Asleep, false},
		{"VEHICLE_STATE:ASLEEP", seen(adaptive.Parked), adaptive.Observation{Unreachable: true}, adaptive.Asleep, false},
		{"awake, parked", seen(adaptive.Asleep),
			adaptive.Observation{Has: adaptive.HasAsleep | adaptive.HasOnline | adaptive.HasGear, Online: true, Gear: "P"},
			adaptive.Parked, false},
		{"a charge webhook keeps a drive", seen(adaptive.Driving),
			adaptive.Observation{Has: adaptive.HasCharging | adaptive.HasPluggedIn}, adaptive.Driving, false},
		{"a charge webhook ends a drive when it charges", seen(adaptive.Driving),
			adaptive.Observation{Has: adaptive.HasCharging | adaptive.HasPluggedIn, Charging: true, PluggedIn: true},
			adaptive.Charging, false},
		{"first look", &adaptive.Vehicle{},
			adaptive.Observation{Has: here | adaptive.HasGear, Gear: "P", OdometerKm: 500, Latitude: 1, Longitude: 2},
			adaptive.Parked, false},
		{"nothing known", seen(adaptive.Parked), adaptive.Observation{}, adaptive.Parked, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.obs.At = t0
			got, moved := adaptive.Classify(tt.prev, &tt.obs)
			if got != tt.want || moved != tt.wantMoved {
				t.Errorf("Classify = %s, moved %v; want %s, %v", got, moved, tt.want, tt.wantMoved)
			}
		})
	}
}

func TestState_String(t *testing.T) {
	for st, want := range map[adaptive.State]string{adaptive.Unknown: "unknown", adaptive.Driving: "driving",
		adaptive.Charging: "charging", adaptive.PluggedIn: "plugged_in", adaptive.Parked: "parked",
		adaptive.Asleep: "asleep", adaptive.State(99): "unknown"} {
		if got := st.String(); got != want {
			t.Errorf("State(%d) = %q, want %q", st, got, want)
		}
	}
}
