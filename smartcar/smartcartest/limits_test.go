package smartcartest_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

func TestServer_AppRateLimit(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithAppRateLimit(3, 2),
		smartcartest.WithVehicleRateLimit(0, 0))
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	for i := range 3 {
		if r := get(t, s, tok.AccessToken, vehiclePath(v, "/odometer")); r.status != 200 {
			t.Fatalf("request %d: HTTP %d", i, r.status)
		}
	}
	r := get(t, s, tok.AccessToken, "/user")
	if r.status != 429 || r.errorKind(t) != "RATE_LIMIT:SMARTCAR_API" {
		t.Fatalf("4th request: HTTP %d %s, want 429 RATE_LIMIT:SMARTCAR_API", r.status, r.body)
	}
	if ra := r.header.Get("Retry-After"); ra != "" {
		t.Errorf("app limit sent Retry-After %q; Smartcar sends none", ra)
	}
	clock.Advance(29 * time.Second) // 2 per minute: one token every 30 s
	if r := get(t, s, tok.AccessToken, "/user"); r.status != 429 {
		t.Errorf("after 29s: HTTP %d, want 429", r.status)
	}
	clock.Advance(time.Second)
	if r := get(t, s, tok.AccessToken, "/user"); r.status != 200 {
		t.Errorf("after 30s: HTTP %d, want 200", r.status)
	}
	st := s.Stats()
	if st.AppRateLimited != 2 || st.RateLimited != 2 || st.RetryAfterViolations != 0 {
		t.Errorf("AppRateLimited %d, RateLimited %d, RetryAfterViolations %d; want 2, 2, 0",
			st.AppRateLimited, st.RateLimited, st.RetryAfterViolations)
	}
}

func TestServer_VehicleRateLimit(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithAppRateLimit(0, 0),
		smartcartest.WithVehicleRateLimit(2, 45*time.Second))
	tok := s.Connect(nil, nil)
	ids := s.VehicleIDs()
	path := vehiclePath(ids[0], "/odometer")
	for range 2 {
		if r := get(t, s, tok.AccessToken, path); r.status != 200 {
			t.Fatalf("HTTP %d", r.status)
		}
	}
	r := get(t, s, tok.AccessToken, path)
	if r.status != 429 || r.errorKind(t) != "RATE_LIMIT:VEHICLE" || r.header.Get("Retry-After") != "45" {
		t.Fatalf("3rd request: HTTP %d Retry-After %q %s, want 429 RATE_LIMIT:VEHICLE 45",
			r.status, r.header.Get("Retry-After"), r.body)
	}
	// Other vehicles have their own throttle.
	if r := get(t, s, tok.AccessToken, vehiclePath(ids[1], "/odometer")); r.status != 200 {
		t.Errorf("other vehicle: HTTP %d", r.status)
	}
	// Asking again inside the window breaks the rule (and is throttled).
	clock.Advance(10 * time.Second)
	r = get(t, s, tok.AccessToken, path)
	if r.status != 429 || r.header.Get("Retry-After") != "35" {
		t.Errorf("inside the window: HTTP %d Retry-After %q, want 429 35", r.status, r.header.Get("Retry-After"))
	}
	clock.Advance(35 * time.Second)
	if r := get(t, s, tok.AccessToken, path); r.status != 200 {
		t.Errorf("after Retry-After: HTTP %d", r.status)
	}
	st := s.Stats()
	if st.VehicleRateLimited != 2 || st.RetryAfterViolations != 1 {
		t.Errorf("VehicleRateLimited %d, RetryAfterViolations %d; want 2 and 1", st.VehicleRateLimited, st.RetryAfterViolations)
	}
	var flagged []string
	for _, rq := range s.Requests() {
		if rq.RetryAfterViolation {
			flagged = append(flagged, rq.Outcome)
		}
	}
	if diff := cmp.Diff([]string{"RATE_LIMIT:VEHICLE"}, flagged); diff != "" {
		t.Errorf("flagged requests (-want +got):\n%s", diff)
	}
}

