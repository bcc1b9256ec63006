package smartcartest_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

type batchItem struct {
	Path    string          `json:"path"`
	Code    int             `json:"code"`
	Headers map[string]any  `json:"headers"`
	Body    json.RawMessage `json:"body"`
}

func batch(t *testing.T, s *smartcartest.Server, token, vehicleID string, paths []string, hdr ...string) (response, []batchItem) {
	t.Helper()
	var req struct {
		Requests []map[string]string `json:"requests"`
	}
	for _, p := range paths {
		req.Requests = append(req.Requests, map[string]string{"path": p})
	}
	r := api(t, s, "POST", token, vehiclePath(vehicleID, "/batch"), req, hdr...)
	var res struct{ Responses []batchItem }
	if r.status == 200 {
		r.decode(t, &res)
	}
	return r, res.Responses
}

func (it batchItem) kind(t *testing.T) string {
	t.Helper()
	var e struct {
		Type string
		Code *string
	}
	if err := json.Unmarshal(it.Body, &e); err != nil {
		t.Fatalf("item %s body %s: %v", it.Path, it.Body, err)
	}
	if e.Code == nil {
		return e.Type
	}
	return e.Type + ":" + *e.Code
}

func TestServer_Batch(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits())
	tok := s.Connect(nil, []string{"read_odometer", "read_vehicle_info", "read_battery", "read_location"})
	ice := firstOfKind(t, s, smartcartest.ICE)
	r, items := batch(t, s, tok.AccessToken, ice.ID, []string{"/odometer", "/", "/battery", "/fuel", "/nope", "/location/"})
	if r.status != 200 || r.header.Get("SC-Request-Id") == "" {
		t.Fatalf("batch: HTTP %d %s", r.status, r.body)
	}
	var got []string
	for _, it := range items {
		kind := "ok"
		if it.Code != 200 {
			kind = it.kind(t)
		}
		got = append(got, it.Path+" "+kind)
	}
	want := []string{"/odometer ok", "/ ok", "/battery COMPATIBILITY:VEHICLE_NOT_CAPABLE", "/fuel PERMISSION",
		"/nope RESOURCE_NOT_FOUND:PATH", "/location/ ok"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	if h := items[0].Headers; h["sc-unit-system"] != "metric" || h["sc-data-age"] == nil || h["sc-fetched-at"] == nil {
		t.Errorf("odometer item headers %v", h)
	}
	if h := items[1].Headers; h["sc-unit-system"] != "metric" || h["sc-data-age"] != nil {
		t.Errorf("attributes item headers %v, want only sc-unit-system", h)
	}
	var info smartcartest.Vehicle
	if err := json.Unmarshal(items[1].Body, &info); err != nil || info.ID != ice.ID || info.Make != ice.Make {
		t.Errorf("attributes item %s", items[1].Body)
	}
	// The odometer item agrees with the odometer endpoint, in either unit.
	_, imperial := batch(t, s, tok.AccessToken, ice.ID, []string{"/odometer"}, "SC-Unit-System", "imperial")
	var m, i struct{ Distance float64 }
	json.Unmarshal(items[0].Body, &m)
	json.Unmarshal(imperial[0].Body, &i)
	if math.Abs(i.Distance-m.Distance/1.609344) > 0.02 || imperial[0].Headers["sc-unit-system"] != "imperial" {
		t.Errorf("imperial item %v (%v), metric %v", i.Distance, imperial[0].Headers, m.Distance)
	}
	st := s.Stats()
	if st.Paths["/batch"] != 2 || st.BatchItems["/odometer"] != 2 || st.BatchItems["/"] != 1 {
		t.Errorf("stats paths %v, items %v", st.Paths, st.BatchItems)
	}
}

func TestServer_BatchValidation(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits())
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	r := api(t, s, "POST", tok.AccessToken, vehiclePath(v, "/batch"), `{}`)
	var body struct {
		Detail []struct {
			Field   []string
			Message string
		}
	}
	r.decode(t, &body)
	if r.status != 400 || r.errorKind(t) != "VALIDATION" || len(body.Detail) != 1 || body.Detail[0].Field[0] != "requests" {
		t.Errorf("batch without requests: HTTP %d %s", r.status, r.body)
	}
	if r := api(t, s, "POST", tok.AccessToken, vehiclePath(v, "/batch"), `not json`); r.status != 400 {
		t.Errorf("batch with bad JSON: HTTP %d", r.status)
	}
}

func TestServer_BatchFaults(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithoutLimits())
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	paths := []string{"/odometer", "/location", "/"}
	codes := func(items []batchItem) []int {
		var out []int
		for _, it := range items {
			out = append(out, it.Code)
		}
		return out
	}

	s.SetAsleep(v, true)
	r, items := batch(t, s, tok.AccessToken, v, paths)
	if r.status != 200 || !cmp.Equal([]int{409, 409, 409}, codes(items)) || items[0].kind(t) != "VEHICLE_STATE:ASLEEP" {
		t.Errorf("asleep vehicle: HTTP %d items %s", r.status, r.body)
	}
	s.SetAsleep(v, false)

	s.SetFault(v, "/location", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 30 * time.Second, Times: 1})
	s.SetFault(v, "/", smartcartest.Fault{HTML502: true, Times: 1})
	_, items = batch(t, s, tok.AccessToken, v, paths)
	if diff := cmp.Diff([]int{200, 429, 502}, codes(items)); diff != "" {
		t.Errorf("item faults (-want +got):\n%s", diff)
	}
	if ra, ok := items[1].Headers["retry-after"].(float64); !ok || ra != 30 {
		t.Errorf("retry-after item header %v, want the number 30", items[1].Headers)
	}
	clock.Advance(10 * time.Second)
	batch(t, s, tok.AccessToken, v, paths)
	if got := s.Stats().RetryAfterViolations; got != 1 {
		t.Errorf("RetryAfterViolations = %d, want 1 after batching inside an item's Retry-After", got)
	}

	s.SetFault(v, "/batch", smartcartest.Fault{Type: "SERVER", Code: "INTERNAL", Times: 1})
	if r, _ := batch(t, s, tok.AccessToken, v, paths); r.status != 500 || r.errorKind(t) != "SERVER:INTERNAL" {
		t.Errorf("fault on /batch: HTTP %d %s", r.status, r.body)
	}
	var rec smartcartest.Request
	for _, rq := range s.Requests() {
		if rq.Route == "/batch" && len(rq.Items) == 3 && rq.Items[1].Status == 429 {
			rec = rq
		}
	}
	if rec.Items == nil || rec.Items[1].Outcome != "fault:RATE_LIMIT:VEHICLE" || rec.Items[2].Outcome != "fault:html502" {
		t.Errorf("batch record items %+v", rec.Items)
	}
}

func TestServer_BatchCountsOnceAgainstThrottle(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithAppRateLimit(0, 0),
		smartcartest.WithVehicleRateLimit(1, time.Minute))
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	r, items := batch(t, s, tok.AccessToken, v, []string{"/odometer", "/location", "/", "/vin"})
	if r.status != 200 || len(items) != 4 {
		t.Fatalf("first batch: HTTP %d %s", r.status, r.body)
	}
	for _, it := range items {
		if it.Code != 200 {
			t.Errorf("item %s: %d", it.Path, it.Code)
		}
	}
	if r, _ := batch(t, s, tok.AccessToken, v, []string{"/odometer"}); r.status != 429 || r.header.Get("Retry-After") != "60" {
		t.Errorf("second batch: HTTP %d Retry-After %q, want 429 60", r.status, r.header.Get("Retry-After"))
	}
}
