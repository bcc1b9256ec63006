package smartcartest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

func TestServer_AppToken(t *testing.T) {
	s := newServer(t)
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	creds := []string{"grant_type", "client_credentials", "client_id", s.ClientID, "client_secret", s.ClientSecret}
	tests := []struct {
		name       string
		form       url.Values
		basic      bool
		wantStatus int
		wantError  string
	}{
		{"form credentials", form(creds...), false, 200, ""},
		{"basic credentials", form("grant_type", "client_credentials"), true, 200, ""},
		{"wrong secret", form("grant_type", "client_credentials", "client_id", s.ClientID, "client_secret", "nope"), false, 401, "invalid_client"},
		{"unknown client", form("grant_type", "client_credentials", "client_id", "client_01x", "client_secret", s.ClientSecret), false, 401, "invalid_client"},
		{"no grant_type", form("client_id", s.ClientID, "client_secret", s.ClientSecret), false, 400, "invalid_request"},
		{"other grant_type", form("grant_type", "authorization_code", "client_id", s.ClientID, "client_secret", s.ClientSecret), false, 400, "invalid_request"},
		{"no secret", form("grant_type", "client_credentials", "client_id", s.ClientID), false, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := iam(t, s, tt.form, tt.basic)
			if r.status != tt.wantStatus {
				t.Fatalf("HTTP %d %s, want %d", r.status, r.body, tt.wantStatus)
			}
			if tt.wantError != "" {
				var e oauthErr
				r.decode(t, &e)
				if e.Error != tt.wantError {
					t.Errorf("error %q, want %q", e.Error, tt.wantError)
				}
				return
			}
			var tok tokenResponse
			r.decode(t, &tok)
			if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || tok.RefreshToken != "" {
				t.Errorf("token answer %s, want a Bearer token for 3600 s and no refresh token", r.body)
			}
		})
	}
	if r := do(t, nil, http.MethodGet, s.URL+"/oauth2/token", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /oauth2/token: HTTP %d", r.status)
	}
	st := s.Stats()
	if st.AppTokens != 2 || st.AppTokenRefusals != 6 || st.Paths["/oauth2/token"] != 8 {
		t.Errorf("stats: %d tokens, %d refusals, %d requests; want 2, 6, 8", st.AppTokens, st.AppTokenRefusals,
			st.Paths["/oauth2/token"])
	}
}

// TestServer_AppTokenExpiry: an application token lives an hour of
// simulated time, and expires_in says how long that is on the clock.
func TestServer_AppTokenExpiry(t *testing.T) {
	for _, scale := range []float64{1, 60} {
		clock := newClock()
		s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithTimeScale(scale), smartcartest.WithoutLimits())
		r := iam(t, s, url.Values{"grant_type": {"client_credentials"}}, true)
		var tok tokenResponse
		r.decode(t, &tok)
		lifetime := time.Duration(3600/scale) * time.Second
		if time.Duration(tok.ExpiresIn)*time.Second != lifetime {
			t.Errorf("scale %v: expires_in %d, want %v", scale, tok.ExpiresIn, lifetime)
		}
		users := s.Users()
		s.Connect(nil, nil)
		v := s.VehicleIDs()[0]
		clock.Advance(lifetime - time.Second)
		if r := v3(t, s, "GET", tok.AccessToken, users[0], "/vehicles/"+v, nil); r.status != 200 {
			t.Fatalf("scale %v: a second before expiry: HTTP %d %s", scale, r.status, r.body)
		}
		clock.Advance(time.Second)
		r = v3(t, s, "GET", tok.AccessToken, users[0], "/vehicles/"+v, nil)
		if r.status != 401 || r.errorKind(t) != "AUTHENTICATION" {
			t.Errorf("scale %v: expired token: HTTP %d %s, want 401 AUTHENTICATION", scale, r.status, r.body)
		}
		if r := v3(t, s, "GET", "not-a-token", users[0], "/vehicles/"+v, nil); r.status != 401 {
			t.Errorf("scale %v: unknown token: HTTP %d", scale, r.status)
		}
		if r := v3(t, s, "GET", tok.AccessToken, "", "/connections", nil); r.status != 401 {
			t.Errorf("scale %v: expired token on /connections: HTTP %d", scale, r.status)
		}
		st := s.Stats()
		if st.V3TokenErrors != 3 || st.ExpiredTokenUses != 2 || st.InvalidTokenUses != 1 {
			t.Errorf("scale %v: v3 token errors %d (expired %d, invalid %d), want 3 (2, 1)", scale,
				st.V3TokenErrors, st.ExpiredTokenUses, st.InvalidTokenUses)
		}
	}
}

func TestServer_RevokeAppTokens(t *testing.T) {
	s := newServer(t)
	tok := s.AppToken()
	if r := v3(t, s, "GET", tok, "", "/connections", nil); r.status != 200 {
		t.Fatalf("connections: HTTP %d %s", r.status, r.body)
	}
	if n := s.RevokeAppTokens(); n != 1 {
		t.Errorf("RevokeAppTokens() = %d, want 1", n)
	}
	if r := v3(t, s, "GET", tok, "", "/connections", nil); r.status != 401 {
		t.Errorf("revoked token: HTTP %d, want 401", r.status)
	}
}

