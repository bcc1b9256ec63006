package smartcartest_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestServer_Admin drives the simulator only over HTTP, as a black-box test would.
func TestServer_Admin(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits())
	admin := func(method, path string, body any) response {
		t.Helper()
		return do(t, nil, method, s.URL+"/admin/"+path, body)
	}

	var cfg smartcartest.AdminConfig
	admin("GET", "config", nil).decode(t, &cfg)
	if cfg.ClientID != s.ClientID || cfg.ManagementToken != s.ManagementToken || cfg.Origins.API != s.URL || len(cfg.Users) != 1 {
		t.Errorf("config = %+v", cfg)
	}

	var vehicles []smartcartest.Vehicle
	admin("GET", "vehicles", nil).decode(t, &vehicles)
	if diff := cmp.Diff(s.Vehicles(), vehicles); diff != "" {
		t.Errorf("vehicles (-want +got):\n%s", diff)
	}
	var added smartcartest.Vehicle
	if r := admin("POST", "vehicles", map[string]string{"kind": "PHEV"}); r.status != 201 {
		t.Fatalf("add vehicle: HTTP %d", r.status)
	} else {
		r.decode(t, &added)
	}
	if added.Kind != smartcartest.PHEV || len(s.VehicleIDs()) != 4 {
		t.Errorf("added %+v, now %d vehicles", added, len(s.VehicleIDs()))
	}

	var tok smartcartest.Tokens
	admin("POST", "connect", map[string]any{"vehicleIds": []string{added.ID}, "scopes": []string{"read_odometer"}}).decode(t, &tok)
	if r := get(t, s, tok.AccessToken, vehiclePath(added.ID, "/odometer")); r.status != 200 {
		t.Fatalf("token from /admin/connect: HTTP %d %s", r.status, r.body)
	}

	var state smartcartest.State
	admin("GET", "vehicles/"+added.ID+"/state", nil).decode(t, &state)
	if state.OdometerKm <= 0 {
		t.Errorf("state = %+v", state)
	}
	var changes []smartcartest.StateChange
	now := time.Now()
	from, to := now.Add(-72*time.Hour), now // three days: a weekend day may have no trip
	admin("GET", "vehicles/"+added.ID+"/changes?from="+from.Format(time.RFC3339Nano)+"&to="+to.Format(time.RFC3339Nano),
		nil).decode(t, &changes)
	if want := s.StateChanges(added.ID, from, to); len(want) == 0 || !cmp.Equal(changes, want) {
		t.Errorf("changes over HTTP %v, want %v", changes, want)
	}
	if r := admin("GET", "vehicles/"+added.ID+"/changes?from=yesterday", nil); r.status != 400 {
		t.Errorf("changes from=yesterday: HTTP %d %s, want 400", r.status, r.body)
	}

	if r := admin("POST", "faults", map[string]any{"vehicleId": added.ID, "path": "/odometer",
		"fault": map[string]any{"type": "RATE_LIMIT", "code": "VEHICLE", "retryAfter": "2m", "times": 1}}); r.status != 204 {
		t.Fatalf("set fault: HTTP %d %s", r.status, r.body)
	}
	r := get(t, s, tok.AccessToken, vehiclePath(added.ID, "/odometer"))
	if r.status != 429 || r.header.Get("Retry-After") != "120" {
		t.Errorf("faulted request: HTTP %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	get(t, s, tok.AccessToken, vehiclePath(added.ID, "/odometer")) // inside the window
	admin("POST", "faults", map[string]any{"fault": map[string]any{"type": "SERVER", "code": "INTERNAL", "latency": 0.001}})
	if r := get(t, s, tok.AccessToken, "/user"); r.status != 500 {
		t.Errorf("wildcard fault: HTTP %d", r.status)
	}
	admin("DELETE", "faults", nil)
	if r := get(t, s, tok.AccessToken, "/user"); r.status != 200 {
		t.Errorf("after DELETE /admin/faults: HTTP %d", r.status)
	}
	if r := admin("POST", "faults", map[string]any{"fault": map[string]any{"latency": "soon"}}); r.status != 400 {
		t.Errorf("bad duration: HTTP %d", r.status)
	}

	var st smartcartest.Stats
	admin("GET", "stats", nil).decode(t, &st)
	if st.RetryAfterViolations != 1 || st.Paths["/odometer"] != 3 || st.FaultsInjected != 2 {
		t.Errorf("stats = %+v", st)
	}

	var reqs []smartcartest.Request
	raw := admin("GET", "requests?limit=3&vehicleId="+added.ID, nil)
	raw.decode(t, &reqs)
	if len(reqs) != 3 || reqs[0].Outcome != "ok" || reqs[1].Outcome != "fault:RATE_LIMIT:VEHICLE" || !reqs[2].RetryAfterViolation {
		t.Errorf("requests = %+v", reqs)
	}
	if strings.Contains(string(raw.body), tok.AccessToken) || reqs[0].Token == "" {
		t.Errorf("records must fingerprint the token, not hold it: %s", raw.body)
	}

	if r := admin("POST", "revoke", map[string]string{"vehicleId": added.ID}); r.status != 200 {
		t.Errorf("revoke vehicle: HTTP %d", r.status)
	}
	if r := get(t, s, tok.AccessToken, vehiclePath(added.ID, "/odometer")); r.status != 403 {
		t.Errorf("revoked vehicle: HTTP %d, want 403", r.status)
	}
	var revoked map[string]int
	admin("POST", "revoke", map[string]string{"userId": cfg.Users[0]}).decode(t, &revoked)
	if revoked["revokedGrants"] != 1 {
		t.Errorf("revoke user: %v", revoked)
	}
	if r := get(t, s, tok.AccessToken, "/user"); r.status != 401 {
		t.Errorf("revoked grant: HTTP %d, want 401", r.status)
	}
	if r := admin("POST", "revoke", map[string]string{}); r.status != 400 {
		t.Errorf("revoke nothing: HTTP %d, want 400", r.status)
	}

	admin("POST", "connect-config", map[string]string{"error": "server_error"})
	_, q := authorize(t, s, authParams(s))
	if q.Get("error") != "server_error" {
		t.Errorf("authorize after connect-config: %v", q)
	}

	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct{ Data struct{ Challenge string } }
		json.NewDecoder(r.Body).Decode(&p)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"challenge": hmacHex(cfg.ManagementToken, []byte(p.Data.Challenge))})
	}))
	defer hook.Close()
	if r := admin("POST", "webhooks/verify", map[string]string{"url": hook.URL}); r.status != 204 {
		t.Errorf("verify: HTTP %d %s", r.status, r.body)
	}
	if r := admin("POST", "webhooks/send", map[string]string{"url": hook.URL, "eventType": "VEHICLE_STATE", "vehicleId": added.ID}); r.status != 204 {
		t.Errorf("send: HTTP %d %s", r.status, r.body)
	}
	if r := admin("POST", "reset", nil); r.status != 204 || s.Stats().Requests != 0 || len(s.Requests()) != 0 {
		t.Errorf("reset: HTTP %d, %d requests left", r.status, len(s.Requests()))
	}
	if r := admin("GET", "nothing", nil); r.status != 404 {
		t.Errorf("unknown admin path: HTTP %d", r.status)
	}
}

