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
)

// TestRun starts the command, reads its settings, uses them like a client
// would, and stops it.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-vehicles", "5", "-users", "2", "-no-limits",
			"-seed", "9", "-time-scale", "60"}, w, io.Discard)
		w.Close()
	}()

	env := map[string]string{}
	var vehicleLines int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if line == "# ready" {
			break
		}
		if strings.HasPrefix(line, "#   vehicle ") {
			vehicleLines++
		}
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(line, "export ") {
			env[k] = v
		}
	}
	go io.Copy(io.Discard, out)
	for _, k := range []string{"SMARTCAR_API_ORIGIN", "SMARTCAR_AUTH_ORIGIN", "SMARTCAR_CONNECT_ORIGIN",
		"SMARTCAR_MANAGEMENT_API_ORIGIN", "SMARTCAR_CLIENT_ID", "SMARTCAR_CLIENT_SECRET", "SMARTCAR_REDIRECT_URI",
		"SMARTCAR_AMT", "SMARTCAR_REFRESH_TOKEN_1", "SMARTCAR_REFRESH_TOKEN_2"} {
		if env[k] == "" {
			t.Errorf("no %s in the output", k)
		}
	}
	if vehicleLines != 5 {
		t.Errorf("%d vehicle lines, want 5", vehicleLines)
	}

	// Refresh user 2's token and list that user's vehicles.
	req, _ := http.NewRequest("POST", env["SMARTCAR_AUTH_ORIGIN"]+"/oauth/token", strings.NewReader(
		url.Values{"grant_type": {"refresh_token"}, "refresh_token": {env["SMARTCAR_REFRESH_TOKEN_2"]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(env["SMARTCAR_CLIENT_ID"], env["SMARTCAR_CLIENT_SECRET"])
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	mustJSON(t, req, &tok)
	req, _ = http.NewRequest("GET", env["SMARTCAR_API_ORIGIN"]+"/v2.0/vehicles", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	var vehicles struct{ Vehicles []string }
	mustJSON(t, req, &vehicles)
	if len(vehicles.Vehicles) != 2 {
		t.Errorf("user 2 has %d vehicles, want 2 of 5", len(vehicles.Vehicles))
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	if _, err := http.Get(env["SMARTCAR_API_ORIGIN"] + "/v2.0/user"); err == nil {
		t.Error("server still answers after run returned")
	}
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
