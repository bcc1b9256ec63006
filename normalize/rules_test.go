package normalize_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

var (
	oem       = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	retrieved = oem.Add(time.Minute)
)

// both runs signals through FromWebhook and FromSignals and fails unless
// they give the same result.
func both(t *testing.T, prev normalize.Previous, signals ...wireSignal) normalize.Result {
	t.Helper()
	ev := webhook(t, signals...)
	hook, herr := normalize.FromWebhook(ev, prev)
	v3, verr := normalize.FromSignals(&smartcar.Signals{Items: ev.Signals}, prev)
	if (herr == nil) != (verr == nil) {
		t.Fatalf("FromWebhook error %v, FromSignals error %v", herr, verr)
	}
	if herr != nil {
		t.Fatalf("FromWebhook: %v", herr)
	}
	if diff := cmp.Diff(hook, v3, cmp.Comparer(sameError)); diff != "" {
		t.Fatalf("webhook and v3 signals differ (-webhook +v3):\n%s", diff)
	}
	for _, it := range hook.Items {
		eventOf(t, "veh-1", it)
	}
	return hook
}

func sameError(a, b error) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Error() == b.Error())
}

func rejectedCodes(r normalize.Result) []string {
	var out []string
	for _, x := range r.Rejected {
		out = append(out, x.Code)
	}
	return out
}

// previous answers with ev when the signal matches.
func previous(ev events.Event) normalize.Previous {
	return func(s events.Signal) (events.Event, bool, error) {
		if got, _ := ev.Signal(); got == s {
			return ev, true, nil
		}
		return events.Event{}, false, nil
	}
}

