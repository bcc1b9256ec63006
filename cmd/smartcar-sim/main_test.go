package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// startSim runs the command with args until the test ends and returns the
// variables its output exports and the whole output up to "# ready".
func startSim(t *testing.T, args ...string) (env map[string]string, printed string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), w, io.Discard)
		w.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run() = %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("run did not return after cancel")
		}
	})

	env = map[string]string{}
	var b strings.Builder
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		b.WriteString(line + "\n")
		if line == "# ready" {
			break
		}
		if rest, ok := strings.CutPrefix(line, "export "); ok {
			k, v, _ := strings.Cut(rest, "=")
			if _, dup := env[k]; dup {
				t.Errorf("%s exported twice", k)
			}
			env[k] = v
		}
	}
	if !strings.HasSuffix(b.String(), "# ready\n") {
		t.Fatalf("output ended before # ready:\n%s", b.String())
	}
	go io.Copy(io.Discard, out)
	return env, b.String()
}

// TestRun starts the command, reads its settings, uses them like a client
// would, and stops it.
func TestRun(t *testing.T) {
	env, printed := startSim(t, "-vehicles", "5", "-users", "2", "-no-limits", "-seed", "9", "-time-scale", "60")
	for _, k := range []string{"SMARTCAR_API_ORIGIN", "SMARTCAR_AUTH_ORIGIN", "SMARTCAR_CONNECT_ORIGIN",
		"SMARTCAR_MANAGEMENT_API_ORIGIN", "SMARTCAR_CLIENT_ID", "SMARTCAR_CLIENT_SECRET", "SMARTCAR_REDIRECT_URI",
		"SMARTCAR_AMT", "SMARTCAR_REFRESH_TOKEN_1", "SMARTCAR_REFRESH_TOKEN_2"} {
		if env[k] == "" {
			t.Errorf("no %s in the output", k)
		}
	}
	if n := strings.Count(printed, "\n#   vehicle "); n != 5 {
		t.Errorf("%d vehicle lines, want 5", n)
	}

	// Refresh user 2's token and list that user's vehicles.
	tok := refreshAt(t, env["SMARTCAR_AUTH_ORIGIN"]+"/oauth/token", env, env["SMARTCAR_REFRESH_TOKEN_2"])
	req, _ := http.NewRequest("GET", env["SMARTCAR_API_ORIGIN"]+"/v2.0/vehicles", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	var vehicles struct{ Vehicles []string }
	mustJSON(t, req, &vehicles)
	if len(vehicles.Vehicles) != 2 {
		t.Errorf("user 2 has %d vehicles, want 2 of 5", len(vehicles.Vehicles))
	}
}

// TestRun_stops: once run returns, nothing answers on its address.
func TestRun_stops(t *testing.T) {
	var origin string
	t.Run("serve", func(t *testing.T) {
		env, _ := startSim(t)
		origin = env["SMARTCAR_API_ORIGIN"]
	})
	if _, err := http.Get(origin + "/v2.0/user"); err == nil {
		t.Error("server still answers after run returned")
	}
}

// TestRun_sdk: each -sdk exports the variables that client reads, shaped as
// it reads them, and they work the way that client uses them: this
// project's Go client (through the environment, for real), the Node SDK
// (appends /oauth/token to SMARTCAR_AUTH_ORIGIN) and the Python SDK (posts
// to SMARTCAR_AUTH_ORIGIN as it is).
func TestRun_sdk(t *testing.T) {
	tests := []struct {
		sdk       string
		tokenURL  func(authOrigin string) string
		v3        string // the SDK's name for the v3 vehicle API origin
		authShape string // SMARTCAR_AUTH_ORIGIN relative to the origin
	}{
		{"go", nil, "SMARTCAR_API_V3_ORIGIN", ""},
		{"node", func(o string) string { return o + "/oauth/token" }, "SMARTCAR_API_V3_ORIGIN", ""},
		{"python", func(o string) string { return o }, "SMARTCAR_VEHICLE_API_V3_ORIGIN", "/oauth/token"},
	}
	for _, tt := range tests {
		t.Run(tt.sdk, func(t *testing.T) {
			env, printed := startSim(t, "-sdk", tt.sdk)
			origin := strings.TrimPrefix(strings.SplitN(printed, "\n", 2)[0], "# Smartcar simulator on ")
			origin, _, _ = strings.Cut(origin, " ")
			want := map[string]string{
				"SMARTCAR_API_ORIGIN":               origin,
				"SMARTCAR_AUTH_ORIGIN":              origin + tt.authShape,
				"SMARTCAR_CONNECT_ORIGIN":           origin,
				"SMARTCAR_MANAGEMENT_API_ORIGIN":    origin,
				"SMARTCAR_IAM_ORIGIN":               origin,
				tt.v3:                               origin,
				"SMARTCAR_MANAGEMENT_API_V3_ORIGIN": origin,
			}
			for k, v := range want {
				if env[k] != v {
					t.Errorf("%s=%q, want %q", k, env[k], v)
				}
			}
			for _, label := range []string{"# Origins for smartcar-poller's Go client", "# Origins for the Python SDK"} {
				if !strings.Contains(printed, label) {
					t.Errorf("no block %q in the output:\n%s", label, printed)
				}
			}

			if tt.tokenURL == nil { // the Go client reads the environment itself
				for k, v := range env {
					t.Setenv(k, v)
				}
				auth, err := smartcar.NewAuthClient()
				if err != nil {
					t.Fatal(err)
				}
				access, err := auth.ExchangeRefreshToken(t.Context(), env["SMARTCAR_REFRESH_TOKEN_1"])
				if err != nil {
					t.Fatalf("refresh with the exported variables: %v", err)
				}
				vs, err := smartcar.GetVehicles(t.Context(), access.AccessToken, nil)
				if err != nil || len(vs.Vehicles) != 3 {
					t.Fatalf("vehicles with the exported variables: %+v, %v", vs, err)
				}
				return
			}
			tok := refreshAt(t, tt.tokenURL(env["SMARTCAR_AUTH_ORIGIN"]), env, env["SMARTCAR_REFRESH_TOKEN_1"])
			req, _ := http.NewRequest("GET", env["SMARTCAR_API_ORIGIN"]+"/v2.0/vehicles", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			var vehicles struct{ Vehicles []string }
			mustJSON(t, req, &vehicles)
			if len(vehicles.Vehicles) != 3 {
				t.Errorf("%d vehicles, want 3", len(vehicles.Vehicles))
			}
		})
	}
}

// refreshAt spends refreshToken at tokenURL with the exported client
// credentials and returns the new access token.
func refreshAt(t *testing.T, tokenURL string, env map[string]string, refreshToken string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", tokenURL, strings.NewReader(
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(env["SMARTCAR_CLIENT_ID"], env["SMARTCAR_CLIENT_SECRET"])
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	mustJSON(t, req, &tok)
	if tok.AccessToken == "" {
		t.Fatalf("POST %s: no access token", tokenURL)
	}
	return tok.AccessToken
}

func mustJSON(t *testing.T, req *http.Request, v any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: HTTP %d %s", req.Method, req.URL, resp.StatusCode, body)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestRun_BadFlags(t *testing.T) {
	tests := [][]string{
		{"-vehicles", "-1"},
		{"-users", "0"},
		{"-time-scale", "0"},
		{"-log-level", "loud"},
		{"-sdk", "ruby"},
		{"-nope"},
		{"extra"},
		{"-addr", "256.0.0.1:99999"},
	}
	for _, args := range tests {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := run(ctx, args, io.Discard, io.Discard); err == nil {
				t.Error("run() = nil, want an error")
			}
		})
	}
}
