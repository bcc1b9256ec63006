package smartcar_test

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

func TestNewAuthClient_credentials(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		opts        []smartcar.AuthOption
		wantMissing []string // names in the error; nil = success
		wantAbsent  []string // names that must not be in the error
	}{
		{
			name:        "nothing set",
			wantMissing: []string{"SMARTCAR_CLIENT_ID", "SMARTCAR_CLIENT_SECRET", "SMARTCAR_REDIRECT_URI"},
		},
		{
			name:        "only the secret missing",
			env:         map[string]string{smartcar.EnvClientID: "id", smartcar.EnvRedirectURI: "https://r"},
			wantMissing: []string{"SMARTCAR_CLIENT_SECRET"},
			wantAbsent:  []string{"SMARTCAR_CLIENT_ID", "SMARTCAR_REDIRECT_URI"},
		},
		{
			name:        "options fill what env lacks",
			env:         map[string]string{smartcar.EnvClientID: "id"},
			opts:        []smartcar.AuthOption{smartcar.WithClientSecret("s")},
			wantMissing: []string{"SMARTCAR_REDIRECT_URI"},
			wantAbsent:  []string{"SMARTCAR_CLIENT_ID", "SMARTCAR_CLIENT_SECRET"},
		},
		{
			name: "all from env",
			env:  map[string]string{smartcar.EnvClientID: "id", smartcar.EnvClientSecret: "s", smartcar.EnvRedirectURI: "https://r"},
		},
		{
			name: "all from options",
			opts: []smartcar.AuthOption{smartcar.WithClientID("id"), smartcar.WithClientSecret("s"), smartcar.WithRedirectURI("https://r")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			a, err := smartcar.NewAuthClient(tt.opts...)
			if tt.wantMissing == nil {
				if err != nil {
					t.Fatalf("new auth client: %v", err)
				}
				if a.ClientID() != "id" || a.Mode() != smartcar.ModeLive {
					t.Errorf("client id %q mode %q, want id live", a.ClientID(), a.Mode())
				}
				return
			}
			if err == nil {
				t.Fatal("new auth client succeeded, want an error")
			}
			if !errors.Is(err, smartcar.ErrMissingCredentials) {
				t.Errorf("errors.Is(%v, ErrMissingCredentials) = false", err)
			}
			if _, ok := smartcar.AsError(err); ok {
				t.Errorf("error %v is a *smartcar.Error, want a plain error", err)
			}
			for _, name := range tt.wantMissing {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name %s", err, name)
				}
			}
			for _, name := range tt.wantAbsent {
				if strings.Contains(err.Error(), name) {
					t.Errorf("error %q names %s, which is set", err, name)
				}
			}
		})
	}
}

// TestNewAuthClient_withoutRedirectURI builds a client that only refreshes:
// it needs no redirect URI, refreshes work and ExchangeCode says what is
// missing without calling Smartcar.
func TestNewAuthClient_withoutRedirectURI(t *testing.T) {
	clearEnv(t)
	srv := serve(t, reply{body: `{"access_token":"a","token_type":"Bearer","expires_in":7200,"refresh_token":"r"}`})
	a, err := smartcar.NewAuthClient(smartcar.WithClientID("id"), smartcar.WithClientSecret("s"),
		smartcar.WithoutRedirectURI(), smartcar.WithClient(srv.client()))
	if err != nil {
		t.Fatalf("new auth client: %v", err)
	}
	if _, err := a.ExchangeRefreshToken(t.Context(), "refresh-0"); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	_, err = a.ExchangeCode(t.Context(), "code-0")
	if !errors.Is(err, smartcar.ErrMissingCredentials) || !strings.Contains(err.Error(), smartcar.EnvRedirectURI) {
		t.Errorf("ExchangeCode = %v, want ErrMissingCredentials naming %s", err, smartcar.EnvRedirectURI)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("server got %d requests, want the refresh only", n)
	}
	// The client id and secret are still required.
	if _, err := smartcar.NewAuthClient(smartcar.WithoutRedirectURI()); !errors.Is(err, smartcar.ErrMissingCredentials) ||
		strings.Contains(err.Error(), smartcar.EnvRedirectURI) || !strings.Contains(err.Error(), smartcar.EnvClientSecret) {
		t.Errorf("without credentials: %v, want ErrMissingCredentials naming the id and secret only", err)
	}
}

func TestNewAuthClient_mode(t *testing.T) {
	clearEnv(t)
	base := []smartcar.AuthOption{smartcar.WithClientID("id"), smartcar.WithClientSecret("s"), smartcar.WithRedirectURI("https://r")}
	for _, mode := range []string{"live", "test", "simulated"} {
		a, err := smartcar.NewAuthClient(append(base, smartcar.WithMode(mode))...)
		if err != nil {
			t.Fatalf("mode %s: %v", mode, err)
		}
		if a.Mode() != mode {
			t.Errorf("Mode() = %q, want %q", a.Mode(), mode)
		}
	}
	_, err := smartcar.NewAuthClient(append(base, smartcar.WithMode("development"))...)
	if err == nil || !strings.Contains(err.Error(), "development") {
		t.Errorf("mode development: error = %v, want one naming the mode", err)
	}
	if _, ok := smartcar.AsError(err); ok {
		t.Errorf("error %v is a *smartcar.Error, want a plain error", err)
	}
}