// The same out-of-range value is refused from every source: a v2 item
// fails, a v3 or webhook signal is rejected, and nothing of it is published.
func TestOutOfRange_sameForEverySource(t *testing.T) {
	tests := []struct {
		name, path, v2body, code, v3body string
	}{
		{"latitude 200", "/location", `{"latitude":200,"longitude":0}`, smartcar.SignalLocation, `{"latitude":200,"longitude":0}`},
		{"longitude -181", "/location", `{"latitude":0,"longitude":-181}`, smartcar.SignalLocation, `{"latitude":0,"longitude":-181}`},
		{"negative odometer", "/odometer", `{"distance":-1}`, smartcar.SignalOdometer, `{"unit":"kilometers","value":-1}`},
		{"charge limit above 1", "/charge/limit", `{"limit":1.2}`, smartcar.SignalChargeLimits, `{"activeLimit":120,"unit":"percent"}`},
		{"oil life below 0", "/engine/oil", `{"lifeRemaining":-0.01}`, smartcar.SignalOilLife, `{"unit":"percent","value":-1}`},
		{"vin too long", "/vin", `{"vin":"5YJ3E1EA1KF0000011"}`, smartcar.SignalVIN, `{"value":"5YJ3E1EA1KF0000011"}`},
		{"unknown charge state", "/charge", `{"isPluggedIn":true,"state":"SLEEPING"}`, smartcar.SignalDetailedChargingStatus, `{"value":"SLEEPING"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			item, err := itemFor(t, tt.path, 200, nil, []byte(tt.v2body), smartcar.Metric)
			if err != nil {
				t.Fatal(err)
			}
			if it, err := normalize.FromBatchItem(item, smartcar.Metric); err == nil {
				t.Errorf("v2 %s %s = %+v, want an error", tt.path, tt.v2body, it)
			}
			r := both(t, nil, sig(tt.code, tt.v3body, ms(oem), ms(retrieved)),
				sig(smartcar.SignalIsChargingCable, `{"value":true}`, ms(oem), ms(retrieved)))
			if diff := cmp.Diff([]string{tt.code}, rejectedCodes(r)); diff != "" {
				t.Errorf("rejected (-want +got):\n%s", diff)
			}
			for _, it := range r.Items {
				if it.Signal != events.SignalGeneric || it.Data.(events.SignalData).Code == tt.code {
					t.Errorf("published %s %+v from a refused signal", it.Signal, it.Data)
				}
			}
		})
	}
}

func TestFromWebhook_partial(t *testing.T) {
	soc := sig(smartcar.SignalStateOfCharge, `{"percentage":75}`, ms(oem), ms(retrieved))
	polled, err := events.New(events.SignalBattery, "veh-1", events.BatteryData{PercentRemaining: 0.5, RangeKm: 321.5},
		events.Meta{ID: "p", Time: oem.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("completed from the previous event", func(t *testing.T) {
		r := both(t, previous(polled), soc)
		want := []normalize.Item{{Signal: events.SignalBattery, Data: events.BatteryData{PercentRemaining: 0.75, RangeKm: 321.5},
			Key: "/battery", Time: oem, FetchedAt: retrieved}}
		if diff := cmp.Diff(want, r.Items); diff != "" {
			t.Errorf("items (-want +got):\n%s", diff)
		}
	})
	fuel, err := events.New(events.SignalFuel, "veh-1", events.FuelData{PercentRemaining: 0.5}, events.Meta{ID: "f"})
	if err != nil {
		t.Fatal(err)
	}
	generic := []normalize.Item{{Signal: events.SignalGeneric, Key: "signals/" + smartcar.SignalStateOfCharge, Time: oem, FetchedAt: retrieved,
		Data: events.SignalData{Code: smartcar.SignalStateOfCharge, Body: json.RawMessage(`{"percentage":75}`), RetrievedAt: retrieved, OEMUpdatedAt: oem}}}
	for name, prev := range map[string]normalize.Previous{
		"no previous":          nil,
		"no previous event":    previous(events.Event{}),
		"previous of no match": previous(fuel),
	} {
		t.Run(name, func(t *testing.T) {
			r := both(t, prev, soc)
			if diff := cmp.Diff(generic, r.Items); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("previous fails", func(t *testing.T) {
		boom := errors.New("kv down")
		_, err := normalize.FromWebhook(webhook(t, soc), func(events.Signal) (events.Event, bool, error) { return events.Event{}, false, boom })
		if !errors.Is(err, boom) {
			t.Errorf("FromWebhook() error = %v, want %v", err, boom)
		}
	})
	t.Run("complete needs no previous", func(t *testing.T) {
		calls := 0
		r := both(t, func(events.Signal) (events.Event, bool, error) { calls++; return polled, true, nil },
			soc, sig(smartcar.SignalBatteryRange, `{"unit":"miles","value":100}`, ms(oem.Add(-time.Hour)), ms(retrieved)))
		want := []normalize.Item{{Signal: events.SignalBattery, Data: events.BatteryData{PercentRemaining: 0.75, RangeKm: 160.9344},
			Key: "/battery", Time: oem, FetchedAt: retrieved}}
		if diff := cmp.Diff(want, r.Items); diff != "" {
			t.Errorf("items (-want +got):\n%s", diff)
		}
		if calls != 0 {
			t.Errorf("Previous called %d times for a complete signal", calls)
		}
	})
}

func TestFromWebhook_charge(t *testing.T) {
	cable := sig(smartcar.SignalIsChargingCable, `{"value":true}`, ms(oem), ms(retrieved))
	charging := sig(smartcar.SignalIsCharging, `{"value":false}`, ms(oem), ms(retrieved))
	detailed := sig(smartcar.SignalDetailedChargingStatus, `{"value":"FULLY_CHARGED"}`, ms(oem), ms(retrieved))
	tests := []struct {
		name    string
		signals []wireSignal
		want    events.ChargeData
	}{
		{"detailed status wins", []wireSignal{charging, detailed, cable}, events.ChargeData{IsPluggedIn: true, State: "FULLY_CHARGED"}},
		{"is charging alone", []wireSignal{charging, cable}, events.ChargeData{IsPluggedIn: true, State: "NOT_CHARGING"}},
		{"charging", []wireSignal{sig(smartcar.SignalIsCharging, `{"value":true}`, ms(oem), ms(retrieved)), cable},
			events.ChargeData{IsPluggedIn: true, State: "CHARGING"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := both(t, nil, tt.signals...)
			if len(r.Items) != 1 || r.Items[0].Signal != events.SignalCharge {
				t.Fatalf("items %+v, want one charge item (no generic left over)", r.Items)
			}
			if diff := cmp.Diff(tt.want, r.Items[0].Data); diff != "" {
				t.Errorf("charge (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromWebhook_closures(t *testing.T) {
	doors := sig(smartcar.SignalDoors, `{"values":[{"row":0,"column":0,"isOpen":true,"isLocked":false},{"row":0,"column":1,"isOpen":false,"isLocked":true},
		{"row":1,"column":0,"isOpen":false,"isLocked":true},{"row":1,"column":1,"isOpen":false,"isLocked":true}],"rowCount":2,"columnCount":2}`, ms(oem), ms(retrieved))
	windows := sig(smartcar.SignalWindows, `{"values":[{"row":0,"column":0,"isOpen":false},{"row":0,"column":1,"isOpen":false},{"row":0,"column":2,"isOpen":true}]}`,
		ms(oem), ms(retrieved))
	locked := sig(smartcar.SignalIsLocked, `{"value":false}`, ms(oem.Add(time.Minute)), ms(retrieved))
	r := both(t, nil, locked, doors, windows)
	f, tr := false, true
	want := map[string]any{
		"/security": events.LockStatusData{IsLocked: false,
			Doors: []events.Opening{{Type: "frontLeft", Status: "OPEN"}, {Type: "frontRight", Status: "CLOSED"},
				{Type: "backLeft", Status: "CLOSED"}, {Type: "backRight", Status: "CLOSED"}},
			Windows: []events.Opening{{Type: "row0Column0", Status: "CLOSED"}, {Type: "row0Column1", Status: "CLOSED"},
				{Type: "row0Column2", Status: "OPEN"}}},
		"doors": events.DoorsData{RowCount: 2, ColumnCount: 2, Doors: []events.Closure{
			{Row: 0, Column: 0, IsOpen: true, IsLocked: &f}, {Row: 0, Column: 1, IsLocked: &tr},
			{Row: 1, Column: 0, IsLocked: &tr}, {Row: 1, Column: 1, IsLocked: &tr}}},
		"windows": events.WindowsData{RowCount: 1, ColumnCount: 3, Windows: []events.Closure{
			{Row: 0, Column: 0}, {Row: 0, Column: 1}, {Row: 0, Column: 2, IsOpen: true}}},
	}
	got := map[string]any{}
	for k, it := range byKey(r.Items) {
		got[k] = it.Data
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	if it := byKey(r.Items)["/security"]; !it.Time.Equal(oem.Add(time.Minute)) {
		t.Errorf("lock_status time %s, want the latest oemUpdatedAt of its signals", it.Time)
	}

	// Without closure-islocked, the doors and windows still have their own
	// events, and lock_status waits for a previous event.
	r = both(t, nil, doors)
	if len(r.Items) != 1 || r.Items[0].Signal != events.SignalDoors {
		t.Errorf("items %+v, want the doors only", r.Items)
	}

	bad := map[string]string{
		"outside its grid": `{"values":[{"row":2,"column":0,"isOpen":true}],"rowCount":2,"columnCount":2}`,
		"twice":            `{"values":[{"row":0,"column":0,"isOpen":true},{"row":0,"column":0,"isOpen":false}]}`,
		"no isOpen":        `{"values":[{"row":0,"column":0}]}`,
		"no values":        `{"rowCount":2}`,
		"negative row":     `{"values":[{"row":-1,"column":0,"isOpen":true}]}`,
	}
	for name, body := range bad {
		t.Run(name, func(t *testing.T) {
			r := both(t, nil, locked, sig(smartcar.SignalDoors, body, ms(oem), ms(retrieved)))
			if diff := cmp.Diff([]string{smartcar.SignalDoors}, rejectedCodes(r)); diff != "" {
				t.Errorf("rejected (-want +got):\n%s", diff)
			}
			if len(r.Items) != 1 || r.Items[0].Signal != events.SignalLockStatus || r.Items[0].Data.(events.LockStatusData).Doors != nil {
				t.Errorf("items %+v, want lock_status without doors", r.Items)
			}
		})
	}
}

func TestFromWebhook_connectivity(t *testing.T) {
	online := sig(smartcar.SignalIsOnline, `{"value":true}`, ms(oem), ms(retrieved))
	asleep := sig(smartcar.SignalIsAsleep, `{"value":true}`, ms(oem), ms(retrieved))
	tr := true
	for name, tt := range map[string]struct {
		signals []wireSignal
		want    []normalize.Item
	}{
		"both": {[]wireSignal{online, asleep}, []normalize.Item{{Signal: events.SignalConnectivity, Key: "connectivity",
			Data: events.ConnectivityData{IsOnline: true, IsAsleep: &tr}, Time: oem, FetchedAt: retrieved}}},
		"online only": {[]wireSignal{online}, []normalize.Item{{Signal: events.SignalConnectivity, Key: "connectivity",
			Data: events.ConnectivityData{IsOnline: true}, Time: oem, FetchedAt: retrieved}}},
		"asleep only": {[]wireSignal{asleep}, []normalize.Item{{Signal: events.SignalGeneric, Key: "signals/" + smartcar.SignalIsAsleep,
			Data: events.SignalData{Code: smartcar.SignalIsAsleep, Body: json.RawMessage(`{"value":true}`), RetrievedAt: retrieved, OEMUpdatedAt: oem},
			Time: oem, FetchedAt: retrieved}}},
	} {
		t.Run(name, func(t *testing.T) {
			r := both(t, nil, tt.signals...)
			if diff := cmp.Diff(tt.want, r.Items); diff != "" {
				t.Errorf("items (-want +got):\n%s", diff)
			}
		})
	}
}

// Anything else goes out as it came; errors, unknown statuses, duplicates
// and bodies that do not fit are rejected.
func TestFromWebhook_genericAndRejected(t *testing.T) {
	gear := wireSignal{Code: smartcar.SignalGearState, Name: "GearState", Group: "Transmission", Body: json.RawMessage(`{"value":"D"}`),
		Meta: json.RawMessage(`{"retrievedAt":1777629600000,"oemUpdatedAt":1777629500000}`)}
	r := both(t, nil,
		gear,
		sig("climate-cabintemperature", `{"unit":"celsius","value":21.5}`, 0, 0),
		wireSignal{Code: smartcar.SignalFuelLevel, Status: json.RawMessage(`{"value":"ERROR","error":{"type":"COMPATIBILITY","code":"VEHICLE_NOT_CAPABLE"}}`)},
		sig(smartcar.SignalOdometer, `{"unit":"parsecs","value":1}`, 0, 0),
		sig(smartcar.SignalTires, `{"unit":"psi","values":[{"row":0,"column":0,"tirePressure":35}]}`, 0, 0),
		sig("bad.code", `{"value":1}`, 0, 0),
		sig(smartcar.SignalGearState, `{"value":"R"}`, 0, 0),
		sig(smartcar.SignalVIN, `{"value":null}`, 0, 0),
	)
	want := []normalize.Item{
		{Signal: events.SignalGeneric, Key: "signals/transmission-gearstate", Time: time.UnixMilli(1777629500000).UTC(),
			FetchedAt: time.UnixMilli(1777629600000).UTC(), Data: events.SignalData{Code: "transmission-gearstate", Group: "Transmission",
				Name: "GearState", Body: json.RawMessage(`{"value":"D"}`), RetrievedAt: time.UnixMilli(1777629600000).UTC(),
				OEMUpdatedAt: time.UnixMilli(1777629500000).UTC()}},
		{Signal: events.SignalGeneric, Key: "signals/climate-cabintemperature",
			Data: events.SignalData{Code: "climate-cabintemperature", Body: json.RawMessage(`{"unit":"celsius","value":21.5}`)}},
	}
	if diff := cmp.Diff(want, r.Items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	// Signals are refused as they are read, generic ones (a code that cannot
	// be a subject token) after.
	wantRejected := []string{smartcar.SignalFuelLevel, smartcar.SignalOdometer, smartcar.SignalTires, smartcar.SignalGearState, smartcar.SignalVIN, "bad.code"}
	if diff := cmp.Diff(wantRejected, rejectedCodes(r)); diff != "" {
		t.Errorf("rejected (-want +got):\n%s", diff)
	}
	if e, ok := smartcar.AsError(r.Rejected[0].Err); !ok || e.Code != "VEHICLE_NOT_CAPABLE" {
		t.Errorf("rejected fuel level: %v, want the signal's own error", r.Rejected[0].Err)
	}
	if !strings.Contains(r.Rejected[3].Err.Error(), "twice") {
		t.Errorf("second gear state: %v, want it refused as sent twice", r.Rejected[4].Err)
	}
}

// Imperial and other units convert with the same factors as v2 imperial.
func TestFromWebhook_units(t *testing.T) {
	r := both(t, nil,
		sig(smartcar.SignalOdometer, `{"unit":"miles","value":1000}`, 0, 0),
		sig(smartcar.SignalFuelLevel, `{"unit":"percent","value":50}`, 0, 0),
		sig(smartcar.SignalFuelAmount, `{"unit":"gallons","value":10}`, 0, 0),
		sig(smartcar.SignalFuelRange, `{"unit":"miles","value":300}`, 0, 0),
		sig(smartcar.SignalTires, `{"unit":"psi","values":[{"row":0,"column":0,"tirePressure":35},{"row":0,"column":1,"tirePressure":35},
			{"row":1,"column":0,"tirePressure":36},{"row":1,"column":1,"tirePressure":36}],"rowCount":2,"columnCount":2}`, 0, 0),
		sig(smartcar.SignalNominalCapacity, `{"unit":"kilowattHours","value":75}`, 0, 0),
	)
	item, err := itemFor(t, "/fuel", 200, []byte(`{"sc-unit-system":"imperial"}`), []byte(`{"amountRemaining":10,"percentRemaining":0.5,"range":300}`), smartcar.Metric)
	if err != nil {
		t.Fatal(err)
	}
	fuel, err := normalize.FromBatchItem(item, smartcar.Metric)
	if err != nil {
		t.Fatal(err)
	}
	item, err = itemFor(t, "/tires/pressure", 200, nil, []byte(`{"frontLeft":35,"frontRight":35,"backLeft":36,"backRight":36}`), smartcar.Imperial)
	if err != nil {
		t.Fatal(err)
	}
	tires, err := normalize.FromBatchItem(item, smartcar.Imperial)
	if err != nil {
		t.Fatal(err)
	}
	n := 75.0
	want := map[string]events.Data{
		"/odometer":                 events.OdometerData{DistanceKm: 1609.344},
		"/fuel":                     fuel.Data,
		"/tires/pressure":           tires.Data,
		"/battery/nominal_capacity": events.BatteryCapacityData{NominalKWh: &n},
	}
	got := map[string]events.Data{}
	for k, it := range byKey(r.Items) {
		got[k] = it.Data
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
}

func TestFromWebhook_notVehicleState(t *testing.T) {
	ev, err := smartcar.ParseWebhook([]byte(`{"eventId":"e","eventType":"VEHICLE_ERROR","data":{"errors":[{"type":"VEHICLE_STATE","code":"ASLEEP"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := normalize.FromWebhook(ev, nil); err == nil {
		t.Errorf("FromWebhook(VEHICLE_ERROR) = %+v, want an error", r)
	}
}

func TestFromSignals_vehicle(t *testing.T) {
	r, err := normalize.FromSignals(&smartcar.Signals{Vehicle: &smartcar.Info{ID: "veh-1", Make: "FORD", Model: "Mustang", Year: 2021}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []normalize.Item{{Signal: events.SignalInfo, Key: "/", Data: events.InfoData{Make: "FORD", Model: "Mustang", Year: 2021}}}
	if diff := cmp.Diff(want, r.Items); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	r, err = normalize.FromSignals(&smartcar.Signals{Vehicle: &smartcar.Info{ID: "veh-1", Make: "FORD"}}, nil)
	if err != nil || len(r.Items) != 0 || len(r.Rejected) != 1 {
		t.Errorf("FromSignals(vehicle without model) = %+v, %v; want it rejected", r, err)
	}
}
