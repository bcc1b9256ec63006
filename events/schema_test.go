package events_test

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/events"
)

// requiredData lists the data fields each schema must require.
var requiredData = map[events.Signal][]string{
	events.SignalInfo:            {"make", "model", "year"},
	events.SignalVIN:             {"vin"},
	events.SignalOdometer:        {"distance_km"},
	events.SignalLocation:        {"latitude", "longitude"},
	events.SignalBattery:         {"percent_remaining", "range_km"},
	events.SignalBatteryCapacity: {},
	events.SignalCharge:          {"is_plugged_in", "state"},
	events.SignalChargeLimit:     {"limit"},
	events.SignalFuel:            {"amount_remaining_l", "percent_remaining", "range_km"},
	events.SignalTirePressure:    {"front_left_kpa", "front_right_kpa", "back_left_kpa", "back_right_kpa"},
	events.SignalEngineOil:       {"life_remaining"},
	events.SignalLockStatus:      {"is_locked"},
	events.SignalDiagnostics:     {},
	events.SignalConnectivity:    {"is_online"},
	events.SignalDoors:           {"doors", "row_count", "column_count"},
	events.SignalWindows:         {"windows", "row_count", "column_count"},
	events.SignalGeneric:         {"code", "body"},
	events.SignalError:           {"path", "status_code", "type"},
	events.SignalStatus:          {"status", "reason"},
}

var envelopeRequired = []string{"specversion", "id", "source", "type", "subject", "datacontenttype", "dataschema", "data"}

