package normalize_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// fuzzPaths are every path normalize knows, plus one it does not.
var fuzzPaths = append(normalize.Paths(), "/tesla/charge/ammeter")

// FuzzNormalize runs any batch item (path, status code, headers, body, unit
// system) through the SDK's batch parsing and FromBatchItem. Nothing panics;
// a success gives the path's signal and an event that passes its JSON
// Schema.
func FuzzNormalize(f *testing.F) {
	bodies := map[string]string{
		"/":                          `{"id":"v","make":"TESLA","model":"Model 3","year":2020}`,
		"/vin":                       `{"vin":"5YJ3E1EA1KF000001"}`,
		"/odometer":                  `{"distance":1234.5}`,
		"/location":                  `{"latitude":51.5,"longitude":-0.12}`,
		"/battery":                   `{"percentRemaining":0.5,"range":300}`,
		"/battery/capacity":          `{"capacity":75}`,
		"/battery/nominal_capacity":  `{"availableCapacities":[{"capacity":75,"description":null}],"capacity":{"nominal":75,"source":"SMARTCAR"},"url":null}`,
		"/charge":                    `{"isPluggedIn":true,"state":"CHARGING"}`,
		"/charge/limit":              `{"limit":0.8}`,
		"/fuel":                      `{"amountRemaining":30,"percentRemaining":0.6,"range":500}`,
		"/tires/pressure":            `{"frontLeft":230,"frontRight":230,"backLeft":240,"backRight":240}`,
		"/engine/oil":                `{"lifeRemaining":0.7}`,
		"/security":                  `{"isLocked":false,"doors":[{"type":"frontLeft","status":"UNLOCKED"}],"chargingPort":[]}`,
		"/diagnostics/system_status": `{"systems":[{"systemId":"SYSTEM_TPMS","status":"ALERT","description":"low"}]}`,
		"/diagnostics/dtcs":          `{"activeCodes":[{"code":"P0300","timestamp":"2024-01-01T00:00:00.000Z"}]}`,
	}
	for i, p := range fuzzPaths {
		body, ok := bodies[p]
		if !ok {
			body = `{"amperage":7}`
		}
		f.Add(uint8(i), 200, []byte(`{"sc-unit-system":"imperial","sc-data-age":"2024-05-01T10:00:00Z","sc-request-id":"r"}`), []byte(body), false)
		f.Add(uint8(i), 200, []byte(nil), []byte(body), true)
		f.Add(uint8(i), 200, []byte(nil), []byte(`{}`), false)
		f.Add(uint8(i), 200, []byte(nil), []byte(`null`), false)
	}
	f.Add(pathIndex("/"), 200, []byte(nil), []byte(`{"make":"","model":"x","year":1800}`), false)
	f.Add(pathIndex("/odometer"), 200, []byte(nil), []byte(`{"distance":1.7e308}`), true)
	f.Add(pathIndex("/odometer"), 200, []byte(nil), []byte(`{"distance":-1}`), false)
	f.Add(pathIndex("/odometer"), 200, []byte(nil), []byte(`{"distance":"12"}`), false)
	f.Add(pathIndex("/odometer"), 200, []byte(`{"sc-data-age":"9999-12-31T23:59:59-23:59"}`), []byte(`{"distance":1}`), false)
	f.Add(pathIndex("/odometer"), 200, []byte(`{"sc-data-age":"0000-01-01T00:00:00+01:00"}`), []byte(`{"distance":1}`), false)
	f.Add(pathIndex("/location"), 200, []byte(nil), []byte(`[1,2]`), false)
	f.Add(pathIndex("/location"), 200, []byte(nil), []byte(`{"latitude":200,"longitude":0}`), false)
	f.Add(pathIndex("/battery"), 200, []byte(nil), []byte(`{"percentRemaining":5,"range":1}`), false)
	f.Add(pathIndex("/diagnostics/dtcs"), 200, []byte(nil), []byte(`{"activeCodes":[]}`), false)
	f.Add(pathIndex("/diagnostics/dtcs"), 200, []byte(nil), []byte(`{"activeCodes":[{"code":"P1","timestamp":"0000-01-01T00:00:00+23:59"}]}`), false)
	f.Add(pathIndex("/diagnostics/system_status"), 200, []byte(nil), []byte(`{"systems":[{"systemId":"","status":"OK"}]}`), false)
	f.Add(pathIndex("/security"), 200, []byte(nil), []byte(`{"isLocked":true,"doors":[{"type":"d","status":"AJAR"}]}`), false)
	f.Add(pathIndex("/charge"), 700, []byte(nil), []byte(`{}`), false)
	f.Add(pathIndex("/charge"), 429, []byte(`{"retry-after":"1e9"}`), []byte(`{"type":"RATE_LIMIT","code":"VEHICLE"}`), false)
	f.Add(pathIndex("/vin"), 200, []byte(`["x"]`), []byte(`{"vin":"x"}`), false)
	f.Add(pathIndex("/vin"), 200, []byte(nil), []byte(`{"vin":"`+strings.Repeat("A", 18)+`"}`), false)
	f.Add(pathIndex("/vin"), 200, []byte(nil), []byte(strings.Repeat("[", 3000)+strings.Repeat("]", 3000)), false)
	f.Fuzz(func(t *testing.T, pathIdx uint8, code int, headers, body []byte, imperial bool) {
		unit := smartcar.Metric
		if imperial {
			unit = smartcar.Imperial
		}
		path := fuzzPaths[int(pathIdx)%len(fuzzPaths)]
		item, err := itemFor(t, path, code, headers, body, unit)
		if err != nil {
			if _, ok := smartcar.AsError(err); !ok {
				t.Fatalf("batch error %v is a %T, want *smartcar.Error", err, err)
			}
			return
		}
		it, err := normalize.FromBatchItem(item, unit)
		if err != nil {
			return
		}
		if item.Err != nil {
			t.Fatalf("FromBatchItem accepted a failed item: %v", item.Err)
		}
		if want, _ := normalize.SignalForPath(path); it.Signal != want || it.Key != path {
			t.Fatalf("FromBatchItem(%s) gave signal %s, key %s; want %s, %s", path, it.Signal, it.Key, want, path)
		}
		eventOf(t, "veh-1", it)
	})
}

