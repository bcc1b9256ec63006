package smartcar_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// clearV3Env empties every SMARTCAR_* variable NewAppClient reads.
func clearV3Env(t *testing.T) {
	t.Helper()
	clearEnv(t)
	for _, name := range []string{smartcar.EnvAPIV3Origin, smartcar.EnvVehicleAPIV3Origin,
		smartcar.EnvManagementV3Origin, smartcar.EnvIAMOrigin} {
		t.Setenv(name, "")
	}
}

func TestNewAppClient_environment(t *testing.T) {
	f := newV3Fake(t, nil)
	tests := []struct {
		name           string
		env            map[string]string
		opts           *smartcar.AppClientOptions
		wantAPI        string
		wantManagement string
	}{
		{
			name:           "defaults",
			env:            map[string]string{"SMARTCAR_CLIENT_ID": "id", "SMARTCAR_CLIENT_SECRET": "s"},
			wantAPI:        smartcar.DefaultAPIV3Origin,
			wantManagement: smartcar.DefaultManagementV3Origin,
		},
		{
			name: "python's variable",
			env: map[string]string{"SMARTCAR_CLIENT_ID": "id", "SMARTCAR_CLIENT_SECRET": "s",
				"SMARTCAR_VEHICLE_API_V3_ORIGIN": "http://py.local/", "SMARTCAR_MANAGEMENT_API_V3_ORIGIN": "http://mgmt.local"},
			wantAPI:        "http://py.local",
			wantManagement: "http://mgmt.local",
		},
		{
			name: "node's variable wins over python's",
			env: map[string]string{"SMARTCAR_CLIENT_ID": "id", "SMARTCAR_CLIENT_SECRET": "s",
				"SMARTCAR_API_V3_ORIGIN": "http://node.local", "SMARTCAR_VEHICLE_API_V3_ORIGIN": "http://py.local"},
			wantAPI:        "http://node.local",
			wantManagement: smartcar.DefaultManagementV3Origin,
		},
		{
			name: "options win over the environment",
			env: map[string]string{"SMARTCAR_CLIENT_ID": "id", "SMARTCAR_CLIENT_SECRET": "s",
				"SMARTCAR_API_V3_ORIGIN": "http://node.local", "SMARTCAR_MANAGEMENT_API_V3_ORIGIN": "http://mgmt.local"},
			opts:           &smartcar.AppClientOptions{APIOrigin: "http://opt.local", ManagementOrigin: "http://optm.local/"},
			wantAPI:        "http://opt.local",
			wantManagement: "http://optm.local",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearV3Env(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			a, err := smartcar.NewAppClient(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if a.APIOrigin() != tt.wantAPI || a.ManagementOrigin() != tt.wantManagement || a.ClientID() != "id" {
				t.Errorf("origins %q %q, client id %q; want %q %q, id", a.APIOrigin(), a.ManagementOrigin(), a.ClientID(),
					tt.wantAPI, tt.wantManagement)
			}
		})
	}

	t.Run("credentials and IAM origin from the environment", func(t *testing.T) {
		clearV3Env(t)
		t.Setenv("SMARTCAR_CLIENT_ID", appClientID)
		t.Setenv("SMARTCAR_CLIENT_SECRET", appClientSecret)
		t.Setenv("SMARTCAR_IAM_ORIGIN", f.URL+"/oauth2/token") // a full token URL is accepted
		a, err := smartcar.NewAppClient(&smartcar.AppClientOptions{HTTPClient: f.Client()})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := a.Token(t.Context())
		if err != nil || tok != "app-tok-1" {
			t.Fatalf("Token = %q, %v; want app-tok-1", tok, err)
		}
		form := f.tokenForms[0]
		if form.Get("grant_type") != "client_credentials" || form.Get("client_id") != appClientID ||
			form.Get("client_secret") != appClientSecret {
			t.Errorf("token form = %v", form)
		}
	})
}

func TestNewAppClient_missingCredentials(t *testing.T) {
	clearV3Env(t)
	_, err := smartcar.NewAppClient(&smartcar.AppClientOptions{ClientID: "id"})
	if !errors.Is(err, smartcar.ErrMissingCredentials) || !strings.Contains(err.Error(), "SMARTCAR_CLIENT_SECRET") ||
		strings.Contains(err.Error(), "SMARTCAR_CLIENT_ID") {
		t.Errorf("error = %v, want ErrMissingCredentials naming SMARTCAR_CLIENT_SECRET only", err)
	}
	_, err = smartcar.NewAppClient(nil)
	if !errors.Is(err, smartcar.ErrMissingCredentials) || !strings.Contains(err.Error(), "SMARTCAR_CLIENT_ID, SMARTCAR_CLIENT_SECRET") {
		t.Errorf("error = %v, want both variables named", err)
	}
}

func TestAppClient_Token_cachedAndRenewed(t *testing.T) {
	tests := []struct {
		name       string
		expiresIn  int
		stillValid time.Duration // the first token is reused this long after it was fetched
		renewed    time.Duration // and replaced this long after
	}{
		{name: "one hour token, renewed 5 minutes early", expiresIn: 3600, stillValid: 54*time.Minute + 59*time.Second, renewed: 55 * time.Minute},
		{name: "short token, renewed with a tenth of its life left", expiresIn: 100, stillValid: 89 * time.Second, renewed: 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newV3Fake(t, nil)
			f.tokenReply = func(n int) reply {
				return reply{body: fmt.Sprintf(`{"access_token":"app-tok-%d","token_type":"Bearer","expires_in":%d}`, n, tt.expiresIn)}
			}
			a := f.app(t)
			now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
			var mu sync.Mutex
			smartcar.SetAppClientClock(a, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
			set := func(d time.Duration) {
				mu.Lock()
				now = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC).Add(d)
				mu.Unlock()
			}
			ctx := t.Context()
			for _, step := range []struct {
				at   time.Duration
				want string
			}{{0, "app-tok-1"}, {time.Second, "app-tok-1"}, {tt.stillValid, "app-tok-1"}, {tt.renewed, "app-tok-2"}, {tt.renewed + time.Second, "app-tok-2"}} {
				set(step.at)
				got, err := a.Token(ctx)
				if err != nil || got != step.want {
					t.Fatalf("at +%v: Token = %q, %v; want %q", step.at, got, err, step.want)
				}
			}
			if n := f.tokenRequests(); n != 2 {
				t.Errorf("token requests = %d, want 2", n)
			}
			at, err := a.AppToken(ctx)
			if err != nil || !at.Expiry.Equal(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC).Add(tt.renewed).Add(time.Duration(tt.expiresIn)*time.Second)) {
				t.Errorf("AppToken = %v, %v", at, err)
			}
		})
	}
}

