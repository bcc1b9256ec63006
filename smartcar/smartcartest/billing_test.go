package smartcartest_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestServer_Billing: one billed call per v3 /signals or /signals/{code}
// call, per v2 batch item and per other v2 vehicle call; connections, IAM
// and execution reads are free; past the monthly quota, 430.
func TestServer_Billing(t *testing.T) {
	clock := newClock() // 2025-03-10
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithVehicleRateLimit(0, 0),
		smartcartest.WithAppRateLimit(0, 0), smartcartest.WithMonthlyQuota(7))
	tok := s.Connect(nil, nil)
	user := s.Users()[0]
	bev := firstOfKind(t, s, smartcartest.BEV)
	app := appToken(t, s)

	steps := []struct {
		name   string
		call   func() response
		billed int // billed calls after it
	}{
		{"v3 signals", func() response { return v3(t, s, "GET", app, user, "/vehicles/"+bev.ID+"/signals", nil) }, 1},
		{"v3 signals page 2", func() response {
			return v3(t, s, "GET", app, user, "/vehicles/"+bev.ID+"/signals?page=2", nil)
		}, 2},
		{"v3 one signal", func() response {
			return v3(t, s, "GET", app, user, "/vehicles/"+bev.ID+"/signals/odometer-traveleddistance", nil)
		}, 3},
		{"v2 batch of 3", func() response {
			return api(t, s, "POST", tok.AccessToken, vehiclePath(bev.ID, "/batch"),
				map[string]any{"requests": []map[string]string{{"path": "/odometer"}, {"path": "/location"}, {"path": "/battery"}}})
		}, 6},
		{"v3 connections (free)", func() response { return v3(t, s, "GET", app, "", "/connections", nil) }, 6},
		{"IAM (free)", func() response {
			return iam(t, s, map[string][]string{"grant_type": {"client_credentials"}}, true)
		}, 6},
		{"v2 user (free)", func() response { return get(t, s, tok.AccessToken, "/user") }, 6},
		{"v2 odometer", func() response { return get(t, s, tok.AccessToken, vehiclePath(bev.ID, "/odometer")) }, 7},
	}
	for _, st := range steps {
		if r := st.call(); r.status != 200 {
			t.Fatalf("%s: HTTP %d %s", st.name, r.status, r.body)
		}
		if got := s.BilledCalls(bev.ID, clock.Now()); got != st.billed {
			t.Errorf("after %s: %d billed calls, want %d", st.name, got, st.billed)
		}
	}
	// The quota of 7 is spent: v3 and v2 alike get 430 and bill nothing more.
	for _, path := range []string{"/vehicles/" + bev.ID + "/signals", "/vehicles/" + bev.ID + "/signals/odometer-traveleddistance"} {
		r := v3(t, s, "GET", app, user, path, nil)
		if r.status != 430 || r.errorKind(t) != "BILLING:VEHICLE_REQUEST_LIMIT" {
			t.Errorf("%s past the quota: HTTP %d %s, want 430 BILLING:VEHICLE_REQUEST_LIMIT", path, r.status, r.body)
		}
	}
	if r := get(t, s, tok.AccessToken, vehiclePath(bev.ID, "/odometer")); r.status != 430 {
		t.Errorf("v2 past the quota: HTTP %d", r.status)
	}
	if r := v3(t, s, "GET", app, "", "/connections", nil); r.status != 200 {
		t.Errorf("connections past the quota: HTTP %d", r.status)
	}
	other := firstOfKind(t, s, smartcartest.ICE)
	if r := v3(t, s, "GET", app, user, "/vehicles/"+other.ID+"/signals", nil); r.status != 200 {
		t.Errorf("another vehicle: HTTP %d", r.status)
	}

	// A new month starts a new count.
	clock.Advance(22 * 24 * time.Hour) // 2025-04-01
	app = appToken(t, s)
	if r := v3(t, s, "GET", app, user, "/vehicles/"+bev.ID+"/signals", nil); r.status != 200 {
		t.Errorf("next month: HTTP %d %s", r.status, r.body)
	}
	want := []smartcartest.BillingMonth{
		{VehicleID: bev.ID, Month: "2025-03", Calls: 7},
		{VehicleID: bev.ID, Month: "2025-04", Calls: 1},
		{VehicleID: other.ID, Month: "2025-03", Calls: 1},
	}
	got := s.Billing() // in creation order: the BEV is the first vehicle
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Billing() (-want +got):\n%s", diff)
	}
	st := s.Stats()
	if st.BilledCalls != 9 || st.QuotaExceeded != 3 {
		t.Errorf("stats: %d billed, %d over quota; want 9, 3", st.BilledCalls, st.QuotaExceeded)
	}
	var batchBilled, signalsBilled int
	for _, rq := range s.Requests() {
		switch rq.Route {
		case "/batch":
			batchBilled += rq.Billed
		case "/v3/signals":
			signalsBilled += rq.Billed
		}
	}
	if batchBilled != 3 || signalsBilled != 4 {
		t.Errorf("records: batch billed %d, /v3/signals billed %d; want 3, 4", batchBilled, signalsBilled)
	}
	r := do(t, nil, "GET", s.URL+"/admin/billing?vehicleId="+bev.ID+"&month=2025-03", nil)
	var admin []smartcartest.BillingMonth
	r.decode(t, &admin)
	if diff := cmp.Diff([]smartcartest.BillingMonth{{VehicleID: bev.ID, Month: "2025-03", Calls: 7}}, admin); diff != "" {
		t.Errorf("/admin/billing (-want +got):\n%s", diff)
	}
}