// eventMap returns the sample event of s as a JSON object to mutate.
func eventMap(t *testing.T, s events.Signal) map[string]any {
	t.Helper()
	b, err := json.Marshal(sampleEvent(t, s, "36ab27d0-fd9d-4455-823a-ce30af709ffc"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidate_samples(t *testing.T) {
	if got, want := len(samples), len(events.Signals()); got != want {
		t.Fatalf("samples cover %d signals, want %d", got, want)
	}
	for _, s := range events.Signals() {
		t.Run(string(s), func(t *testing.T) {
			b := mustJSON(t, sampleEvent(t, s, "36ab27d0-fd9d-4455-823a-ce30af709ffc"))
			if err := events.Validate(b); err != nil {
				t.Errorf("Validate(%s) = %v, want nil", b, err)
			}
		})
	}
}

func TestValidate_minimal(t *testing.T) {
	tests := map[events.Signal]any{
		events.SignalBatteryCapacity: events.BatteryCapacityData{},
		events.SignalLockStatus:      events.LockStatusData{IsLocked: false},
		events.SignalDiagnostics:     events.DiagnosticsData{ActiveCodes: []events.TroubleCode{{Code: "P0001"}}},
		events.SignalError:           events.ErrorData{Path: "/odometer", Type: "SDK_ERROR"},
		events.SignalStatus:          events.StatusData{Status: events.StatusConnected},
		events.SignalFuel:            events.FuelData{},
		events.SignalConnectivity:    events.ConnectivityData{},
		events.SignalDoors:           events.DoorsData{Doors: []events.Closure{}},
		events.SignalWindows:         events.WindowsData{Windows: []events.Closure{}},
		events.SignalGeneric:         events.SignalData{Code: "x"},
	}
	for s, data := range tests {
		t.Run(string(s), func(t *testing.T) {
			ev, err := events.New(s, "v1", data, events.Meta{ID: events.EventID("j", "p")})
			if err != nil {
				t.Fatal(err)
			}
			if err := events.Validate(mustJSON(t, ev)); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidate_rejects(t *testing.T) {
	type mutation struct {
		name   string
		signal events.Signal
		mutate func(ev, data map[string]any)
	}
	set := func(k string, v any) func(ev, data map[string]any) {
		return func(_, data map[string]any) { data[k] = v }
	}
	var tests []mutation
	for _, s := range events.Signals() {
		for _, k := range envelopeRequired {
			tests = append(tests, mutation{"missing " + k, s, func(ev, _ map[string]any) { delete(ev, k) }})
		}
		for _, k := range requiredData[s] {
			tests = append(tests, mutation{"missing data." + k, s, func(_, data map[string]any) { delete(data, k) }})
		}
		tests = append(tests,
			mutation{"extra data field", s, set("extra", 1)},
			mutation{"extra attribute", s, func(ev, _ map[string]any) { ev["vehicle"] = "v1" }},
			mutation{"data not an object", s, func(ev, _ map[string]any) { ev["data"] = "odometer" }},
			mutation{"specversion 0.3", s, func(ev, _ map[string]any) { ev["specversion"] = "0.3" }},
			mutation{"dataschema of other signal", s, func(ev, _ map[string]any) {
				other := events.SignalOdometer
				if s == other {
					other = events.SignalFuel
				}
				ev["dataschema"] = events.SchemaURL(other)
			}},
			mutation{"time not a date-time", s, func(ev, _ map[string]any) { ev["time"] = "yesterday" }},
			mutation{"fetchedat not a date-time", s, func(ev, _ map[string]any) { ev["fetchedat"] = 1700000000 }},
			mutation{"subject with a dot", s, func(ev, _ map[string]any) { ev["subject"] = "a.b" }},
			mutation{"empty id", s, func(ev, _ map[string]any) { ev["id"] = "" }},
			mutation{"content type", s, func(ev, _ map[string]any) { ev["datacontenttype"] = "text/plain" }},
		)
	}
	tests = append(tests,
		mutation{"percent_remaining > 1", events.SignalBattery, set("percent_remaining", 1.01)},
		mutation{"percent_remaining as percent", events.SignalFuel, set("percent_remaining", 75)},
		mutation{"percent_remaining < 0", events.SignalFuel, set("percent_remaining", -0.1)},
		mutation{"limit > 1", events.SignalChargeLimit, set("limit", 80)},
		mutation{"life_remaining > 1", events.SignalEngineOil, set("life_remaining", 1.5)},
		mutation{"latitude > 90", events.SignalLocation, set("latitude", 91)},
		mutation{"longitude < -180", events.SignalLocation, set("longitude", -180.5)},
		mutation{"negative distance", events.SignalOdometer, set("distance_km", -1)},
		mutation{"distance as string", events.SignalOdometer, set("distance_km", "104.32")},
		mutation{"year not integer", events.SignalInfo, set("year", 2014.5)},
		mutation{"year as string", events.SignalInfo, set("year", "2014")},
		mutation{"plugged in as string", events.SignalCharge, set("is_plugged_in", "true")},
		mutation{"unknown charge state", events.SignalCharge, set("state", "charging")},
		mutation{"unknown status", events.SignalStatus, set("status", "asleep")},
		mutation{"unknown previous status", events.SignalStatus, set("previous", "")},
		mutation{"unknown opening status", events.SignalLockStatus, set("doors", []any{map[string]any{"type": "frontLeft", "status": "AJAR"}})},
		mutation{"opening without type", events.SignalLockStatus, set("doors", []any{map[string]any{"status": "OPEN"}})},
		mutation{"empty diagnostics", events.SignalDiagnostics, func(ev, _ map[string]any) { ev["data"] = map[string]any{} }},
		mutation{"unknown system status", events.SignalDiagnostics, set("systems", []any{map[string]any{"system_id": "X", "status": "BAD"}})},
		mutation{"bad dtc timestamp", events.SignalDiagnostics, set("active_codes", []any{map[string]any{"code": "P1", "timestamp": "soon"}})},
		mutation{"capacity source", events.SignalBatteryCapacity, set("source", "GUESS")},
		mutation{"capacity url", events.SignalBatteryCapacity, set("url", "https://connect.smartcar.com/battery-capacity?token=secret")},
		mutation{"status code 600", events.SignalError, set("status_code", 600)},
		mutation{"relative path", events.SignalError, set("path", "odometer")},
		mutation{"negative retry after", events.SignalError, set("retry_after_s", -1)},
		mutation{"vin too long", events.SignalVIN, set("vin", "5YJSA1CN5DFP001010")},
		mutation{"asleep as string", events.SignalConnectivity, set("is_asleep", "yes")},
		mutation{"door without row", events.SignalDoors, set("doors", []any{map[string]any{"column": 0, "is_open": true}})},
		mutation{"negative door row", events.SignalDoors, set("doors", []any{map[string]any{"row": -1, "column": 0, "is_open": true}})},
		mutation{"door open as string", events.SignalDoors, set("doors", []any{map[string]any{"row": 0, "column": 0, "is_open": "no"}})},
		mutation{"negative row count", events.SignalDoors, set("row_count", -1)},
		mutation{"window with extra field", events.SignalWindows, set("windows", []any{map[string]any{"row": 0, "column": 0, "is_open": true, "tint": 1}})},
		mutation{"windows under doors", events.SignalWindows, func(_, data map[string]any) { data["doors"] = data["windows"]; delete(data, "windows") }},
		mutation{"dotted code", events.SignalGeneric, set("code", "a.b")},
		mutation{"empty code", events.SignalGeneric, set("code", "")},
		mutation{"retrieved_at not a date-time", events.SignalGeneric, set("retrieved_at", "now")},
		mutation{"fuel data on odometer", events.SignalOdometer, func(ev, _ map[string]any) {
			ev["data"] = map[string]any{"amount_remaining_l": 19.5, "percent_remaining": 0.75, "range_km": 320.4}
		}},
	)
	for _, tt := range tests {
		t.Run(string(tt.signal)+"/"+tt.name, func(t *testing.T) {
			ev := eventMap(t, tt.signal)
			data, _ := ev["data"].(map[string]any)
			before := string(mustJSON(t, ev))
			tt.mutate(ev, data)
			b := mustJSON(t, ev)
			if string(b) == before {
				t.Fatalf("mutation changed nothing: %s", b)
			}
			err := events.Validate(b)
			if err == nil {
				t.Fatalf("Validate(%s) = nil, want an error", b)
			}
			if !errors.Is(err, events.ErrInvalidEvent) {
				t.Errorf("Validate() error = %v, want it to wrap ErrInvalidEvent", err)
			}
		})
	}
}

func TestValidate_malformed(t *testing.T) {
	for name, in := range map[string]string{
		"not json":     `{"specversion":`,
		"two values":   `{} {}`,
		"array":        `[]`,
		"unknown type": `{"type":"smartcar.vehicle.speed.v1"}`,
		"no type":      `{"id":"x"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if err := events.Validate([]byte(in)); err == nil {
				t.Errorf("Validate(%s) = nil, want an error", in)
			}
		})
	}
}

func TestSchema(t *testing.T) {
	files, err := os.ReadDir("schemas")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Name())
	}
	want := []string{"envelope.v1.json"}
	for _, s := range events.Signals() {
		want = append(want, string(s)+".v1.json")
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("schema files mismatch (-want +got):\n%s", diff)
	}
	for _, s := range events.Signals() {
		t.Run(string(s), func(t *testing.T) {
			var doc struct {
				Schema string `json:"$schema"`
				ID     string `json:"$id"`
				Title  string `json:"title"`
			}
			if err := json.Unmarshal(events.Schema(s), &doc); err != nil {
				t.Fatalf("Schema(%s) is not JSON: %v", s, err)
			}
			want := struct{ Schema, ID, Title string }{"https://json-schema.org/draft/2020-12/schema", events.SchemaURL(s), s.Type()}
			if diff := cmp.Diff(want, struct{ Schema, ID, Title string }(doc)); diff != "" {
				t.Errorf("Schema(%s) header mismatch (-want +got):\n%s", s, diff)
			}
		})
	}
	if b := events.Schema("speed"); b != nil {
		t.Errorf(`Schema("speed") = %s, want nil`, b)
	}
	if !json.Valid(events.EnvelopeSchema()) {
		t.Error("EnvelopeSchema() is not valid JSON")
	}
}

func TestValidate_statuses(t *testing.T) {
	for _, st := range events.Statuses() {
		t.Run(string(st), func(t *testing.T) {
			ev, err := events.New(events.SignalStatus, "v1", events.StatusData{Status: st, Reason: "test", Previous: st},
				events.Meta{ID: events.StatusEventID("job", st), Time: dataAge})
			if err != nil {
				t.Fatal(err)
			}
			if err := events.Validate(mustJSON(t, ev)); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
	if got := len(events.Statuses()); got != 6 {
		t.Errorf("len(Statuses()) = %d, want 6", got)
	}
}