func pathIndex(p string) uint8 { return uint8(slices.Index(fuzzPaths, p)) }

// fuzzCodes are every code the simulator serves, plus one nobody knows.
var fuzzCodes = append(smartcartest.SignalCodes(), "climate-cabintemperature")

// FuzzFromSignals runs any signal (code, body, status, meta) of a
// VEHICLE_STATE webhook, beside a valid odometer, through
// smartcar.ParseWebhook and FromWebhook. Nothing panics; every item gives an
// event that passes its JSON Schema, and every signal is either part of an
// item or rejected.
func FuzzFromSignals(f *testing.F) {
	bodies := map[string]string{
		smartcar.SignalLocation:        `{"latitude":51.5,"longitude":-0.12,"heading":90,"direction":"E","locationType":"CURRENT"}`,
		smartcar.SignalStateOfCharge:   `{"percentage":75}`,
		smartcar.SignalBatteryRange:    `{"unit":"miles","value":200}`,
		smartcar.SignalTires:           `{"unit":"psi","values":[{"row":0,"column":0,"tirePressure":35},{"row":0,"column":1,"tirePressure":35},{"row":1,"column":0,"tirePressure":36},{"row":1,"column":1,"tirePressure":36}],"rowCount":2,"columnCount":2}`,
		smartcar.SignalDoors:           `{"values":[{"row":0,"column":0,"isOpen":true,"isLocked":false}],"rowCount":1,"columnCount":1}`,
		smartcar.SignalWindows:         `{"values":[{"row":0,"column":0,"isOpen":false}]}`,
		smartcar.SignalChargeLimits:    `{"activeLimit":80,"unit":"percent","values":[{"type":"GLOBAL","limit":80}]}`,
		smartcar.SignalVIN:             `{"value":"5YJ3E1EA1KF000001"}`,
		smartcar.SignalNominalCapacity: `{"unit":"kilowattHours","value":75}`,
		smartcar.SignalGearState:       `{"value":"D"}`,
	}
	meta := []byte(`{"retrievedAt":1764222000000,"oemUpdatedAt":1764221940000}`)
	for i, c := range fuzzCodes {
		body, ok := bodies[c]
		if !ok {
			body = `{"unit":"percent","value":50}`
		}
		f.Add(uint8(i), []byte(body), []byte(nil), meta)
		f.Add(uint8(i), []byte(`{"value":true}`), []byte(nil), []byte(nil))
		f.Add(uint8(i), []byte(`null`), []byte(`{"value":"ERROR","error":{"type":"COMPATIBILITY","code":"VEHICLE_NOT_CAPABLE"}}`), meta)
	}
	f.Add(uint8(slices.Index(fuzzCodes, smartcar.SignalLocation)), []byte(`{"latitude":200,"longitude":0}`), []byte(nil), meta)
	f.Add(uint8(slices.Index(fuzzCodes, smartcar.SignalStateOfCharge)), []byte(`{"unit":"percent","value":150}`), []byte(nil), meta)
	f.Add(uint8(slices.Index(fuzzCodes, smartcar.SignalDoors)), []byte(`{"values":[{"row":0,"column":0,"isOpen":true},{"row":0,"column":0,"isOpen":true}]}`), []byte(nil), meta)
	f.Add(uint8(slices.Index(fuzzCodes, smartcar.SignalOdometer)), []byte(`{"unit":"parsecs","value":1}`), []byte(nil), []byte(`{"retrievedAt":-1,"oemUpdatedAt":"soon"}`))
	f.Fuzz(func(t *testing.T, codeIdx uint8, body, status, meta []byte) {
		code := fuzzCodes[int(codeIdx)%len(fuzzCodes)]
		s := wireSignal{Code: code, Body: rawOrString(body), Meta: rawOrString(meta)}
		if len(status) > 0 {
			s.Status = rawOrString(status)
		}
		odo := sig(smartcar.SignalOdometer, `{"unit":"kilometers","value":10}`, 1764221940000, 1764222000000)
		if code == smartcar.SignalOdometer {
			odo.Code = "odometer-other"
		}
		b, err := json.Marshal(map[string]any{"eventId": "e1", "eventType": "VEHICLE_STATE",
			"data": map[string]any{"vehicle": map[string]any{"id": "veh-1"}, "signals": []wireSignal{odo, s}}})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := smartcar.ParseWebhook(b)
		if err != nil {
			return
		}
		r, err := normalize.FromWebhook(ev, nil)
		if err != nil {
			t.Fatalf("FromWebhook() error = %v", err)
		}
		for _, it := range r.Items {
			eventOf(t, "veh-1", it)
		}
		if got, want := len(r.Items)+len(r.Rejected), 2; got < 1 || got > want {
			t.Fatalf("%d items and %d rejected for 2 signals: %+v", len(r.Items), len(r.Rejected), r)
		}
	})
}

