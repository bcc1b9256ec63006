package smartcar_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

func TestNewClient_env(t *testing.T) {
	srv := serve(t, reply{header: metaHeaders, body: `{"id":"user-1","vehicles":["v1"],"paging":{"count":1,"offset":0}}`})
	tests := []struct {
		name     string
		env      map[string]string
		opts     []smartcar.ClientOption
		wantPath string // of GET /user
		wantHit  bool
	}{
		{
			name:     "api origin from env",
			env:      map[string]string{smartcar.EnvAPIOrigin: srv.URL + "/"},
			wantPath: "/v2.0/user",
			wantHit:  true,
		},
		{
			name:     "option wins over env",
			env:      map[string]string{smartcar.EnvAPIOrigin: "http://127.0.0.1:1"},
			opts:     []smartcar.ClientOption{smartcar.WithAPIOrigin(srv.URL + "/base")},
			wantPath: "/base/v2.0/user",
			wantHit:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			before := len(srv.requests())
			user, err := smartcar.NewClient(tt.opts...).GetUser(context.Background(), "tok")
			if err != nil {
				t.Fatalf("get user: %v", err)
			}
			if user.ID != "user-1" {
				t.Errorf("user id = %q, want user-1", user.ID)
			}
			reqs := srv.requests()[before:]
			if len(reqs) != 1 || reqs[0].Path != tt.wantPath {
				t.Errorf("requests = %+v, want one to %s", reqs, tt.wantPath)
			}
		})
	}
}

func TestNewClient_defaults(t *testing.T) {
	clearEnv(t)
	c := smartcar.NewClient()
	if c.Version() != "2.0" || c.UnitSystem() != smartcar.Metric || c.UserAgent() != wantUserAgent() {
		t.Errorf("defaults = %q %q %q, want 2.0 metric %q", c.Version(), c.UnitSystem(), c.UserAgent(), wantUserAgent())
	}
	if got := c.HTTPClient().Timeout; got != 310*time.Second {
		t.Errorf("HTTP timeout = %v, want 310s", got)
	}
	auth, err := smartcar.NewAuthClient(smartcar.WithClientID("id"), smartcar.WithClientSecret("s"), smartcar.WithRedirectURI("https://r"))
	if err != nil {
		t.Fatalf("new auth client: %v", err)
	}
	if got := auth.AuthURL(nil, nil); !strings.HasPrefix(got, "https://connect.smartcar.com/oauth/authorize?") {
		t.Errorf("auth url = %q, want the default connect origin", got)
	}
}

func TestClient_authOrigin(t *testing.T) {
	tests := []struct {
		name   string
		env    func(srvURL string) string
		prefix string
	}{
		{name: "bare origin", env: func(u string) string { return u }},
		{name: "full token url", env: func(u string) string { return u + "/oauth/token" }},
		{name: "trailing slash", env: func(u string) string { return u + "/" }},
		{name: "path prefix", env: func(u string) string { return u + "/auth/oauth/token/" }, prefix: "/auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, reply{body: `{"access_token":"a","token_type":"Bearer","expires_in":7200,"refresh_token":"r"}`})
			clearEnv(t)
			t.Setenv(smartcar.EnvAuthOrigin, tt.env(srv.URL))
			t.Setenv(smartcar.EnvClientID, "id")
			t.Setenv(smartcar.EnvClientSecret, "secret")
			t.Setenv(smartcar.EnvRedirectURI, "https://example.com/cb")
			auth, err := smartcar.NewAuthClient()
			if err != nil {
				t.Fatalf("new auth client: %v", err)
			}
			if _, err := auth.ExchangeRefreshToken(context.Background(), "r0"); err != nil {
				t.Fatalf("exchange: %v", err)
			}
			if got := srv.last(t).Path; got != tt.prefix+"/oauth/token" {
				t.Errorf("token path = %q, want %q", got, tt.prefix+"/oauth/token")
			}
		})
	}
}

