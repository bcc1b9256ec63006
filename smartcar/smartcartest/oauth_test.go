package smartcartest_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize calls /oauth/authorize and returns the redirect's query.
func authorize(t *testing.T, s *smartcartest.Server, params url.Values) (int, url.Values) {
	t.Helper()
	r := do(t, noRedirect, http.MethodGet, s.URL+"/oauth/authorize?"+params.Encode(), nil)
	if r.status != http.StatusFound {
		return r.status, nil
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != s.RedirectURI {
		t.Errorf("redirected to %s, want %s", got, s.RedirectURI)
	}
	return r.status, loc.Query()
}

func authParams(s *smartcartest.Server) url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {s.ClientID}, "redirect_uri": {s.RedirectURI},
		"scope": {"read_odometer required:read_vehicle_info"}, "mode": {"test"}, "state": {"st-42"},
		"approval_prompt": {"auto"},
	}
}

func TestServer_ConnectFlow(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now))
	_, q := authorize(t, s, authParams(s))
	if q.Get("state") != "st-42" || q.Get("code") == "" {
		t.Fatalf("redirect query = %v, want code and state st-42", q)
	}
	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {s.RedirectURI}}
	r := tokenCall(t, s, exchange)
	if r.status != http.StatusOK {
		t.Fatalf("exchange: HTTP %d %s", r.status, r.body)
	}
	var tok tokenResponse
	r.decode(t, &tok)
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 7200 || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Errorf("token response = %+v", tok)
	}

	// The grant covers the approved vehicles and only the requested scopes.
	var vehicles struct{ Vehicles []string }
	get(t, s, tok.AccessToken, "/vehicles").decode(t, &vehicles)
	if diff := cmp.Diff(s.VehicleIDs(), vehicles.Vehicles); diff != "" {
		t.Errorf("vehicles (-want +got):\n%s", diff)
	}
	id := vehicles.Vehicles[0]
	if r := get(t, s, tok.AccessToken, vehiclePath(id, "/odometer")); r.status != http.StatusOK {
		t.Errorf("odometer: HTTP %d", r.status)
	}
	if r := get(t, s, tok.AccessToken, vehiclePath(id, "/location")); r.errorKind(t) != "PERMISSION" {
		t.Errorf("location without read_location: %s", r.body)
	}

	t.Run("code is single use", func(t *testing.T) {
		r := tokenCall(t, s, exchange)
		var e oauthErr
		r.decode(t, &e)
		if r.status != http.StatusBadRequest || e.Error != "invalid_grant" {
			t.Errorf("reused code: HTTP %d %+v, want 400 invalid_grant", r.status, e)
		}
	})
	t.Run("code expires after 10 minutes", func(t *testing.T) {
		_, q := authorize(t, s, authParams(s))
		clock.Advance(10*time.Minute + time.Second)
		r := tokenCall(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {s.RedirectURI}})
		var e oauthErr
		r.decode(t, &e)
		if e.Error != "invalid_grant" {
			t.Errorf("expired code: HTTP %d %+v, want invalid_grant", r.status, e)
		}
	})
	t.Run("redirect_uri must match", func(t *testing.T) {
		_, q := authorize(t, s, authParams(s))
		r := tokenCall(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {"http://evil.example/cb"}})
		var e oauthErr
		r.decode(t, &e)
		if e.Error != "invalid_grant" {
			t.Errorf("mismatched redirect_uri: HTTP %d %+v, want invalid_grant", r.status, e)
		}
	})
	if got := s.Stats().CodeExchanges; got != 1 {
		t.Errorf("CodeExchanges = %d, want 1", got)
	}
}

func TestServer_AuthorizeValidation(t *testing.T) {
	s := newServer(t, smartcartest.WithVehicles(4))
	tests := []struct {
		name       string
		change     func(url.Values)
		wantStatus int
		wantError  string
	}{
		{"bad client_id", func(q url.Values) { q.Set("client_id", "nope") }, http.StatusBadRequest, ""},
		{"unregistered redirect_uri", func(q url.Values) { q.Set("redirect_uri", "http://x/cb") }, http.StatusBadRequest, ""},
		{"response_type", func(q url.Values) { q.Set("response_type", "token") }, http.StatusFound, "unsupported_response_type"},
		{"mode", func(q url.Values) { q.Set("mode", "prod") }, http.StatusFound, "invalid_request"},
		{"approval_prompt", func(q url.Values) { q.Set("approval_prompt", "always") }, http.StatusFound, "invalid_request"},
		{"unknown scope", func(q url.Values) { q.Set("scope", "read_odometer read_minds") }, http.StatusFound, "invalid_scope"},
		{"make without vehicles", func(q url.Values) { q.Set("make", "DELOREAN") }, http.StatusFound, "no_vehicles"},
		{"valid", func(url.Values) {}, http.StatusFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := authParams(s)
			tt.change(q)
			status, got := authorize(t, s, q)
			if status != tt.wantStatus {
				t.Fatalf("HTTP %d, want %d", status, tt.wantStatus)
			}
			if status == http.StatusFound {
				if got.Get("error") != tt.wantError {
					t.Errorf("error = %q, want %q", got.Get("error"), tt.wantError)
				}
				if got.Get("state") != "st-42" {
					t.Errorf("state = %q, want st-42", got.Get("state"))
				}
				if tt.wantError == "" && got.Get("code") == "" {
					t.Error("no code")
				}
			}
		})
	}
}