func TestAppClient_Token_oneRequestForManyCallers(t *testing.T) {
	const callers = 100
	f := newV3Fake(t, nil)
	release := f.gateTokens(t, callers)
	a := f.app(t)
	waiting := make(chan struct{}, callers)
	smartcar.SetTokenWaitHook(a, func() { waiting <- struct{}{} })

	var wg sync.WaitGroup
	got := make([]string, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = a.Token(t.Context()) })
	}
	<-f.tokenArrived // one caller is fetching ...
	for range callers - 1 {
		select {
		case <-waiting: // ... and every other one waits for it
		case <-f.tokenArrived:
			t.Fatal("a second token request while the first is in flight")
		}
	}
	release()
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || got[i] != "app-tok-1" {
			t.Fatalf("caller %d: Token = %q, %v", i, got[i], errs[i])
		}
	}
	if n := f.tokenRequests(); n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
}

func TestAppClient_Token_fetcherGivesUp(t *testing.T) {
	f := newV3Fake(t, nil)
	release := f.gateTokens(t, 2)
	a := f.app(t)
	waiting := make(chan struct{}, 2)
	smartcar.SetTokenWaitHook(a, func() { waiting <- struct{}{} })

	leaderCtx, cancelLeader := context.WithCancel(t.Context())
	leaderErr := make(chan error, 1)
	go func() { _, err := a.Token(leaderCtx); leaderErr <- err }()
	<-f.tokenArrived
	waiterTok := make(chan string, 1)
	waiterErr := make(chan error, 1)
	go func() {
		tok, err := a.Token(t.Context())
		waiterTok <- tok
		waiterErr <- err
	}()
	<-waiting
	cancelLeader()
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader: %v, want context.Canceled", err)
	}
	<-f.tokenArrived // the waiter fetches for itself
	release()
	if tok, err := <-waiterTok, <-waiterErr; err != nil || tok != "app-tok-2" {
		t.Errorf("waiter: Token = %q, %v; want app-tok-2", tok, err)
	}
}