func TestServer_Records(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits(), smartcartest.WithRecordLimit(5))
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	for range 7 {
		get(t, s, tok.AccessToken, vehiclePath(v, "/odometer"))
	}
	get(t, s, "wrong-token", "/user")
	reqs := s.Requests()
	if len(reqs) != 5 {
		t.Fatalf("%d records, want the limit 5", len(reqs))
	}
	last := reqs[4]
	if last.Route != "/user" || last.Status != 401 || last.Outcome != "AUTHENTICATION" || last.Token == "" || last.Token == "wrong-token" {
		t.Errorf("last record = %+v", last)
	}
	for i, r := range reqs[:4] {
		if r.Route != "/odometer" || r.VehicleID != v || r.Status != 200 || r.Token != reqs[0].Token || r.Time.IsZero() {
			t.Errorf("record %d = %+v", i, r)
		}
		if i > 0 && r.RequestID == reqs[i-1].RequestID {
			t.Error("request ids repeat")
		}
	}
	st := s.Stats()
	if st.Requests != 8 || st.Paths["/odometer"] != 7 || st.Statuses[401] != 1 || st.InvalidTokenUses != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// TestServer_Concurrent hammers the simulator from many goroutines (run with -race).
func TestServer_Concurrent(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits(), smartcartest.WithVehicles(4))
	tok := s.Connect(nil, nil)
	ids := s.VehicleIDs()
	var wg sync.WaitGroup
	errs := make(chan string, 400)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				v := ids[(g+i)%len(ids)]
				req, _ := http.NewRequest("GET", s.URL+"/v2.0/vehicles/"+v+"/odometer", nil)
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err.Error()
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					errs <- resp.Status
				}
				if i%5 == 0 {
					s.SetFault(v, "/location", smartcartest.Asleep())
					s.Stats()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := s.Stats().Paths["/odometer"]; got != 200 {
		t.Errorf("recorded %d odometer requests, want 200", got)
	}
}

// TestServer_TokensStayBounded checks that long-expired tokens are forgotten.
func TestServer_TokensStayBounded(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now))
	old := s.Connect(nil, nil)
	clock.Advance(2*time.Hour + 25*time.Hour)
	for range 1024 {
		s.Connect(nil, nil)
	}
	get(t, s, old.AccessToken, "/user")
	if st := s.Stats(); st.ExpiredTokenUses != 0 || st.InvalidTokenUses != 1 {
		t.Errorf("a token expired over a day ago: ExpiredTokenUses %d, InvalidTokenUses %d; want it forgotten (0, 1)",
			st.ExpiredTokenUses, st.InvalidTokenUses)
	}
	var e oauthErr
	refresh(t, s, old.RefreshToken).decode(t, &e)
	if e.Error != "" {
		// The refresh token lives 60 days and must survive the pruning.
		t.Errorf("refresh token pruned too early: %+v", e)
	}
}
