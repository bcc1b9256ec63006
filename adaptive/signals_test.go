package adaptive_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/adaptive"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

func sig(code, body string, updated time.Time) smartcar.Signal {
	return smartcar.Signal{Code: code, Status: smartcar.SignalSuccess, Body: json.RawMessage(body), OEMUpdatedAt: updated}
}

func TestFromSignals(t *testing.T) {
	at := t0
	moved := at.Add(-40 * time.Minute)
	newest := at.Add(-time.Minute)
	signals := []smartcar.Signal{
		sig("odometer-traveleddistance", `{"unit":"miles","value":100}`, moved),
		sig("location-preciselocation", `{"latitude":52.5,"longitude":13.4,"heading":0,"direction":"N","locationType":"CURRENT"}`, moved),
		sig("transmission-gearstate", `{"value":"P"}`, moved),
		sig("charge-detailedchargingstatus", `{"value":"CHARGING"}`, newest),
		sig("charge-ischargingcableconnected", `{"value":true}`, moved),
		sig("connectivitystatus-isasleep", `{"value":false}`, moved),
		sig("connectivitystatus-isonline", `{"value":true}`, moved),
		sig("tractionbattery-stateofcharge", `{"unit":"percent","value":55}`, newest),
		sig("tractionbattery-nominalcapacity", `{"unit":"kilowattHours","value":75}`, moved),
		sig("charge-chargerate", `{"unit":"kilowatts","value":7.4}`, newest),
		sig("charge-chargelimits", `{"activeLimit":80,"unit":"percent","values":[{"type":"GLOBAL","limit":80}]}`, moved),
		sig("charge-timetocomplete", `{"unit":"minutes","value":95}`, newest),
		sig("wheel-tires", `{"unit":"kilopascals","values":[]}`, newest.Add(30*time.Second)),
		{Code: "internalcombustionengine-fuellevel", Status: smartcar.SignalError,
			Err: &smartcar.Error{Type: "COMPATIBILITY", Code: "VEHICLE_NOT_CAPABLE"}},
		sig("charge-ischarging", `{"value":"not a bool"}`, at), // does not decode: left out
	}
	got := adaptive.FromSignals(signals, at)
	want := adaptive.Observation{
		At: at, OEMUpdatedAt: newest.Add(30 * time.Second), MovedAt: moved,
		Has: adaptive.HasOdometer | adaptive.HasLocation | adaptive.HasGear | adaptive.HasCharging |
			adaptive.HasPluggedIn | adaptive.HasAsleep | adaptive.HasOnline | adaptive.HasStateOfCharge |
			adaptive.HasCapacity | adaptive.HasChargeRate | adaptive.HasChargeLimit | adaptive.HasTimeToComplete,
		OdometerKm: 160.9344, Latitude: 52.5, Longitude: 13.4, Gear: "P", Charging: true, PluggedIn: true,
		Online: true, StateOfCharge: 0.55, CapacityKWh: 75, ChargeRateKW: 7.4, ChargeLimit: 0.8,
		TimeToComplete: 95 * time.Minute,
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return fmt.Sprintf("%.6f", a) == fmt.Sprintf("%.6f", b) })); diff != "" {
		t.Errorf("FromSignals (-want +got):\n%s", diff)
	}
	if st, _ := adaptive.Classify(&adaptive.Vehicle{}, &got); st != adaptive.Charging {
		t.Errorf("classified %s, want charging", st)
	}
}

func TestFromSignals_asleep(t *testing.T) {
	asleep := []smartcar.Signal{{Code: "odometer-traveleddistance", Status: smartcar.SignalError,
		Err: &smartcar.Error{Type: smartcar.TypeVehicleState, Code: "ASLEEP"}}}
	o := adaptive.FromSignals(asleep, t0)
	if !o.Unreachable || o.Has != 0 {
		t.Errorf("an ASLEEP signal: %+v, want Unreachable and nothing known", o)
	}
	if st, _ := adaptive.Classify(&adaptive.Vehicle{}, &o); st != adaptive.Asleep {
		t.Errorf("classified %s, want asleep", st)
	}
}

func TestFromError(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("signals: %w", &smartcar.Error{Type: smartcar.TypeVehicleState, Code: "UNREACHABLE"}), true},
		{&smartcar.Error{Type: smartcar.TypeVehicleState, Code: "ASLEEP"}, true},
		{&smartcar.Error{Type: "RATE_LIMIT", Code: "VEHICLE"}, false},
		{fmt.Errorf("dial: connection refused"), false},
	}
	for _, tt := range tests {
		o, ok := adaptive.FromError(tt.err, t0)
		if ok != tt.want || o.Unreachable != tt.want || !o.At.Equal(t0) {
			t.Errorf("FromError(%v) = %+v, %v; want Unreachable %v", tt.err, o, ok, tt.want)
		}
	}
}