func TestAuthClient_AuthURL(t *testing.T) {
	clearEnv(t)
	prefix := "https://connect.example.com/oauth/authorize?response_type=code&client_id=8229df9f&redirect_uri=https%3A%2F%2Fexample.com%2Fcb"
	tests := []struct {
		name  string
		mode  string
		scope []string
		opts  *smartcar.AuthURLOptions
		want  string
	}{
		{
			name:  "defaults",
			scope: []string{"read_odometer", "read_vehicle_info"},
			want:  prefix + "&approval_prompt=auto&scope=read_odometer%20read_vehicle_info&mode=live",
		},
		{
			name: "no scope",
			mode: "simulated",
			want: prefix + "&approval_prompt=auto&mode=simulated",
		},
		{
			name:  "every option",
			mode:  "test",
			scope: []string{"required:read_odometer"},
			opts: &smartcar.AuthURLOptions{
				ForcePrompt:  true,
				State:        "0facda3319",
				MakeBypass:   "TESLA",
				SingleSelect: &smartcar.SingleSelect{VIN: "5YJSA1CN5DFP00101"},
				Flags:        smartcar.Flags{"country": "DE", "color": "00819D"},
				User:         "owner 7",
			},
			want: prefix + "&approval_prompt=force&scope=required%3Aread_odometer&mode=test&state=0facda3319&make=TESLA" +
				"&single_select=true&single_select_vin=5YJSA1CN5DFP00101&flags=color%3A00819D%20country%3ADE&user=owner%207",
		},
		{
			name: "single select enabled",
			opts: &smartcar.AuthURLOptions{SingleSelect: &smartcar.SingleSelect{Enabled: true}},
			want: prefix + "&approval_prompt=auto&mode=live&single_select=true",
		},
		{
			name: "single select disabled",
			opts: &smartcar.AuthURLOptions{SingleSelect: &smartcar.SingleSelect{}},
			want: prefix + "&approval_prompt=auto&mode=live&single_select=false",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []smartcar.AuthOption{
				smartcar.WithClientID("8229df9f"), smartcar.WithClientSecret("s"), smartcar.WithRedirectURI("https://example.com/cb"),
				smartcar.WithAuthClient(smartcar.NewClient(smartcar.WithConnectOrigin("https://connect.example.com"))),
			}
			if tt.mode != "" {
				opts = append(opts, smartcar.WithMode(tt.mode))
			}
			a, err := smartcar.NewAuthClient(opts...)
			if err != nil {
				t.Fatalf("new auth client: %v", err)
			}
			got := a.AuthURL(tt.scope, tt.opts)
			if got != tt.want {
				t.Errorf("AuthURL =\n %s\nwant\n %s", got, tt.want)
			}
			if _, err := url.Parse(got); err != nil {
				t.Errorf("AuthURL is not a URL: %v", err)
			}
		})
	}
}

func TestAuthClient_exchange(t *testing.T) {
	tokenBody := `{"access_token":"cf7ba7e9","token_type":"Bearer","expires_in":7200,"refresh_token":"3e565aed"}`
	tests := []struct {
		name      string
		call      func(context.Context, *smartcar.AuthClient) (*smartcar.Access, error)
		flags     smartcar.Flags
		wantForm  url.Values
		wantQuery url.Values
	}{
		{
			name: "code",
			call: func(ctx context.Context, a *smartcar.AuthClient) (*smartcar.Access, error) {
				return a.ExchangeCode(ctx, "code-1")
			},
			wantForm: url.Values{"grant_type": {"authorization_code"}, "code": {"code-1"}, "redirect_uri": {"https://example.com/cb"}},
		},
		{
			name: "refresh token with flags",
			call: func(ctx context.Context, a *smartcar.AuthClient) (*smartcar.Access, error) {
				return a.ExchangeRefreshToken(ctx, "refresh-0")
			},
			flags:     smartcar.Flags{"country": "DE"},
			wantForm:  url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"refresh-0"}},
			wantQuery: url.Values{"flags": {"country:DE"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			srv := serve(t, reply{header: map[string]string{"Content-Type": "application/json"}, body: tokenBody})
			counted := &countingTransport{next: srv.Client().Transport}
			a, err := smartcar.NewAuthClient(
				smartcar.WithClientID("id"), smartcar.WithClientSecret("sec ret"), smartcar.WithRedirectURI("https://example.com/cb"),
				smartcar.WithClient(srv.client()),
				smartcar.WithAuthHTTPClient(&http.Client{Transport: counted}),
				smartcar.WithAuthFlags(tt.flags),
			)
			if err != nil {
				t.Fatalf("new auth client: %v", err)
			}
			before := time.Now()
			got, err := tt.call(context.Background(), a)
			after := time.Now()
			if err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if got.Expiration.Before(before.Add(7200*time.Second)) || got.Expiration.After(after.Add(7200*time.Second)) {
				t.Errorf("Expiration = %v, want now + 7200 s", got.Expiration)
			}
			if d := got.RefreshExpiration.Sub(got.Expiration); d != 60*24*time.Hour-7200*time.Second {
				t.Errorf("RefreshExpiration - Expiration = %v, want 60 days - 2 h", d)
			}
			want := &smartcar.Access{AccessToken: "cf7ba7e9", TokenType: "Bearer", ExpiresIn: 7200, RefreshToken: "3e565aed",
				Expiration: got.Expiration, RefreshExpiration: got.RefreshExpiration}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("access (-want +got):\n%s", diff)
			}
			if counted.n != 1 {
				t.Errorf("auth HTTP client saw %d requests, want 1", counted.n)
			}

			req := srv.last(t)
			form, err := url.ParseQuery(req.Body)
			if err != nil {
				t.Fatalf("parse form: %v", err)
			}
			checkRequest(t, req, http.MethodPost, "/oauth/token", tt.wantQuery, req.Body)
			if diff := cmp.Diff(tt.wantForm, form); diff != "" {
				t.Errorf("form (-want +got):\n%s", diff)
			}
			checkHeaders(t, req.Header, map[string]string{
				"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("id:sec ret")),
				"Content-Type":  "application/x-www-form-urlencoded",
				"User-Agent":    wantUserAgent(),
			})
		})
	}
}