func TestAppClient_Token_waiterContext(t *testing.T) {
	f := newV3Fake(t, nil)
	release := f.gateTokens(t, 1)
	a := f.app(t)
	waiting := make(chan struct{}, 1)
	smartcar.SetTokenWaitHook(a, func() { waiting <- struct{}{} })
	leader := make(chan error, 1)
	go func() { _, err := a.Token(t.Context()); leader <- err }()
	<-f.tokenArrived
	ctx, cancel := context.WithCancel(t.Context())
	waiter := make(chan error, 1)
	go func() { _, err := a.Token(ctx); waiter <- err }()
	<-waiting
	cancel()
	err := <-waiter
	if e, ok := err.(*smartcar.Error); !ok || e.Code != "CANCELED" || !errors.Is(err, context.Canceled) {
		t.Errorf("waiter error = %v, want a CANCELED *Error wrapping context.Canceled", err)
	}
	release()
	if err := <-leader; err != nil {
		t.Errorf("leader: %v", err)
	}
}

func TestAppClient_Token_errors(t *testing.T) {
	tests := []struct {
		name     string
		reply    reply
		wantType string
		wantCode string
		status   int
	}{
		{name: "wrong secret", reply: reply{status: 401, body: `{"error":"invalid_client","error_description":"bad secret ` + appClientSecret + `"}`},
			wantType: smartcar.TypeOAuth, wantCode: "invalid_client", status: 401},
		{name: "bad request", reply: reply{status: 400, body: `{"error":"invalid_request","error_description":"missing field"}`},
			wantType: smartcar.TypeOAuth, wantCode: "invalid_request", status: 400},
		{name: "no access token", reply: reply{body: `{"token_type":"Bearer","expires_in":3600}`},
			wantType: smartcar.TypeSDK, wantCode: "INVALID_RESPONSE", status: 200},
		{name: "server error", reply: reply{status: 503, body: `<html>down</html>`},
			wantType: smartcar.TypeSDK, wantCode: "INVALID_RESPONSE", status: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newV3Fake(t, map[string][]reply{"GET /v3/vehicles/vid": {{body: `{"data":{"id":"vid"}}`}}})
			f.tokenReply = func(int) reply { return tt.reply }
			a := f.app(t)
			_, err := a.Token(t.Context())
			e := checkErr(t, err, tt.wantType, tt.wantCode)
			if e.StatusCode != tt.status || strings.Contains(e.Error(), appClientSecret) {
				t.Errorf("error %v: status %d, want %d and no secret", e, e.StatusCode, tt.status)
			}
			// A v3 call fails with the same error, and a failed fetch is not cached.
			_, err = a.Vehicle("vid", "uid").Info(t.Context())
			checkErr(t, err, tt.wantType, tt.wantCode)
			if n, api := f.tokenRequests(), len(f.requests()); n != 2 || api != 0 {
				t.Errorf("token requests %d, API requests %d; want 2 and 0", n, api)
			}
		})
	}
}

