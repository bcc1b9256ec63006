package smartcar_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

const batchReply = `{"responses":[
 {"path":"/odometer","code":200,"headers":{"sc-unit-system":"imperial","sc-data-age":"2019-10-24T00:43:46.000Z","sc-fetched-at":"2019-10-24T00:44:00.000Z"},"body":{"distance":37829}},
 {"path":"/engine/oil","code":429,"headers":{"retry-after":999},"body":{"type":"RATE_LIMIT","code":"VEHICLE","statusCode":429,"resolution":{"type":"RETRY_LATER"},"requestId":"inner","description":"slow"}},
 {"path":"/fuel","code":409,"body":{"error":"vehicle_state_error","message":"asleep","code":"VS_000"}},
 {"path":"/","code":200,"headers":{"sc-unit-system":"imperial"},"body":{"id":"vid","make":"TESLA","model":"Model S","year":2014}},
 {"path":"/tesla/speedometer","code":200,"headers":{"X-Custom":"a, b","sc-unit-system":null,"x-empty":""},"body":{"speed":42}},
 {"path":"/not/asked","code":200,"body":{}}
]}`

func TestClient_Batch(t *testing.T) {
	srv := serve(t, reply{header: map[string]string{"SC-Request-Id": "outer-1", "Content-Type": "application/json"}, body: batchReply})
	c := srv.client(smartcar.WithUnitSystem(smartcar.Imperial))
	paths := []string{"odometer", "/engine/oil/", "/fuel", "/", "/tesla/speedometer", "/location", "/odometer"}
	b, err := c.Batch(context.Background(), "tok", "vid", paths)
	if err != nil {
		t.Fatalf("batch: %v", err)
	}

	req := srv.last(t)
	checkRequest(t, req, http.MethodPost, "/v2.0/vehicles/vid/batch", nil,
		`{"requests":[{"path":"/odometer"},{"path":"/engine/oil"},{"path":"/fuel"},{"path":"/"},{"path":"/tesla/speedometer"},{"path":"/location"}]}`)
	checkHeaders(t, req.Header, map[string]string{
		"Authorization": "Bearer tok", "Sc-Unit-System": "imperial", "Content-Type": "application/json", "User-Agent": wantUserAgent(),
	})
	if b.Meta.RequestID != "outer-1" {
		t.Errorf("batch request id = %q, want outer-1", b.Meta.RequestID)
	}

	t.Run("odometer", func(t *testing.T) {
		got, err := b.Odometer()
		if err != nil {
			t.Fatalf("odometer: %v", err)
		}
		want := &smartcar.Odometer{Distance: 37829, Meta: smartcar.Meta{
			RequestID:  "outer-1",
			DataAge:    time.Date(2019, 10, 24, 0, 43, 46, 0, time.UTC),
			FetchedAt:  time.Date(2019, 10, 24, 0, 44, 0, 0, time.UTC),
			UnitSystem: smartcar.Imperial,
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("odometer (-want +got):\n%s", diff)
		}
	})
	t.Run("rate limited item", func(t *testing.T) {
		got, err := b.EngineOil()
		if got != nil {
			t.Errorf("engine oil = %+v, want nil", got)
		}
		e := checkErr(t, err, smartcar.TypeRateLimit, "VEHICLE")
		want := smartcar.Error{StatusCode: 429, Type: "RATE_LIMIT", Code: "VEHICLE", Description: "slow", RequestID: "outer-1",
			Resolution: smartcar.Resolution{Type: "RETRY_LATER"}, RetryAfter: 999 * time.Second}
		if diff := cmp.Diff(want, *e, ignoreErr); diff != "" {
			t.Errorf("error (-want +got):\n%s", diff)
		}
		if d, ok := smartcar.RetryAfter(err); !ok || d != 999*time.Second {
			t.Errorf("RetryAfter = %v, %v; want 999s", d, ok)
		}
	})
	t.Run("v1 item error", func(t *testing.T) {
		_, err := b.Fuel()
		e := checkErr(t, err, smartcar.TypeVehicleState, "VS_000")
		if e.StatusCode != 409 || e.RetryAfter != 0 || e.RequestID != "outer-1" {
			t.Errorf("error = %+v, want status 409, no retry-after, outer request id", e)
		}
	})
	t.Run("attributes", func(t *testing.T) {
		got, err := b.Info()
		if err != nil {
			t.Fatalf("info: %v", err)
		}
		want := &smartcar.Info{ID: "vid", Make: "TESLA", Model: "Model S", Year: 2014,
			Meta: smartcar.Meta{RequestID: "outer-1", UnitSystem: smartcar.Imperial}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("info (-want +got):\n%s", diff)
		}
	})
	t.Run("make specific path", func(t *testing.T) {
		it, ok := b.Item("tesla/speedometer")
		if !ok {
			t.Fatal("no item for tesla/speedometer")
		}
		var got struct{ Speed float64 }
		if err := it.Decode(&got); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if got.Speed != 42 || it.StatusCode != 200 {
			t.Errorf("speed %v status %d, want 42 and 200", got.Speed, it.StatusCode)
		}
		wantHeaders := http.Header{"X-Custom": {"a, b"}, "X-Empty": {""}}
		if diff := cmp.Diff(wantHeaders, it.Headers); diff != "" {
			t.Errorf("headers (-want +got):\n%s", diff)
		}
	})
	t.Run("requested but missing", func(t *testing.T) {
		_, err := b.Location()
		e := checkErr(t, err, smartcar.TypeSDK, "MISSING_ITEM")
		if e.RequestID != "outer-1" {
			t.Errorf("request id = %q, want outer-1", e.RequestID)
		}
		it, _ := b.Item("/location")
		if err := it.Decode(&struct{}{}); err == nil {
			t.Error("Decode of a missing item succeeded")
		}
	})
	t.Run("not requested", func(t *testing.T) {
		accessors := map[string]func() error{
			"vin":              func() error { _, err := b.VIN(); return err },
			"battery":          func() error { _, err := b.Battery(); return err },
			"battery capacity": func() error { _, err := b.BatteryCapacity(); return err },
			"nominal capacity": func() error { _, err := b.NominalCapacity(); return err },
			"charge":           func() error { _, err := b.Charge(); return err },
			"charge limit":     func() error { _, err := b.ChargeLimit(); return err },
			"tire pressure":    func() error { _, err := b.TirePressure(); return err },
			"lock status":      func() error { _, err := b.LockStatus(); return err },
			"system status":    func() error { _, err := b.DiagnosticSystemStatus(); return err },
			"dtcs":             func() error { _, err := b.DiagnosticTroubleCodes(); return err },
		}
		for name, call := range accessors {
			t.Run(name, func(t *testing.T) { checkErr(t, call(), smartcar.TypeValidation, "NOT_REQUESTED") })
		}
	})
	t.Run("items in request order, extras last", func(t *testing.T) {
		var got []string
		for _, it := range b.Items() {
			got = append(got, it.Path)
		}
		want := []string{"/odometer", "/engine/oil", "/fuel", "/", "/tesla/speedometer", "/location", "/not/asked"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("paths (-want +got):\n%s", diff)
		}
	})
}

func TestVehicle_Batch(t *testing.T) {
	reply200 := `{"responses":[
	 {"path":"/battery","code":200,"body":{"percentRemaining":0.5,"range":100}},
	 {"path":"/battery/capacity","code":200,"body":{"capacity":75}},
	 {"path":"/battery/nominal_capacity","code":200,"body":{"availableCapacities":[],"capacity":null,"url":"https://x"}},
	 {"path":"/charge","code":200,"body":{"isPluggedIn":true,"state":"FULLY_CHARGED"}},
	 {"path":"/charge/limit","code":200,"body":{"limit":0.9}},
	 {"path":"/tires/pressure","code":200,"body":{"frontLeft":1,"frontRight":2,"backLeft":3,"backRight":4}},
	 {"path":"/security","code":200,"body":{"isLocked":false}},
	 {"path":"/diagnostics/system_status","code":200,"body":{"systems":[]}},
	 {"path":"/diagnostics/dtcs","code":200,"body":{"activeCodes":[]}},
	 {"path":"/vin","code":200,"headers":{"sc-request-id":"x","note":"a\"b","nested":{"k":1}},"body":{"vin":"V"}},
	 {"path":"/location","code":200,"headers":null,"body":{"latitude":1,"longitude":2}},
	 {"path":"/fuel","code":200,"headers":{},"body":{"amountRemaining":1,"percentRemaining":0.5,"range":9}}
	]}`
	srv := serve(t, reply{header: map[string]string{"SC-Request-Id": "outer"}, body: reply200})
	v := srv.client().Vehicle("vid", "tok", smartcar.WithVehicleFlags(smartcar.Flags{"beta": true}))
	b, err := v.Batch(context.Background(), []string{
		"/battery", "/battery/capacity", "/battery/nominal_capacity", "/charge", "/charge/limit", "/tires/pressure",
		"/security", "/diagnostics/system_status", "/diagnostics/dtcs", "/vin", "/location", "/fuel",
	})
	if err != nil {
		t.Fatalf("batch: %v", err)
	}
	req := srv.last(t)
	if req.Path != "/v2.0/vehicles/vid/batch" || req.RawQuery != "flags=beta%3Atrue" {
		t.Errorf("request %s?%s, want /v2.0/vehicles/vid/batch?flags=beta%%3Atrue", req.Path, req.RawQuery)
	}
	checkHeaders(t, req.Header, map[string]string{"Sc-Unit-System": "metric"})
	meta := smartcar.Meta{RequestID: "outer"}
	checks := []struct {
		name string
		get  func() (any, error)
		want any
	}{
		{"battery", func() (any, error) { return b.Battery() }, &smartcar.Battery{PercentRemaining: 0.5, Range: 100, Meta: meta}},
		{"battery capacity", func() (any, error) { return b.BatteryCapacity() }, &smartcar.BatteryCapacity{Capacity: 75, Meta: meta}},
		{"nominal capacity", func() (any, error) { return b.NominalCapacity() },
			&smartcar.NominalCapacity{AvailableCapacities: []smartcar.AvailableCapacity{}, URL: ptr("https://x"), Meta: meta}},
		{"charge", func() (any, error) { return b.Charge() }, &smartcar.Charge{IsPluggedIn: true, State: "FULLY_CHARGED", Meta: meta}},
		{"charge limit", func() (any, error) { return b.ChargeLimit() }, &smartcar.ChargeLimit{Limit: 0.9, Meta: meta}},
		{"tire pressure", func() (any, error) { return b.TirePressure() },
			&smartcar.TirePressure{FrontLeft: 1, FrontRight: 2, BackLeft: 3, BackRight: 4, Meta: meta}},
		{"lock status", func() (any, error) { return b.LockStatus() }, &smartcar.LockStatus{Meta: meta}},
		{"system status", func() (any, error) { return b.DiagnosticSystemStatus() },
			&smartcar.DiagnosticSystemStatus{Systems: []smartcar.DiagnosticSystem{}, Meta: meta}},
		{"dtcs", func() (any, error) { return b.DiagnosticTroubleCodes() },
			&smartcar.DiagnosticTroubleCodes{ActiveCodes: []smartcar.TroubleCode{}, Meta: meta}},
		{"vin", func() (any, error) { return b.VIN() }, &smartcar.VIN{VIN: "V", Meta: meta}},
		{"location", func() (any, error) { return b.Location() }, &smartcar.Location{Latitude: 1, Longitude: 2, Meta: meta}},
		{"fuel", func() (any, error) { return b.Fuel() }, &smartcar.Fuel{AmountRemaining: 1, PercentRemaining: 0.5, Range: 9, Meta: meta}},
	}
	for _, tt := range checks {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.get()
			if err != nil {
				t.Fatalf("get: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	t.Run("headers with escapes and nested values", func(t *testing.T) {
		it, _ := b.Item("/vin")
		want := http.Header{"Sc-Request-Id": {"x"}, "Note": {`a"b`}, "Nested": {`{"k":1}`}}
		if diff := cmp.Diff(want, it.Headers); diff != "" {
			t.Errorf("headers (-want +got):\n%s", diff)
		}
	})
	t.Run("null and empty headers", func(t *testing.T) {
		for _, p := range []string{"/location", "/fuel"} {
			if it, _ := b.Item(p); it.Headers == nil || len(it.Headers) != 0 {
				t.Errorf("%s headers = %#v, want empty", p, it.Headers)
			}
		}
	})
}

func TestBatch_failures(t *testing.T) {
	tests := []struct {
		name     string
		reply    reply
		paths    []string
		wantType string
		wantCode string
		wantRA   time.Duration
		wantReqs int
	}{
		{
			name:     "whole batch rate limited",
			reply:    reply{status: 429, header: map[string]string{"Retry-After": "60"}, body: `{"type":"RATE_LIMIT","code":"VEHICLE"}`},
			paths:    []string{"/odometer"},
			wantType: smartcar.TypeRateLimit, wantCode: "VEHICLE", wantRA: time.Minute, wantReqs: 1,
		},
		{
			name:     "whole batch unauthenticated",
			reply:    reply{status: 401, body: `{"type":"AUTHENTICATION","code":null}`},
			paths:    []string{"/odometer"},
			wantType: smartcar.TypeAuthentication, wantReqs: 1,
		},
		{
			name:     "no responses",
			reply:    reply{body: `{"other":[]}`},
			paths:    []string{"/odometer"},
			wantType: smartcar.TypeSDK, wantCode: "INVALID_RESPONSE", wantReqs: 1,
		},
		{
			name:     "bad headers",
			reply:    reply{body: `{"responses":[{"path":"/odometer","code":200,"headers":[1],"body":{}}]}`},
			paths:    []string{"/odometer"},
			wantType: smartcar.TypeSDK, wantCode: "INVALID_RESPONSE", wantReqs: 1,
		},
		{
			name:     "no paths",
			reply:    reply{body: `{}`},
			wantType: smartcar.TypeValidation, wantCode: "PARAMETER",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, tt.reply)
			_, err := srv.client().Batch(context.Background(), "tok", "vid", tt.paths)
			e := checkErr(t, err, tt.wantType, tt.wantCode)
			if e.RetryAfter != tt.wantRA {
				t.Errorf("RetryAfter = %v, want %v", e.RetryAfter, tt.wantRA)
			}
			if n := len(srv.requests()); n != tt.wantReqs {
				t.Errorf("server received %d requests, want %d", n, tt.wantReqs)
			}
		})
	}
}