// TestFromBatchItem_hostileBodies: items with the wrong shape or impossible
// values are rejected.
func TestFromBatchItem_hostileBodies(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 3000) + "1" + strings.Repeat("}", 3000)
	tests := []struct {
		path, body, want string
	}{
		{"/odometer", `{"distance":"12"}`, "decode /odometer"},
		{"/odometer", `[{"distance":12}]`, "decode /odometer"},
		{"/odometer", `{}`, `missing "distance"`},
		{"/odometer", `null`, "not a JSON object"},
		{"/odometer", `{"distance":null}`, `missing "distance"`},
		{"/odometer", `{"distance":1,"distance":null}`, `missing "distance"`},
		{"/odometer", `{"distance":-3}`, "distance -3 is negative"},
		{"/odometer", `{"distance":1e999}`, "decode /odometer"},
		{"/odometer", deep, `missing "distance"`},
		{"/location", `{"latitude":91,"longitude":0}`, "latitude 91 is outside"},
		{"/location", `{"latitude":200,"longitude":0}`, "latitude 200 is outside"},
		{"/location", `{"latitude":"north","longitude":0}`, "decode /location"},
		{"/location", `{"longitude":0}`, `missing "latitude"`},
		{"/battery", `{"percentRemaining":50,"range":100}`, "percentRemaining 50 is outside"},
		{"/battery", `{"percentRemaining":0.5}`, `missing "range"`},
		{"/fuel", `{"amountRemaining":-1,"percentRemaining":0.5,"range":1}`, "amountRemaining -1"},
		{"/charge", `{"isPluggedIn":"yes","state":"CHARGING"}`, "decode /charge"},
		{"/charge", `{"isPluggedIn":true,"state":"SLEEPING"}`, `state "SLEEPING"`},
		{"/charge/limit", `{"limit":80}`, "limit 80 is outside"},
		{"/engine/oil", `{"lifeRemaining":-0.1}`, "lifeRemaining -0.1"},
		{"/tires/pressure", `{"frontLeft":1,"frontRight":1,"backLeft":1}`, `missing "backRight"`},
		{"/security", `{"isLocked":true,"doors":{"frontLeft":"OPEN"}}`, "decode /security"},
		{"/security", `{"isLocked":true,"doors":[{"type":"","status":"OPEN"}]}`, "opening type is empty"},
		{"/security", `{"doors":[]}`, `missing "isLocked"`},
		{"/", `{"make":"TESLA","model":"3","year":"2020"}`, "decode /"},
		{"/", `{"make":"TESLA","model":"3","year":3000}`, "year 3000 is outside"},
		{"/vin", `{"vin":"not a vin!"}`, "is not 1-17 letters"},
		{"/battery/nominal_capacity", `{"capacity":{"nominal":75,"source":"GUESS"}}`, `source "GUESS"`},
		{"/diagnostics/system_status", `{"systems":[{"systemId":"X","status":"BROKEN"}]}`, `system status "BROKEN"`},
		{"/diagnostics/system_status", `{}`, `missing "systems"`},
		{"/diagnostics/dtcs", `{"activeCodes":[{"code":""}]}`, "trouble code is empty"},
		{"/diagnostics/dtcs", `{"activeCodes":[{"code":"P1","timestamp":"yesterday"}]}`, "decode /diagnostics/dtcs"},
		{"/tesla/charge/ammeter", `{"amperage":7}`, `no signal for path`},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.body[:min(len(tt.body), 40)], func(t *testing.T) {
			item, err := itemFor(t, tt.path, 200, nil, []byte(tt.body), smartcar.Metric)
			if err != nil {
				t.Fatalf("batch: %v", err)
			}
			it, err := normalize.FromBatchItem(item, smartcar.Metric)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("FromBatchItem() = %+v, %v; want an error containing %q", it, err, tt.want)
			}
		})
	}
}