// TestServer_V3RateLimits: the application bucket and the vehicle throttle
// count v2 and v3 calls alike, and a v3 call inside a Retry-After window is
// a violation like a v2 one.
func TestServer_V3RateLimits(t *testing.T) {
	clock := newClock()
	t.Run("app bucket", func(t *testing.T) {
		s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithAppRateLimit(3, 0),
			smartcartest.WithVehicleRateLimit(0, 0))
		tok := s.Connect(nil, nil)
		user, v := s.Users()[0], s.VehicleIDs()[0]
		app := appToken(t, s)
		for i, r := range []response{
			v3(t, s, "GET", app, user, "/vehicles/"+v, nil),
			get(t, s, tok.AccessToken, vehiclePath(v, "/odometer")),
			v3(t, s, "GET", app, user, "/vehicles/"+v+"/signals", nil),
		} {
			if r.status != 200 {
				t.Fatalf("call %d: HTTP %d", i, r.status)
			}
		}
		r := v3(t, s, "GET", app, user, "/vehicles/"+v+"/signals", nil)
		if r.status != 429 || r.errorKind(t) != "RATE_LIMIT:SMARTCAR_API" {
			t.Errorf("fourth call: HTTP %d %s, want 429 RATE_LIMIT:SMARTCAR_API", r.status, r.body)
		}
		if r := v3(t, s, "GET", app, "", "/connections", nil); r.status != 200 {
			t.Errorf("connections (outside the bucket): HTTP %d", r.status)
		}
	})
	t.Run("vehicle throttle", func(t *testing.T) {
		s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithAppRateLimit(0, 0),
			smartcartest.WithVehicleRateLimit(2, time.Hour))
		tok := s.Connect(nil, nil)
		user, v := s.Users()[0], s.VehicleIDs()[0]
		app := appToken(t, s)
		v3(t, s, "GET", app, user, "/vehicles/"+v+"/signals", nil)
		get(t, s, tok.AccessToken, vehiclePath(v, "/odometer"))
		r := v3(t, s, "GET", app, user, "/vehicles/"+v+"/signals", nil)
		retry, _ := strconv.Atoi(r.header.Get("Retry-After"))
		if r.status != 429 || r.errorKind(t) != "RATE_LIMIT:VEHICLE" || retry < 1 {
			t.Fatalf("third call: HTTP %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.body)
		}
		get(t, s, tok.AccessToken, vehiclePath(v, "/odometer"))
		v3(t, s, "GET", app, user, "/vehicles/"+v+"/signals/odometer-traveleddistance", nil)
		if got := s.Stats().RetryAfterViolations; got != 2 {
			t.Errorf("RetryAfterViolations = %d, want 2 (one v2, one v3)", got)
		}
		clock.Advance(time.Duration(retry) * time.Second)
		app = appToken(t, s)
		if r := v3(t, s, "GET", app, user, "/vehicles/"+v+"/signals", nil); r.status != 200 {
			t.Errorf("after Retry-After: HTTP %d", r.status)
		}
	})
}