func TestServer_ConnectConfig(t *testing.T) {
	s := newServer(t, smartcartest.WithVehicles(5))
	s.SetConnect(smartcartest.ConnectConfig{Error: "access_denied", ErrorDescription: "User denied access to application."})
	_, q := authorize(t, s, authParams(s))
	if q.Get("error") != "access_denied" || q.Get("error_description") == "" || q.Get("code") != "" {
		t.Errorf("denied redirect = %v", q)
	}

	s.SetConnect(smartcartest.ConnectConfig{})
	single := firstOfKind(t, s, smartcartest.PHEV)
	p := authParams(s)
	p.Set("single_select_vin", single.VIN)
	_, q = authorize(t, s, p)
	r := tokenCall(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {s.RedirectURI}})
	var tok tokenResponse
	r.decode(t, &tok)
	var vehicles struct{ Vehicles []string }
	get(t, s, tok.AccessToken, "/vehicles").decode(t, &vehicles)
	if diff := cmp.Diff([]string{single.ID}, vehicles.Vehicles); diff != "" {
		t.Errorf("single_select_vin vehicles (-want +got):\n%s", diff)
	}
}

func TestServer_TokenEndpointErrors(t *testing.T) {
	s := newServer(t)
	tok := s.Connect(nil, nil)
	tests := []struct {
		name       string
		id, secret string
		form       url.Values
		wantStatus int
		wantError  string
	}{
		{"wrong secret", s.ClientID, "wrong", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, 401, "invalid_client"},
		{"no credentials", "", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, 401, "invalid_client"},
		{"unknown refresh token", s.ClientID, s.ClientSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"THIS_SHOULD_NOT_WORK"}}, 400, "invalid_grant"},
		{"unknown code", s.ClientID, s.ClientSecret, url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}}, 400, "invalid_grant"},
		{"unsupported grant", s.ClientID, s.ClientSecret, url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []string{}
			if tt.id != "" {
				req, _ := http.NewRequest("POST", "/", nil)
				req.SetBasicAuth(tt.id, tt.secret)
				hdr = []string{"Authorization", req.Header.Get("Authorization")}
			}
			r := do(t, nil, http.MethodPost, s.URL+"/oauth/token", tt.form, hdr...)
			var e oauthErr
			r.decode(t, &e)
			if r.status != tt.wantStatus || e.Error != tt.wantError || e.Description == "" {
				t.Errorf("HTTP %d %+v, want %d %s", r.status, e, tt.wantStatus, tt.wantError)
			}
		})
	}
	// The rejected calls spent nothing: the refresh token still works.
	if r := refresh(t, s, tok.RefreshToken); r.status != http.StatusOK {
		t.Errorf("refresh after rejected calls: HTTP %d %s", r.status, r.body)
	}
}

func TestServer_AccessTokenExpiry(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithAccessTokenLifetime(time.Hour))
	tok := s.Connect(nil, nil)
	if tok.ExpiresIn != 3600 {
		t.Errorf("ExpiresIn = %d, want 3600", tok.ExpiresIn)
	}
	if r := get(t, s, tok.AccessToken, "/user"); r.status != http.StatusOK {
		t.Fatalf("fresh token: HTTP %d", r.status)
	}
	clock.Advance(time.Hour - time.Second)
	if r := get(t, s, tok.AccessToken, "/user"); r.status != http.StatusOK {
		t.Fatalf("token 1s before expiry: HTTP %d", r.status)
	}
	clock.Advance(time.Second)
	r := get(t, s, tok.AccessToken, "/user")
	if r.status != http.StatusUnauthorized || r.errorKind(t) != "AUTHENTICATION" {
		t.Errorf("expired token: HTTP %d %s, want 401 AUTHENTICATION", r.status, r.body)
	}
	if got := s.Stats().ExpiredTokenUses; got != 1 {
		t.Errorf("ExpiredTokenUses = %d, want 1", got)
	}
	for _, bad := range []string{"", "Bearer", "Basic abc"} {
		r := do(t, nil, http.MethodGet, s.URL+"/v2.0/user", nil, "Authorization", bad)
		if r.status != http.StatusUnauthorized {
			t.Errorf("Authorization %q: HTTP %d, want 401", bad, r.status)
		}
	}
}

