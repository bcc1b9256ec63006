package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/rediscredentials"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/daemon"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// tokenRecorder is an http.RoundTripper that keeps every access and refresh
// token in the responses it passes on (the simulator's token endpoint).
type tokenRecorder struct {
	mu     sync.Mutex
	tokens map[string]bool
}

func (r *tokenRecorder) add(toks ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range toks {
		if t != "" {
			r.tokens[t] = true
		}
	}
}

func (r *tokenRecorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.tokens))
	for t := range r.tokens {
		out = append(out, t)
	}
	return out
}

func (r *tokenRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	// The token endpoints: v2 pairs (/oauth/token), v3 application tokens
	// (/oauth2/token).
	if err != nil || !strings.HasSuffix(req.URL.Path, "/oauth/token") && !strings.HasSuffix(req.URL.Path, "/oauth2/token") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if json.Unmarshal(body, &tok) == nil {
		r.add(tok.AccessToken, tok.RefreshToken)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// TestNoSecretsInOutput runs the daemon on API v2 against the simulator with
// 2 s access tokens (so refreshes happen), injected faults (so errors
// happen) and a revoked grant (so needs_reauth happens), with grants
// encrypted at rest, and checks that no token, client secret or encryption
// key shows up in the logs, the events, the errors returned, /metrics or the
// stored records.
func TestNoSecretsInOutput(t *testing.T) {
	rec := &tokenRecorder{tokens: map[string]bool{}}
	sim := smartcartest.NewServer(smartcartest.WithSeed(11), smartcartest.WithUsers(2), smartcartest.WithVehicles(4),
		smartcartest.WithAccessTokenLifetime(2*time.Second), smartcartest.WithRefreshGrace(500*time.Millisecond),
		smartcartest.WithTimeScale(60))
	defer sim.Close()
	cfg := testConfig(t, sim)
	key := make([]byte, credentials.KeySize)
	for i := range key {
		key[i] = byte(0xA0 + i)
	}
	keyFile := filepath.Join(t.TempDir(), "token.key")
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Tokens.EncryptionKeyFile = keyFile
	cfg.Log.Level = "debug"
	cfg.Smartcar.API = config.APIV2
	cfg.Schedules = []config.Schedule{{Name: "fast", Cron: "@every 1s", Paths: []string{"/odometer", "/location"},
		Vehicles: config.Vehicles{All: true}, Emit: config.EmitAlways}}
	prefix := cfg.NATS.SubjectPrefix

	var logs testserver.Buffer
	var errs []string
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	ctx := t.Context()
	o := simOptions(sim)
	o.ClientOpts = append(o.ClientOpts, smartcar.WithHTTPClient(&http.Client{Transport: rec, Timeout: 30 * time.Second}))
	app, err := open(ctx, cfg, newLogger(&logs, "debug", "json"), o)
	if err != nil {
		t.Fatal(err)
	}
	cleanupNames(t, app, prefix)
	defer app.Close()

	users := sim.Users()
	vehiclesOf := map[string][]string{}
	for _, u := range users {
		tok, ok := sim.ConnectUser(u, nil, nil)
		if !ok {
			t.Fatalf("connect %s", u)
		}
		rec.add(tok.AccessToken, tok.RefreshToken)
		access, err := app.Auth().ExchangeRefreshToken(ctx, tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if vehiclesOf[u], err = app.connectGrant(ctx, access, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Errors: a vehicle endpoint failing, and the token endpoint failing once.
	sim.SetFault(vehiclesOf[users[0]][0], "/odometer", smartcartest.Fault{Type: "SERVER", Code: "INTERNAL", Times: 3})
	sim.SetFault("", "/oauth/token", smartcartest.Fault{Type: "server_error", Description: "try later", Times: 1})

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	waitUntil(t, 30*time.Second, "two refreshes", func() bool { return sim.Stats().Refreshes >= 3 })
	revoked := users[1]
	sim.RevokeGrant(revoked)
	waitUntil(t, 30*time.Second, "needs_reauth after the revocation", func() bool {
		v, err := app.Registry().GetVehicle(ctx, vehiclesOf[revoked][0])
		return err == nil && v.Status == events.StatusNeedsReauth
	})
	stop()
	keep(<-done)

	// Errors callers get back.
	_, err = app.Tokens().AccessToken(ctx, revoked)
	if err == nil {
		t.Error("AccessToken of a revoked grant's vehicle succeeded")
	}
	keep(err)
	_, err = app.Tokens().ForceRefresh(ctx, revoked, "")
	keep(err)
	_, err = app.Auth().ExchangeRefreshToken(ctx, "not-a-token-"+sim.ClientSecret[:4])
	keep(err)
	other, err := credentials.NewKeyring(make([]byte, credentials.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	_, err = rediscredentials.New(app.Redis(), cfg.Redis.KeyPrefix, other).GetGrant(ctx, revoked)
	if err == nil {
		t.Error("GetGrant with another key succeeded")
	}
	keep(err)
	bad := filepath.Join(t.TempDir(), "bad.key")
	if err := os.WriteFile(bad, []byte(hex.EncodeToString(key)[:60]), 0o600); err != nil {
		t.Fatal(err)
	}
	badCfg := *cfg
	badCfg.Tokens = config.Tokens{EncryptionKeyFile: bad}
	err = daemon.Check(&badCfg)
	if err == nil {
		t.Error("a short key was accepted")
	}
	keep(err)

	// Events, /metrics and the stored grant records.
	var evs strings.Builder
	for _, ev := range allEvents(t, app, prefix) {
		b, _ := json.Marshal(ev)
		evs.Write(b)
		evs.WriteByte('\n')
	}
	w := httptest.NewRecorder()
	app.metricsHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	var stored strings.Builder
	for _, u := range users {
		data, err := app.Redis().HGet(ctx, cfg.Redis.KeyPrefix+"grant:"+u, "data").Result()
		if err != nil {
			t.Fatalf("raw grant %s: %v", u, err)
		}
		stored.WriteString(data)
	}

	issued := rec.all()
	// 2 pairs at connect + 2 from the first exchange + the refreshes seen.
	if st := sim.Stats(); len(issued) < 8 || st.Refreshes < 3 || st.FaultsInjected < 2 {
		t.Fatalf("the run did too little to prove anything: %d tokens recorded, stats %+v", len(issued), st)
	}
	secrets := map[string]string{
		"client secret":      sim.ClientSecret,
		"key (base64)":       base64.StdEncoding.EncodeToString(key),
		"key (raw base64)":   base64.RawStdEncoding.EncodeToString(key),
		"key (hex)":          hex.EncodeToString(key),
		"key (bytes)":        string(key),
		"key file content":   strings.TrimSpace(base64.StdEncoding.EncodeToString(key)),
		"short key (hex)":    hex.EncodeToString(key)[:60],
		"client secret JSON": `"` + sim.ClientSecret + `"`,
	}
	for i, tok := range issued {
		secrets[fmt.Sprintf("issued token #%d", i)] = tok
	}
	outputs := map[string]string{
		"logs":           logs.String(),
		"events":         evs.String(),
		"errors":         strings.Join(errs, "\n"),
		"metrics":        w.Body.String(),
		"stored records": stored.String(),
	}
	for where, text := range outputs {
		if text == "" && where != "errors" {
			t.Errorf("%s: empty, nothing was checked", where)
		}
		for what, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s contain the %s", where, what)
			}
		}
	}
	for _, want := range []string{`"grant refreshed"`, `"level":"WARN"`, "needs reauthentication"} {
		if !strings.Contains(logs.String(), want) && !strings.Contains(strings.ToLower(logs.String()), strings.ToLower(want)) {
			t.Errorf("logs have no %s: the run did not exercise that path", want)
		}
	}
	if len(errs) < 3 {
		t.Errorf("only %d errors collected: %q", len(errs), errs)
	}
	t.Logf("checked %d secrets against %d bytes of logs, %d of events, %d errors, %d bytes of metrics",
		len(secrets), len(outputs["logs"]), len(outputs["events"]), len(errs), len(outputs["metrics"]))
}

// TestNoSecretsInOutput_v3 runs the daemon on API v3 with the application
// tokens living 200 s of the simulator's clock (10 s here: renewed once
// before they expire, and long enough that the jobs polled every second meet
// the revocation with a 401 before the next renewal), revoked once mid-run, failing /signals calls and a revoked user, and checks that no
// application or user token and no client secret shows up in the logs, the
// events, /metrics, the registry or the errors returned; and that no token
// pair is stored.
func TestNoSecretsInOutput_v3(t *testing.T) {
	rec := &tokenRecorder{tokens: map[string]bool{}}
	sim := smartcartest.NewServer(smartcartest.WithSeed(11), smartcartest.WithUsers(2), smartcartest.WithVehicles(4),
		smartcartest.WithAppTokenLifetime(200*time.Second), smartcartest.WithTimeScale(20),
		// Polled every second (20 s of the simulator's clock), the vehicles
		// would spend the default throttle's burst in about 10 s and wait
		// out a Retry-After of minutes, racing the revocation this test
		// waits to see: the throttle is tested elsewhere.
		smartcartest.WithVehicleRateLimit(1000, time.Second))
	defer sim.Close()
	cfg := testConfig(t, sim)
	cfg.Log.Level = "debug"
	cfg.Schedules = []config.Schedule{{Name: "fast", Cron: "@every 1s", Signals: []string{"odometer", "location", "transmission-gearstate"},
		Vehicles: config.Vehicles{All: true}, Emit: config.EmitAlways}}
	prefix := cfg.NATS.SubjectPrefix
	var logs testserver.Buffer
	ctx := t.Context()
	o := simOptions(sim)
	hc := &http.Client{Transport: rec, Timeout: 30 * time.Second}
	o.ClientOpts = append(o.ClientOpts, smartcar.WithHTTPClient(hc))
	o.AppOrigins.HTTPClient = hc
	app, err := open(ctx, cfg, newLogger(&logs, "debug", "json"), o)
	if err != nil {
		t.Fatal(err)
	}
	cleanupNames(t, app, prefix)
	defer app.Close()
	users := sim.Users()
	vehiclesOf := map[string][]string{}
	for _, u := range users {
		tok, ok := sim.ConnectUser(u, nil, nil)
		if !ok {
			t.Fatalf("connect %s", u)
		}
		rec.add(tok.AccessToken, tok.RefreshToken)
		access, err := app.Auth().ExchangeRefreshToken(ctx, tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if vehiclesOf[u], err = app.connectGrant(ctx, access, nil); err != nil {
			t.Fatal(err)
		}
	}
	sim.SetFault(vehiclesOf[users[0]][0], "/v3/vehicles/x/signals", smartcartest.Fault{Type: "SERVER", Code: "INTERNAL", Times: 3})

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	waitUntil(t, 30*time.Second, "two application tokens", func() bool { return sim.Stats().AppTokens >= 2 })
	sim.RevokeAppTokens()
	revoked := users[1]
	sim.RevokeGrant(revoked)
	waitUntil(t, 30*time.Second, "disconnected after the revocation", func() bool {
		v, err := app.Registry().GetVehicle(ctx, vehiclesOf[revoked][0])
		return err == nil && v.Status == events.StatusDisconnected
	})
	waitUntil(t, 30*time.Second, "a token after the revocation", func() bool { return sim.Stats().V3TokenErrors > 0 && sim.Stats().AppTokens >= 3 })
	stop()
	var errs []string
	if err := <-done; err != nil {
		errs = append(errs, err.Error())
	}
	if _, err := app.AppClient().Vehicle(vehiclesOf[revoked][0], revoked).Signals(ctx); err == nil {
		t.Error("a revoked user's vehicle answered")
	} else {
		errs = append(errs, err.Error())
	}

	var evs strings.Builder
	for _, ev := range allEvents(t, app, prefix) {
		b, _ := json.Marshal(ev)
		evs.Write(b)
		evs.WriteByte('\n')
	}
	w := httptest.NewRecorder()
	app.metricsHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	reg, err := app.Redis().HGetAll(ctx, cfg.Redis.KeyPrefix+"vehicles").Result()
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := app.Redis().Keys(ctx, cfg.Redis.KeyPrefix+"grant:*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("token pairs stored on API v3: %v, %v", keys, err)
	}
	issued := rec.all()
	if st := sim.Stats(); len(issued) < 3+2*len(users) || st.FaultsInjected < 3 {
		t.Fatalf("the run did too little to prove anything: %d tokens recorded, stats %+v", len(issued), st)
	}
	secrets := map[string]string{"client secret": sim.ClientSecret, "client secret JSON": `"` + sim.ClientSecret + `"`}
	for i, tok := range issued {
		secrets[fmt.Sprintf("issued token #%d", i)] = tok
	}
	outputs := map[string]string{
		"logs": logs.String(), "events": evs.String(), "errors": strings.Join(errs, "\n"),
		"metrics": w.Body.String(), "registry": fmt.Sprint(reg),
	}
	for where, text := range outputs {
		if text == "" {
			t.Errorf("%s: empty, nothing was checked", where)
		}
		for what, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s contain the %s", where, what)
			}
		}
	}
	t.Logf("checked %d secrets (%d application tokens) against %d bytes of logs, %d of events, %d errors, %d bytes of metrics",
		len(secrets), sim.Stats().AppTokens, len(outputs["logs"]), len(outputs["events"]), len(errs), len(outputs["metrics"]))
}

// waitUntil polls cond every 50 ms until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
