package smartcartest_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

func TestServer_ErrorFaults(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits())
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	tests := []struct {
		name           string
		fault          smartcartest.Fault
		wantStatus     int
		wantKind       string
		wantResolution any
	}{
		{"asleep", smartcartest.Asleep(), 409, "VEHICLE_STATE:ASLEEP", nil},
		{"unreachable", smartcartest.Unreachable(), 409, "VEHICLE_STATE:UNREACHABLE", "RETRY_LATER"},
		{"upstream", smartcartest.ErrorFault("UPSTREAM", "NO_RESPONSE"), 502, "UPSTREAM:NO_RESPONSE", "RETRY_LATER"},
		{"server", smartcartest.ErrorFault("SERVER", "INTERNAL"), 500, "SERVER:INTERNAL", "RETRY_LATER"},
		{"reauth", smartcartest.ErrorFault("CONNECTED_SERVICES_ACCOUNT", "AUTHENTICATION_FAILED"), 400,
			"CONNECTED_SERVICES_ACCOUNT:AUTHENTICATION_FAILED", "REAUTHENTICATE"},
		{"billing", smartcartest.ErrorFault("BILLING", "ACCOUNT_SUSPENDED"), 430, "BILLING:ACCOUNT_SUSPENDED", "CONTACT_SUPPORT"},
		{"status override", smartcartest.Fault{Type: "UPSTREAM", Code: "RATE_LIMIT", Status: 503}, 503, "UPSTREAM:RATE_LIMIT", "RETRY_LATER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.SetFault(v, "/odometer", tt.fault)
			r := get(t, s, tok.AccessToken, vehiclePath(v, "/odometer"))
			if r.status != tt.wantStatus || r.errorKind(t) != tt.wantKind {
				t.Fatalf("HTTP %d %s, want %d %s", r.status, r.body, tt.wantStatus, tt.wantKind)
			}
			var body struct{ Resolution map[string]any }
			r.decode(t, &body)
			if body.Resolution["type"] != tt.wantResolution {
				t.Errorf("resolution %v, want %v", body.Resolution, tt.wantResolution)
			}
			if r := get(t, s, tok.AccessToken, vehiclePath(v, "/location")); r.status != 200 {
				t.Errorf("other path: HTTP %d", r.status)
			}
		})
	}
	s.ClearFaults()
	if r := get(t, s, tok.AccessToken, vehiclePath(v, "/odometer")); r.status != 200 {
		t.Errorf("after ClearFaults: HTTP %d", r.status)
	}
}

func TestServer_FaultRetryAfter(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithoutLimits())
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	s.SetFault(v, "", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 90 * time.Second, Times: 1})
	r := get(t, s, tok.AccessToken, vehiclePath(v, "/odometer"))
	if r.status != 429 || r.header.Get("Retry-After") != "90" {
		t.Fatalf("HTTP %d Retry-After %q, want 429 90", r.status, r.header.Get("Retry-After"))
	}
	clock.Advance(89 * time.Second)
	get(t, s, tok.AccessToken, vehiclePath(v, "/location"))
	clock.Advance(time.Second)
	get(t, s, tok.AccessToken, vehiclePath(v, "/location"))
	if got := s.Stats().RetryAfterViolations; got != 1 {
		t.Errorf("RetryAfterViolations = %d, want 1 (only the request at 89s)", got)
	}
}

func TestServer_TransportFaults(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits())
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	fresh := func(timeout time.Duration) *http.Client {
		return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	}
	call := func(client *http.Client, path string) (*http.Response, error) {
		req, _ := http.NewRequest("GET", s.URL+"/v2.0"+vehiclePath(v, path), nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}

	t.Run("html 502", func(t *testing.T) {
		s.SetFault(v, "/odometer", smartcartest.Fault{HTML502: true})
		r := get(t, s, tok.AccessToken, vehiclePath(v, "/odometer"))
		if r.status != 502 || r.header.Get("Content-Type") != "text/html" || !strings.Contains(string(r.body), "502 Bad Gateway") {
			t.Errorf("HTTP %d %q %s", r.status, r.header.Get("Content-Type"), r.body)
		}
	})
	t.Run("drop", func(t *testing.T) {
		s.SetFault(v, "/odometer", smartcartest.Fault{Drop: true})
		if _, err := call(fresh(5*time.Second), "/odometer"); err == nil {
			t.Error("dropped request succeeded")
		}
		reqs := s.Requests()
		if last := reqs[len(reqs)-1]; last.Outcome != "fault:drop" || last.Status != 0 {
			t.Errorf("record = %+v, want fault:drop with status 0", last)
		}
	})
	t.Run("latency", func(t *testing.T) {
		s.SetFault(v, "/odometer", smartcartest.Fault{Latency: time.Minute})
		_, err := call(fresh(100*time.Millisecond), "/odometer")
		if err == nil || (!errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "Timeout")) {
			t.Errorf("delayed request: err %v, want a client timeout", err)
		}
		if resp, err := call(fresh(5*time.Second), "/location"); err != nil || resp.StatusCode != 200 {
			t.Errorf("other path: %v", err)
		}
	})
	t.Run("hang", func(t *testing.T) {
		s.SetFault(v, "/odometer", smartcartest.Fault{Hang: true})
		if _, err := call(fresh(100*time.Millisecond), "/odometer"); err == nil {
			t.Error("hanging request succeeded")
		}
	})
	t.Run("times", func(t *testing.T) {
		s.SetFault(v, "/odometer", smartcartest.Fault{Type: "SERVER", Code: "INTERNAL", Times: 2})
		var got []int
		for range 3 {
			got = append(got, get(t, s, tok.AccessToken, vehiclePath(v, "/odometer")).status)
		}
		if diff := cmp.Diff([]int{500, 500, 200}, got); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
	})
}