func TestAppClient_unauthorized(t *testing.T) {
	info := `{"data":{"id":"vid","type":"vehicle","attributes":{"make":"TESLA","model":"Model 3","year":2019}}}`
	t.Run("a 401 fetches a new token once and retries once", func(t *testing.T) {
		f := newV3Fake(t, map[string][]reply{"GET /v3/vehicles/vid": {{body: info}}})
		f.accept = func(tok string) bool { return tok == "app-tok-2" }
		got, err := f.app(t).Vehicle("vid", "uid").Info(t.Context())
		if err != nil || got.Make != "TESLA" {
			t.Fatalf("Info = %+v, %v", got, err)
		}
		reqs := f.requests()
		if len(reqs) != 2 || reqs[0].Header.Get("Authorization") != "Bearer app-tok-1" ||
			reqs[1].Header.Get("Authorization") != "Bearer app-tok-2" || f.tokenRequests() != 2 {
			t.Errorf("requests %v, token requests %d; want tok-1 then tok-2, 2 tokens", authHeaders(reqs), f.tokenRequests())
		}
	})
	t.Run("a second 401 is returned", func(t *testing.T) {
		f := newV3Fake(t, map[string][]reply{"GET /v3/vehicles/vid": {{body: info}}})
		f.accept = func(string) bool { return false }
		_, err := f.app(t).Vehicle("vid", "uid").Info(t.Context())
		e := checkErr(t, err, smartcar.TypeAuthentication, "")
		if e.StatusCode != 401 || len(f.requests()) != 2 || f.tokenRequests() != 2 {
			t.Errorf("error %v after %d requests and %d tokens; want 401 after 2 and 2", e, len(f.requests()), f.tokenRequests())
		}
		if strings.Contains(e.Error(), "app-tok") {
			t.Errorf("error %q holds a token", e)
		}
	})
	t.Run("many callers failing with the same token renew it once", func(t *testing.T) {
		f := newV3Fake(t, map[string][]reply{"GET /v3/vehicles/vid": {{body: info}}})
		f.accept = func(tok string) bool { return tok != "app-tok-1" }
		a := f.app(t)
		if _, err := a.Token(t.Context()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Go(func() { _, errs[i] = a.Vehicle("vid", "uid").Info(t.Context()) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if n := f.tokenRequests(); n != 2 {
			t.Errorf("token requests = %d, want 2 (the first and one renewal)", n)
		}
	})
	t.Run("a user token is not renewed", func(t *testing.T) {
		f := newV3Fake(t, map[string][]reply{"GET /v3/vehicles/vid": {{body: info}}})
		f.accept = func(string) bool { return false }
		_, err := f.client().VehicleV3("vid", "user-access-token").Info(t.Context())
		checkErr(t, err, smartcar.TypeAuthentication, "")
		if len(f.requests()) != 1 || f.tokenRequests() != 0 {
			t.Errorf("%d requests, %d token requests; want 1 and 0", len(f.requests()), f.tokenRequests())
		}
	})
}

func authHeaders(reqs []recorded) []string {
	var out []string
	for _, r := range reqs {
		out = append(out, r.Header.Get("Authorization"))
	}
	return out
}

func TestAppClient_neverShowsSecrets(t *testing.T) {
	f := newV3Fake(t, nil)
	a := f.app(t)
	at, err := a.AppToken(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	opts := smartcar.AppClientOptions{ClientID: appClientID, ClientSecret: appClientSecret}
	v := f.client().VehicleV3("vid", "user-access-token")
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "app", a, "token", at, "opts", opts, "vehicle", v,
		"app_vehicle", a.Vehicle("vid", "uid"))
	texts := []string{
		fmt.Sprint(a), fmt.Sprintf("%+v", a), fmt.Sprintf("%#v", a),
		fmt.Sprint(at), fmt.Sprintf("%#v", at), fmt.Sprint(opts), fmt.Sprintf("%+v", opts), fmt.Sprintf("%#v", &opts),
		fmt.Sprint(v), fmt.Sprintf("%#v", v), logged.String(),
	}
	for _, s := range texts {
		for _, secret := range []string{appClientSecret, at.Value, "user-access-token"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows a secret", s)
			}
		}
	}
	if !strings.Contains(logged.String(), `"client_id":"`+appClientID+`"`) {
		t.Errorf("log %s lacks the client id", logged.String())
	}
	// A v3 error body that echoes the token and the secret is redacted.
	f.routes = map[string][]reply{"GET /v3/vehicles/vid/signals": {{status: http.StatusBadRequest,
		body: `{"type":"VALIDATION","code":"PARAMETER","description":"token ` + at.Value + ` secret ` + appClientSecret + `"}`}}}
	_, err = a.Vehicle("vid", "uid").Signals(t.Context())
	e := checkErr(t, err, smartcar.TypeValidation, "PARAMETER")
	if e.Description != "token REDACTED secret REDACTED" {
		t.Errorf("description = %q", e.Description)
	}
}