func TestNormalizePath(t *testing.T) {
	tests := map[string]string{
		"":                   "/",
		"/":                  "/",
		" / ":                "/",
		"odometer":           "/odometer",
		"/odometer":          "/odometer",
		"/odometer/":         "/odometer",
		" /engine/oil ":      "/engine/oil",
		"tires/pressure//":   "/tires/pressure",
		"/tesla/speedometer": "/tesla/speedometer",
	}
	for in, want := range tests {
		if got := smartcar.NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBatch_prettyAndOddInput(t *testing.T) {
	body := `{
  "responses": [
    {
      "path": "/odometer",
      "code": 200,
      "headers": { "sc-unit-system" : "metric" ,
                   "sc-data-age": "not a time", "content-type": "application/json", "x-n": 12.5 },
      "body": { "distance": 1 }
    },
    { "path": "/a\"b", "code": 200, "headers": {"x":true}, "body": {} }
  ]
}`
	srv := serve(t, reply{body: body})
	b, err := srv.client().Batch(context.Background(), "tok", "vid", []string{"/odometer", "/a\"b\x01"})
	if err != nil {
		t.Fatalf("batch: %v", err)
	}
	if got, want := srv.last(t).Body, `{"requests":[{"path":"/odometer"},{"path":"/a\"b\u0001"}]}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	it, ok := b.Item("/odometer")
	if !ok {
		t.Fatal("no /odometer item")
	}
	want := http.Header{"Sc-Unit-System": {"metric"}, "Sc-Data-Age": {"not a time"}, "Content-Type": {"application/json"}, "X-N": {"12.5"}}
	if diff := cmp.Diff(want, it.Headers); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if !it.Meta.DataAge.IsZero() || it.Meta.UnitSystem != smartcar.Metric {
		t.Errorf("meta = %+v, want no data age and metric", it.Meta)
	}
	extra, ok := b.Item(`/a"b`)
	if !ok || extra.Headers.Get("X") != "true" {
		t.Errorf("extra item = %+v, %v; want one with X: true", extra, ok)
	}
}