// TestFromBatchItem_edgeValues: values at the edges of the schemas, and
// empty lists, are accepted.
func TestFromBatchItem_edgeValues(t *testing.T) {
	tests := []struct{ path, body string }{
		{"/diagnostics/dtcs", `{"activeCodes":[]}`},
		{"/diagnostics/system_status", `{"systems":[]}`},
		{"/battery", `{"percentRemaining":1,"range":0}`},
		{"/location", `{"latitude":-90,"longitude":180}`},
		{"/location", `{"latitude":0,"longitude":0}`},
		{"/battery/nominal_capacity", `{"availableCapacities":[],"capacity":null,"url":null}`},
		{"/", `{"make":"FORD","model":"F","year":1900}`},
		{"/security", `{"isLocked":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.body, func(t *testing.T) {
			item, err := itemFor(t, tt.path, 200, nil, []byte(tt.body), smartcar.Metric)
			if err != nil {
				t.Fatalf("batch: %v", err)
			}
			it, err := normalize.FromBatchItem(item, smartcar.Metric)
			if err != nil {
				t.Fatalf("FromBatchItem(%s): %v", tt.body, err)
			}
			eventOf(t, "veh-1", it)
		})
	}
}

// A failed item is no data.
func TestFromBatchItem_failedItem(t *testing.T) {
	item, err := itemFor(t, "/odometer", 409, nil, []byte(`{"type":"VEHICLE_STATE","code":"ASLEEP"}`), smartcar.Metric)
	if err != nil {
		t.Fatal(err)
	}
	if it, err := normalize.FromBatchItem(item, smartcar.Metric); err == nil {
		t.Fatalf("FromBatchItem(409) = %+v, want an error", it)
	}
}