func TestClient_connectAndManagementOrigins(t *testing.T) {
	srv := serve(t, reply{body: `{"connections":[],"paging":{"cursor":null}}`})
	clearEnv(t)
	t.Setenv(smartcar.EnvConnectOrigin, "https://connect.example.com/")
	t.Setenv(smartcar.EnvManagementOrigin, srv.URL)
	t.Setenv(smartcar.EnvClientID, "id")
	t.Setenv(smartcar.EnvClientSecret, "secret")
	t.Setenv(smartcar.EnvRedirectURI, "https://example.com/cb")
	auth, err := smartcar.NewAuthClient()
	if err != nil {
		t.Fatalf("new auth client: %v", err)
	}
	if got := auth.AuthURL(nil, nil); !strings.HasPrefix(got, "https://connect.example.com/oauth/authorize?") {
		t.Errorf("auth url = %q, want the connect origin from the env", got)
	}
	if _, err := smartcar.GetConnections(context.Background(), "amt", nil); err != nil {
		t.Fatalf("get connections: %v", err)
	}
	if got := srv.last(t).Path; got != "/v2.0/management/connections" {
		t.Errorf("path = %q, want /v2.0/management/connections", got)
	}
}

func TestClient_invalidSettings(t *testing.T) {
	tests := []struct {
		name     string
		opts     []smartcar.ClientOption
		vopts    []smartcar.VehicleOption
		wantCode string
	}{
		{name: "version without minor", opts: []smartcar.ClientOption{smartcar.WithVersion("2")}, wantCode: "VERSION"},
		{name: "version with a v", opts: []smartcar.ClientOption{smartcar.WithVersion("v2.0")}, wantCode: "VERSION"},
		{name: "version with junk", opts: []smartcar.ClientOption{smartcar.WithVersion("2.0x")}, wantCode: "VERSION"},
		{name: "version without major", opts: []smartcar.ClientOption{smartcar.WithVersion(".0")}, wantCode: "VERSION"},
		{name: "unit system", opts: []smartcar.ClientOption{smartcar.WithUnitSystem("kelvin")}, wantCode: "UNIT_SYSTEM"},
		{name: "vehicle version", vopts: []smartcar.VehicleOption{smartcar.WithVehicleVersion("two")}, wantCode: "VERSION"},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, reply{body: `{}`})
			c := srv.client(tt.opts...)
			v := c.Vehicle("vid", "tok", tt.vopts...)
			calls := map[string]func() error{
				"odometer":    func() error { _, err := v.Odometer(ctx); return err },
				"lock":        func() error { _, err := v.Lock(ctx); return err },
				"subscribe":   func() error { _, err := v.Subscribe(ctx, "w"); return err },
				"unsubscribe": func() error { _, err := v.Unsubscribe(ctx, "amt", "w"); return err },
				"request":     func() error { _, err := v.Request(ctx, "GET", "/", nil); return err },
				"batch":       func() error { _, err := v.Batch(ctx, []string{"/odometer"}); return err },
			}
			if len(tt.vopts) == 0 {
				calls["client batch"] = func() error { _, err := c.Batch(ctx, "tok", "vid", []string{"/odometer"}); return err }
				calls["user"] = func() error { _, err := c.GetUser(ctx, "tok"); return err }
				calls["vehicles"] = func() error { _, err := c.GetVehicles(ctx, "tok", nil); return err }
				calls["connections"] = func() error { _, err := c.GetConnections(ctx, "amt", nil); return err }
				calls["delete connections"] = func() error {
					_, err := c.DeleteConnections(ctx, "amt", smartcar.ConnectionsFilter{UserID: "u"})
					return err
				}
				calls["compatibility"] = func() error {
					_, err := c.GetCompatibility(ctx, "VIN", nil, &smartcar.CompatibilityOptions{ClientID: "i", ClientSecret: "s"})
					return err
				}
			}
			for name, call := range calls {
				e := checkErr(t, call(), smartcar.TypeValidation, tt.wantCode)
				if e != nil && e.Retryable() {
					t.Errorf("%s: error is retryable, want permanent", name)
				}
			}
			if n := len(srv.requests()); n != 0 {
				t.Errorf("server received %d requests, want 0", n)
			}
		})
	}
}

func TestClient_userAgentAndHTTPClient(t *testing.T) {
	srv := serve(t, reply{header: metaHeaders, body: `{"distance":1}`})
	counted := &countingTransport{next: srv.Client().Transport}
	c := smartcar.NewClient(
		smartcar.WithAPIOrigin(srv.URL),
		smartcar.WithHTTPClient(&http.Client{Transport: counted}),
		smartcar.WithHTTPClient(nil), // ignored
		smartcar.WithUserAgent("poller/1.0"),
	)
	if _, err := c.Vehicle("vid", "tok").Odometer(context.Background()); err != nil {
		t.Fatalf("odometer: %v", err)
	}
	if got := srv.last(t).Header.Get("User-Agent"); got != "poller/1.0" {
		t.Errorf("User-Agent = %q, want poller/1.0", got)
	}
	if counted.n != 1 {
		t.Errorf("custom transport saw %d requests, want 1", counted.n)
	}
}