// TestServer_V3UserID: an application token needs sc-user-id on vehicle
// calls, and the user must have connected the vehicle; a user's own access
// token (the official SDKs' user-token mode) needs no header.
func TestServer_V3UserID(t *testing.T) {
	s := newServer(t, smartcartest.WithUsers(2), smartcartest.WithVehicles(4), smartcartest.WithoutLimits())
	users := s.Users()
	u1, _ := s.ConnectUser(users[0], nil, nil)
	s.ConnectUser(users[1], nil, nil)
	var own, other string // a vehicle of user 1 and one of user 2
	for _, v := range s.Vehicles() {
		if v.UserID == users[0] && own == "" {
			own = v.ID
		}
		if v.UserID == users[1] && other == "" {
			other = v.ID
		}
	}
	app := appToken(t, s)
	paths := []struct{ method, path string }{
		{"GET", "/vehicles/" + own},
		{"GET", "/vehicles/" + own + "/signals"},
		{"GET", "/vehicles/" + own + "/signals/odometer-traveleddistance"},
		{"POST", "/vehicles/" + own + "/commands/security/lock"},
	}
	for _, p := range paths {
		t.Run(p.method+" "+p.path, func(t *testing.T) {
			r := v3(t, s, p.method, app, "", p.path, map[string]any{})
			var e struct{ Description string }
			r.decode(t, &e)
			if r.status != 400 || r.errorKind(t) != "VALIDATION:PARAMETER" || e.Description != "missing userId" {
				t.Errorf("app token without sc-user-id: HTTP %d %s, want 400 missing userId", r.status, r.body)
			}
			if r := v3(t, s, p.method, app, users[1], p.path, map[string]any{}); r.status != 403 || r.errorKind(t) != "PERMISSION" {
				t.Errorf("another user's id: HTTP %d %s, want 403 PERMISSION", r.status, r.body)
			}
			if r := v3(t, s, p.method, app, users[0], p.path, map[string]any{}); r.status != 200 {
				t.Errorf("the owner's id: HTTP %d %s", r.status, r.body)
			}
			if r := v3(t, s, p.method, u1.AccessToken, "", p.path, map[string]any{}); r.status != 200 {
				t.Errorf("user-token mode: HTTP %d %s", r.status, r.body)
			}
		})
	}
	if r := v3(t, s, "GET", u1.AccessToken, "", "/vehicles/"+other+"/signals", nil); r.status != 403 {
		t.Errorf("user token on a vehicle it does not cover: HTTP %d, want 403", r.status)
	}
	if r := v3(t, s, "GET", u1.AccessToken, users[1], "/vehicles/"+own, nil); r.status != 403 {
		t.Errorf("user token with another user's sc-user-id: HTTP %d, want 403", r.status)
	}
	if r := v3(t, s, "GET", app, "no-such-user", "/vehicles/"+own, nil); r.status != 403 {
		t.Errorf("unknown user: HTTP %d, want 403", r.status)
	}
	if got := s.Stats().MissingUserID; got != int64(len(paths)) {
		t.Errorf("MissingUserID = %d, want %d", got, len(paths))
	}
	var sawUser bool
	for _, rq := range s.Requests() {
		if rq.Route == "/v3/signals" && rq.UserID == users[0] && rq.Status == 200 {
			sawUser = true
		}
	}
	if !sawUser {
		t.Error("no record of a /v3/signals call carries the user id")
	}
}

// TestServer_ConnectUserID: Connect's redirect carries the user id, and
// the new connection is listed with its mode.
func TestServer_ConnectUserID(t *testing.T) {
	s := newServer(t)
	_, q := authorize(t, s, authParams(s))
	if q.Get("user_id") != s.Users()[0] || q.Get("code") == "" {
		t.Fatalf("redirect query %v, want code and user_id %s", q, s.Users()[0])
	}
	r := tokenCall(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {s.RedirectURI}})
	if r.status != 200 {
		t.Fatalf("exchange: HTTP %d %s", r.status, r.body)
	}
	r = v3(t, s, "GET", appToken(t, s), "", "/connections?filter[userId]="+q.Get("user_id")+"&filter[vehicle.mode]=test", nil)
	var list struct {
		Data []struct {
			ID         string
			Attributes struct{ UserID, VehicleID, Mode, ConnectedAt string }
		}
	}
	r.decode(t, &list)
	if r.status != 200 || len(list.Data) != len(s.VehicleIDs()) {
		t.Fatalf("connections: HTTP %d %s, want %d test-mode connections", r.status, r.body, len(s.VehicleIDs()))
	}
	for _, c := range list.Data {
		if c.Attributes.UserID != q.Get("user_id") || c.Attributes.Mode != "test" || c.ID != c.Attributes.VehicleID {
			t.Errorf("connection %+v", c)
		}
	}
}