func TestServer_MonthlyQuota(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 3, 31, 23, 0, 0, 0, time.UTC)}
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithAppRateLimit(0, 0),
		smartcartest.WithVehicleRateLimit(0, 0), smartcartest.WithMonthlyQuota(4))
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	if r := get(t, s, tok.AccessToken, vehiclePath(v, "/odometer")); r.status != 200 {
		t.Fatalf("HTTP %d", r.status)
	}
	batch := func(paths ...string) []int {
		var req struct {
			Requests []map[string]string `json:"requests"`
		}
		for _, p := range paths {
			req.Requests = append(req.Requests, map[string]string{"path": p})
		}
		var res struct{ Responses []struct{ Code int } }
		r := api(t, s, "POST", tok.AccessToken, vehiclePath(v, "/batch"), req)
		if r.status != 200 {
			t.Fatalf("batch: HTTP %d %s", r.status, r.body)
		}
		r.decode(t, &res)
		var codes []int
		for _, it := range res.Responses {
			codes = append(codes, it.Code)
		}
		return codes
	}
	// Batch items are billed one each: 1 + 3 = 4 uses the quota up.
	if diff := cmp.Diff([]int{200, 200, 200}, batch("/odometer", "/location", "/")); diff != "" {
		t.Errorf("first batch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{430, 430}, batch("/odometer", "/vin")); diff != "" {
		t.Errorf("batch over quota (-want +got):\n%s", diff)
	}
	r := get(t, s, tok.AccessToken, vehiclePath(v, "/location"))
	if r.status != 430 || r.errorKind(t) != "BILLING:VEHICLE_REQUEST_LIMIT" {
		t.Errorf("over quota: HTTP %d %s", r.status, r.body)
	}
	// Other vehicles have their own quota; a new month starts afresh.
	if r := get(t, s, tok.AccessToken, vehiclePath(s.VehicleIDs()[1], "/odometer")); r.status != 200 {
		t.Errorf("other vehicle: HTTP %d", r.status)
	}
	clock.Advance(time.Hour)
	if r := get(t, s, tok.AccessToken, vehiclePath(v, "/odometer")); r.status != 200 {
		t.Errorf("next month: HTTP %d", r.status)
	}
	if got := s.Stats().QuotaExceeded; got != 3 {
		t.Errorf("QuotaExceeded = %d, want 3", got)
	}
}

func TestServer_WithoutLimits(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits(), smartcartest.WithMonthlyQuota(5))
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	for i := range 300 {
		if r := get(t, s, tok.AccessToken, vehiclePath(v, "/odometer")); r.status != 200 {
			t.Fatalf("request %d: HTTP %d %s", i, r.status, r.body)
		}
	}
	if st := s.Stats(); st.RateLimited != 0 || st.Paths["/odometer"] != 300 {
		t.Errorf("RateLimited %d, odometer requests %d", st.RateLimited, st.Paths["/odometer"])
	}
}

func TestServer_DefaultLimits(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithVehicles(20))
	tok := s.Connect(nil, nil)
	var statuses []int
	for _, v := range s.VehicleIDs() {
		for range 7 {
			statuses = append(statuses, get(t, s, tok.AccessToken, vehiclePath(v, "/odometer")).status)
		}
	}
	ok, limited := 0, 0
	for _, st := range statuses {
		switch st {
		case 200:
			ok++
		case 429:
			limited++
		}
	}
	if ok != smartcartest.DefaultAppBurst || limited != len(statuses)-smartcartest.DefaultAppBurst {
		t.Errorf("%d ok and %d limited of %d; want the app burst %d to pass", ok, limited, len(statuses), smartcartest.DefaultAppBurst)
	}
}

// TestServer_ViolationCountedBeforeLimits checks that asking inside a
// Retry-After window is counted even when another limit answers.
func TestServer_ViolationCountedBeforeLimits(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithAppRateLimit(1, 0.001),
		smartcartest.WithVehicleRateLimit(0, 0))
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	s.SetFault(v, "", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: time.Minute})
	if r := get(t, s, tok.AccessToken, vehiclePath(v, "/odometer")); r.errorKind(t) != "RATE_LIMIT:VEHICLE" {
		t.Fatalf("first: %s", r.body)
	}
	if r := get(t, s, tok.AccessToken, vehiclePath(v, "/odometer")); r.errorKind(t) != "RATE_LIMIT:SMARTCAR_API" {
		t.Fatalf("second: %s", r.body)
	}
	if got := s.Stats().RetryAfterViolations; got != 1 {
		t.Errorf("RetryAfterViolations = %d, want 1", got)
	}
}