func TestServer_RefreshRotation(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithRefreshGrace(time.Minute))
	first := s.Connect(nil, nil)

	r := refresh(t, s, first.RefreshToken)
	var second tokenResponse
	r.decode(t, &second)
	if r.status != http.StatusOK || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatalf("refresh: HTTP %d, new pair %+v must differ from the old", r.status, second)
	}
	if r := get(t, s, second.AccessToken, "/user"); r.status != http.StatusOK {
		t.Errorf("new access token: HTTP %d", r.status)
	}

	// Within the grace the spent token returns the same new pair.
	clock.Advance(59 * time.Second)
	var again tokenResponse
	refresh(t, s, first.RefreshToken).decode(t, &again)
	if again.AccessToken != second.AccessToken || again.RefreshToken != second.RefreshToken {
		t.Errorf("spent token within grace gave a different pair")
	}
	if again.ExpiresIn != 7200-59 {
		t.Errorf("expires_in within grace = %d, want the remaining %d", again.ExpiresIn, 7200-59)
	}

	// After the grace it is invalid_grant, and counted as a rule break.
	clock.Advance(time.Second)
	r = refresh(t, s, first.RefreshToken)
	var e oauthErr
	r.decode(t, &e)
	if r.status != http.StatusBadRequest || e.Error != "invalid_grant" {
		t.Errorf("spent token after grace: HTTP %d %+v, want 400 invalid_grant", r.status, e)
	}

	// The newest token still rotates.
	if r := refresh(t, s, second.RefreshToken); r.status != http.StatusOK {
		t.Errorf("refresh with the new token: HTTP %d %s", r.status, r.body)
	}
	st := s.Stats()
	got := []int64{st.Refreshes, st.GraceRefreshReuse, st.SpentRefreshReuse}
	if diff := cmp.Diff([]int64{2, 1, 1}, got); diff != "" {
		t.Errorf("Refreshes, GraceRefreshReuse, SpentRefreshReuse (-want +got):\n%s", diff)
	}
}

func TestServer_RefreshTokenLifetime(t *testing.T) {
	tests := []struct {
		name     string
		opts     []smartcartest.Option
		lifetime time.Duration
	}{
		{"default 60 days", nil, 60 * 24 * time.Hour},
		{"configured", []smartcartest.Option{smartcartest.WithRefreshTokenLifetime(time.Hour)}, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			s := newServer(t, append(tt.opts, smartcartest.WithClock(clock.Now))...)
			a, b := s.Connect(nil, nil), s.Connect(nil, nil)
			clock.Advance(tt.lifetime - time.Second)
			if r := refresh(t, s, a.RefreshToken); r.status != http.StatusOK {
				t.Errorf("1s before expiry: HTTP %d", r.status)
			}
			clock.Advance(time.Second)
			var e oauthErr
			refresh(t, s, b.RefreshToken).decode(t, &e)
			if e.Error != "invalid_grant" {
				t.Errorf("at expiry: %+v, want invalid_grant", e)
			}
		})
	}
}

func TestServer_RevokeGrant(t *testing.T) {
	s := newServer(t, smartcartest.WithUsers(2), smartcartest.WithVehicles(4))
	users := s.Users()
	a, _ := s.ConnectUser(users[0], nil, nil)
	b, _ := s.ConnectUser(users[1], nil, nil)
	if n := s.RevokeGrant(users[0]); n != 1 {
		t.Errorf("RevokeGrant = %d, want 1", n)
	}
	if r := get(t, s, a.AccessToken, "/user"); r.status != http.StatusUnauthorized {
		t.Errorf("revoked access token: HTTP %d, want 401", r.status)
	}
	var e oauthErr
	refresh(t, s, a.RefreshToken).decode(t, &e)
	if e.Error != "invalid_grant" {
		t.Errorf("revoked refresh token: %+v, want invalid_grant", e)
	}
	var user struct{ ID string }
	get(t, s, b.AccessToken, "/user").decode(t, &user)
	if user.ID != users[1] {
		t.Errorf("other user's grant: /user id %q, want %q", user.ID, users[1])
	}
	var vehicles struct{ Vehicles []string }
	get(t, s, b.AccessToken, "/vehicles").decode(t, &vehicles)
	for _, id := range vehicles.Vehicles {
		if !slices.Contains(s.VehicleIDs(), id) {
			t.Errorf("unknown vehicle %s", id)
		}
	}
	if len(vehicles.Vehicles) != 2 {
		t.Errorf("user 2 has %d vehicles, want 2 of 4 dealt to 2 users", len(vehicles.Vehicles))
	}
}