func TestAuthClient_exchangeErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		want      smartcar.Error
		reauth    bool
		retryable bool
	}{
		{
			name:   "invalid refresh token",
			status: 400,
			body:   `{"error":"invalid_grant","error_description":"Invalid refresh_token: refresh-0."}`,
			want:   smartcar.Error{StatusCode: 400, Type: smartcar.TypeOAuth, Code: "invalid_grant", Description: "Invalid refresh_token: REDACTED."},
			reauth: true,
		},
		{
			name:   "invalid client",
			status: 401,
			body:   `{"error":"invalid_client","error_description":"bad secret top-secret"}`,
			want:   smartcar.Error{StatusCode: 401, Type: smartcar.TypeOAuth, Code: "invalid_client", Description: "bad secret REDACTED"},
		},
		{
			name:   "oauth error without description",
			status: 400,
			body:   `{"error":"invalid_request"}`,
			want:   smartcar.Error{StatusCode: 400, Type: smartcar.TypeOAuth, Code: "invalid_request"},
		},
		{
			name:      "success without a token",
			status:    200,
			body:      `{"token_type":"Bearer"}`,
			want:      smartcar.Error{StatusCode: 200, Type: smartcar.TypeSDK, Code: "INVALID_RESPONSE", Description: "token response has no access_token"},
			retryable: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, reply{status: tt.status, body: tt.body})
			a, err := smartcar.NewAuthClient(smartcar.WithClientID("id"), smartcar.WithClientSecret("top-secret"),
				smartcar.WithRedirectURI("https://r"), smartcar.WithClient(srv.client()))
			if err != nil {
				t.Fatalf("new auth client: %v", err)
			}
			access, err := a.ExchangeRefreshToken(context.Background(), "refresh-0")
			if access != nil {
				t.Errorf("access = %v, want nil", access)
			}
			e, ok := smartcar.AsError(err)
			if !ok {
				t.Fatalf("error = %v, want *smartcar.Error", err)
			}
			if diff := cmp.Diff(tt.want, *e, ignoreErr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if e.NeedsReauth() != tt.reauth || e.Retryable() != tt.retryable {
				t.Errorf("NeedsReauth() = %v, Retryable() = %v; want %v, %v", e.NeedsReauth(), e.Retryable(), tt.reauth, tt.retryable)
			}
			for _, s := range []string{"refresh-0", "top-secret"} {
				if strings.Contains(e.Error(), s) {
					t.Errorf("error %q contains the secret %q", e.Error(), s)
				}
			}
		})
	}
}

func TestAccess_expiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	a := &smartcar.Access{AccessToken: "at-secret", RefreshToken: "rt-secret", Expiration: now, RefreshExpiration: now.Add(time.Hour)}
	if a.AccessExpired(now.Add(-time.Second)) || !a.AccessExpired(now) {
		t.Error("AccessExpired is wrong around the expiration")
	}
	if a.RefreshExpired(now) || !a.RefreshExpired(now.Add(time.Hour)) {
		t.Error("RefreshExpired is wrong around the refresh expiration")
	}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("access", "access", a)
	for _, s := range []string{a.String(), b.String()} {
		if strings.Contains(s, "secret") || !strings.Contains(s, "REDACTED") {
			t.Errorf("%q shows a token or lacks REDACTED", s)
		}
	}
}