// countingTransport wraps a real transport and counts round trips.
type countingTransport struct {
	next http.RoundTripper
	n    int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n++
	return c.next.RoundTrip(r)
}

func TestClient_transportErrors(t *testing.T) {
	t.Run("context deadline", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		srv := serve(t, reply{hang: release})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := srv.client().Vehicle("vid", "tok").Odometer(ctx)
		e := checkErr(t, err, smartcar.TypeSDK, "TIMEOUT")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("errors.Is(err, context.DeadlineExceeded) = false for %v", err)
		}
		if !e.Retryable() {
			t.Error("timeout is not retryable")
		}
	})
	t.Run("canceled context", func(t *testing.T) {
		srv := serve(t, reply{body: `{}`})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := srv.client().Vehicle("vid", "tok").Batch(ctx, []string{"/odometer"})
		checkErr(t, err, smartcar.TypeSDK, "CANCELED")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("errors.Is(err, context.Canceled) = false for %v", err)
		}
	})
	t.Run("http client timeout", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		srv := serve(t, reply{hang: release})
		hc := srv.Client()
		hc.Timeout = 50 * time.Millisecond
		_, err := srv.client(smartcar.WithHTTPClient(hc)).GetUser(context.Background(), "tok")
		checkErr(t, err, smartcar.TypeSDK, "TIMEOUT")
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := serve(t, reply{})
		origin := srv.URL
		srv.Close()
		_, err := smartcar.NewClient(smartcar.WithAPIOrigin(origin)).GetVehicles(context.Background(), "secret-tok", nil)
		e := checkErr(t, err, smartcar.TypeSDK, "NETWORK")
		var ue *url.Error
		if !errors.As(err, &ue) {
			t.Errorf("errors.As(err, *url.Error) = false for %v", err)
		}
		if strings.Contains(e.Error(), "secret-tok") {
			t.Errorf("error %q contains the token", e.Error())
		}
	})
	t.Run("bad origin", func(t *testing.T) {
		_, err := smartcar.NewClient(smartcar.WithAPIOrigin("http://[::1")).GetUser(context.Background(), "tok")
		checkErr(t, err, smartcar.TypeValidation, "REQUEST")
	})
}

func TestClient_GetVehicles(t *testing.T) {
	tests := []struct {
		name      string
		paging    *smartcar.Paging
		wantQuery url.Values
	}{
		{name: "no paging"},
		{name: "limit and offset", paging: &smartcar.Paging{Limit: 10, Offset: 20}, wantQuery: url.Values{"limit": {"10"}, "offset": {"20"}}},
		{name: "offset only", paging: &smartcar.Paging{Offset: 5}, wantQuery: url.Values{"offset": {"5"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, reply{header: metaHeaders, body: `{"paging":{"count":25,"offset":10},"vehicles":["36ab27d0"]}`})
			clearEnv(t)
			t.Setenv(smartcar.EnvAPIOrigin, srv.URL)
			got, err := smartcar.GetVehicles(context.Background(), "tok", tt.paging)
			if err != nil {
				t.Fatalf("get vehicles: %v", err)
			}
			want := &smartcar.Vehicles{Paging: smartcar.PageInfo{Count: 25, Offset: 10}, Vehicles: []string{"36ab27d0"}, Meta: wantMeta}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("vehicles (-want +got):\n%s", diff)
			}
			req := srv.last(t)
			checkRequest(t, req, http.MethodGet, "/v2.0/vehicles", tt.wantQuery, "")
			checkHeaders(t, req.Header, map[string]string{"Authorization": "Bearer tok", "User-Agent": wantUserAgent()})
		})
	}
}

func TestGetUser(t *testing.T) {
	srv := serve(t, reply{header: metaHeaders, body: `{"id":"e0514ef4"}`})
	clearEnv(t)
	t.Setenv(smartcar.EnvAPIOrigin, srv.URL)
	got, err := smartcar.GetUser(context.Background(), "tok")
	if err != nil {
		t.Fatalf("get user: %v", err)
	}
	if diff := cmp.Diff(&smartcar.User{ID: "e0514ef4", Meta: wantMeta}, got); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
	req := srv.last(t)
	checkRequest(t, req, http.MethodGet, "/v2.0/user", nil, "")
	checkHeaders(t, req.Header, map[string]string{"Authorization": "Bearer tok"})
}