func TestServer_HangEndsOnClose(t *testing.T) {
	s := smartcartest.NewServer(smartcartest.WithoutLimits())
	defer s.Close()
	tok := s.Connect(nil, nil)
	s.SetFault("", "/user", smartcartest.Fault{Hang: true})
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("GET", s.URL+"/v2.0/user", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().FaultsInjected == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the hanging request never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("hanging request got a response")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("hanging request still open after Close")
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
}

func TestServer_FaultMatching(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits())
	tok := s.Connect(nil, nil)
	ids := s.VehicleIDs()
	s.SetFault("", "", smartcartest.Asleep())
	s.SetFault(ids[0], "/odometer", smartcartest.ErrorFault("SERVER", "INTERNAL"))
	s.SetFault("", "/v2.0/vehicles/whatever/location", smartcartest.Unreachable())
	tests := []struct {
		vehicle, path string
		want          string
	}{
		{ids[0], "/odometer", "SERVER:INTERNAL"},
		{ids[1], "/odometer", "VEHICLE_STATE:ASLEEP"},
		{ids[1], "/location", "VEHICLE_STATE:UNREACHABLE"},
		{ids[0], "/", "VEHICLE_STATE:ASLEEP"},
	}
	for _, tt := range tests {
		r := get(t, s, tok.AccessToken, vehiclePath(tt.vehicle, tt.path))
		if got := r.errorKind(t); got != tt.want {
			t.Errorf("%s %s: %s, want %s", tt.vehicle, tt.path, got, tt.want)
		}
	}
	if r := get(t, s, tok.AccessToken, "/user"); r.errorKind(t) != "VEHICLE_STATE:ASLEEP" {
		t.Errorf("/user with a wildcard fault: %s", r.body)
	}
	s.ClearFault("", "")
	s.SetAsleep(ids[2], true)
	if r := get(t, s, tok.AccessToken, vehiclePath(ids[1], "/")); r.status != 200 {
		t.Errorf("after clearing the wildcard: HTTP %d", r.status)
	}
	if r := get(t, s, tok.AccessToken, vehiclePath(ids[2], "/")); r.errorKind(t) != "VEHICLE_STATE:ASLEEP" {
		t.Errorf("asleep vehicle: %s", r.body)
	}
	s.SetAsleep(ids[2], false)
	if r := get(t, s, tok.AccessToken, vehiclePath(ids[2], "/")); r.status != 200 {
		t.Errorf("woken vehicle: HTTP %d", r.status)
	}
}

func TestServer_FaultProbability(t *testing.T) {
	run := func() []int {
		s := newServer(t, smartcartest.WithoutLimits(), smartcartest.WithSeed(7))
		tok := s.Connect(nil, nil)
		v := s.VehicleIDs()[0]
		s.SetFault(v, "/odometer", smartcartest.Fault{Type: "UPSTREAM", Code: "UNKNOWN_ISSUE", Probability: 0.3})
		var statuses []int
		for range 200 {
			statuses = append(statuses, get(t, s, tok.AccessToken, vehiclePath(v, "/odometer")).status)
		}
		return statuses
	}
	first, second := run(), run()
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("same seed, different fault pattern (-first +second):\n%s", diff)
	}
	failed := 0
	for _, st := range first {
		if st == 502 {
			failed++
		}
	}
	if failed < 30 || failed > 90 {
		t.Errorf("%d of 200 requests faulted at probability 0.3", failed)
	}
}

func TestServer_TokenFaults(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now))
	tok := s.Connect(nil, nil)

	s.SetFault("", "/oauth/token", smartcartest.Fault{Type: "server_error", Times: 1})
	r := refresh(t, s, tok.RefreshToken)
	var e oauthErr
	r.decode(t, &e)
	if r.status != 500 || e.Error != "server_error" {
		t.Errorf("server_error fault: HTTP %d %+v", r.status, e)
	}
	s.SetFault("", "/oauth/token", smartcartest.Fault{HTML502: true, Times: 1})
	if r := refresh(t, s, tok.RefreshToken); r.status != 502 || r.header.Get("Content-Type") != "text/html" {
		t.Errorf("html fault: HTTP %d %q", r.status, r.header.Get("Content-Type"))
	}
	// A wildcard fault does not reach the token endpoint.
	s.SetFault("", "", smartcartest.Asleep())
	if s.Stats().Refreshes != 0 {
		t.Fatal("a faulted refresh rotated the token")
	}

	t.Run("drop after rotate", func(t *testing.T) {
		s.SetFault("", "/oauth/token", smartcartest.Fault{DropAfterRotate: true, Times: 1})
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		req, _ := http.NewRequest("POST", s.URL+"/oauth/token",
			strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(s.ClientID, s.ClientSecret)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("dropped token call got HTTP %d", resp.StatusCode)
		}
		if got := s.Stats().Refreshes; got != 1 {
			t.Errorf("Refreshes = %d, want 1: the rotation happened on the server", got)
		}
		// Retrying within the grace recovers the pair the client never saw.
		clock.Advance(30 * time.Second)
		var pair tokenResponse
		r := refresh(t, s, tok.RefreshToken)
		r.decode(t, &pair)
		if r.status != 200 || pair.RefreshToken == tok.RefreshToken {
			t.Fatalf("retry within grace: HTTP %d %s", r.status, r.body)
		}
		if r := refresh(t, s, pair.RefreshToken); r.status != 200 {
			t.Errorf("recovered refresh token: HTTP %d", r.status)
		}
	})
}
