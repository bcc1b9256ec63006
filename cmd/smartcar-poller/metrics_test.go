package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// sample is one line of the Prometheus text exposition.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// exposition is one scrape of /metrics.
type exposition struct {
	text    string
	samples []sample
}

// parseExposition reads the text format; label values must not hold commas
// or escaped quotes (ours do not).
func parseExposition(t *testing.T, text string) exposition {
	t.Helper()
	e := exposition{text: text}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := sample{labels: map[string]string{}}
		rest := line
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.IndexByte(line, '}')
			s.name, rest = line[:i], line[j+1:]
			for _, kv := range strings.Split(line[i+1:j], ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Fatalf("bad label %q in %q", kv, line)
				}
				s.labels[k] = strings.Trim(v, `"`)
			}
		} else {
			s.name, rest, _ = strings.Cut(line, " ")
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			t.Fatalf("bad value in %q: %v", line, err)
		}
		s.value = v
		e.samples = append(e.samples, s)
	}
	return e
}

// get returns the value of the one series of name whose labels include kv
// (pairs), and whether there is one.
func (e exposition) get(name string, kv ...string) (float64, bool) {
	found, v := 0, 0.0
	for _, s := range e.samples {
		if s.name != name {
			continue
		}
		match := true
		for i := 0; i < len(kv); i += 2 {
			if s.labels[kv[i]] != kv[i+1] {
				match = false
				break
			}
		}
		if match {
			found++
			v = s.value
		}
	}
	return v, found == 1
}

// scrapeMetrics GETs url and parses it.
func scrapeMetrics(t *testing.T, url string) exposition {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	return parseExposition(t, string(body))
}

// status GETs url and returns the status code and body.
func status(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestMetrics_Daemon runs the daemon on API v2 against the simulator with 2 s access
// tokens, two Retry-After answers (a short one, whose follow-up comes back,
// and a long one still held when scraped) and a webhook with a bad
// signature, and checks every metric family on /metrics has a value that
// run implies.
func TestMetrics_Daemon(t *testing.T) {
	sim := smartcartest.NewServer(smartcartest.WithSeed(5), smartcartest.WithUsers(2), smartcartest.WithVehicles(4),
		smartcartest.WithAccessTokenLifetime(2*time.Second), smartcartest.WithRefreshGrace(500*time.Millisecond),
		smartcartest.WithVehicleRateLimit(1000, time.Millisecond), smartcartest.WithTimeScale(60))
	defer sim.Close()
	cfg := testConfig(t, sim)
	addr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	cfg.HTTP.Listen = addr
	cfg.Webhooks.Enabled = true
	cfg.Webhooks.ManagementToken = config.Secret(sim.ManagementToken)
	cfg.Smartcar.MonthlyQuota = 500
	cfg.Smartcar.API = config.APIV2 // refreshes and per-path outcomes; the v3 series: testDaemonPolls
	cfg.Schedules = []config.Schedule{{Name: "fast", Cron: "@every 1s", Paths: []string{"/odometer", "/location"},
		Vehicles: config.Vehicles{All: true}, Emit: config.EmitAlways}}
	ctx := t.Context()
	app, err := open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	cleanupNames(t, app, cfg.NATS.SubjectPrefix)
	defer app.Close()
	var vehicles []string
	for _, u := range sim.Users() {
		tok, ok := sim.ConnectUser(u, nil, nil)
		if !ok {
			t.Fatalf("connect %s", u)
		}
		access, err := app.Auth().ExchangeRefreshToken(ctx, tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := app.connectGrant(ctx, access, nil)
		if err != nil {
			t.Fatal(err)
		}
		vehicles = append(vehicles, ids...)
	}
	if len(vehicles) < 2 {
		t.Fatalf("only %d vehicles connected", len(vehicles))
	}
	sim.SetFault(vehicles[0], "/location", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 2 * time.Second, Times: 1})
	sim.SetFault(vehicles[1], "/location", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 10 * time.Minute, Times: 1})

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	base := "http://" + addr
	waitUntil(t, 30*time.Second, "/readyz to answer 200", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	resp, err := http.Post(base+"/webhooks/smartcar", "application/json", strings.NewReader(`{"eventType":"VERIFY"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned webhook: HTTP %d, want 401", resp.StatusCode)
	}
	if err := sim.SendWebhook(ctx, base+"/webhooks/smartcar", smartcartest.EventVehicleState, vehicles[len(vehicles)-1]); err != nil {
		t.Fatal(err)
	}

	// Until tokens were refreshed and the short hold's follow-up came back.
	var m exposition
	waitUntil(t, 60*time.Second, "refreshes and a redelivery on /metrics", func() bool {
		m = scrapeMetrics(t, base+"/metrics")
		ok, _ := m.get("smartcar_poller_token_refreshes_total", "outcome", "ok")
		redelivered, _ := m.get("smartcar_poller_queue_redeliveries_total")
		processed, _ := m.get("smartcar_poller_webhook_processed_total")
		waiting, _ := m.get("smartcar_poller_webhook_inbox_deliveries") // 0 once its ack is in
		return ok >= 2 && redelivered >= 1 && processed >= 1 && waiting == 0
	})

	projected := cfg.Projections()[0].RequestsPerVehiclePerMonth
	for _, c := range []struct {
		name  string
		kv    []string
		check func(float64) bool
		want  string
	}{
		{"smartcar_poller_polls_total", []string{"outcome", "ok"}, positive, "> 0"},
		{"smartcar_poller_polls_total", []string{"outcome", "snoozed"}, positive, "> 0 (the held vehicles' follow-ups)"},
		{"smartcar_poller_polls_total", []string{"outcome", "failed"}, zero, "0"},
		{"smartcar_poller_smartcar_calls_total", nil, positive, "> 0"},
		{"smartcar_poller_firings_total", nil, positive, "> 0"},
		{"smartcar_poller_firing_retries_total", nil, zero, "0 (no store or NATS outage)"},
		{"smartcar_poller_firings_abandoned_total", nil, zero, "0"},
		{"smartcar_poller_firing_jobs_abandoned_total", nil, zero, "0"},
		{"smartcar_poller_smartcar_call_duration_seconds_count", []string{"path", "/odometer", "outcome", "ok"}, positive, "> 0"},
		{"smartcar_poller_smartcar_call_duration_seconds_count", []string{"path", "/location", "outcome", "rate_limit"}, equals(2), "2 (the two faults)"},
		{"smartcar_poller_smartcar_call_duration_seconds_bucket", []string{"path", "/odometer", "outcome", "ok", "le", "+Inf"}, positive, "> 0"},
		{"smartcar_poller_data_age_seconds_count", []string{"path", "/odometer"}, positive, "> 0"},
		{"smartcar_poller_data_age_seconds_sum", []string{"path", "/location"}, nonNegative, ">= 0"},
		{"smartcar_poller_data_newest_age_max_seconds", nil, between(0, 24*3600), "between 0 and a day"},
		{"smartcar_poller_data_tracked_vehicles", nil, equals(float64(len(vehicles))), fmt.Sprintf("%d (every vehicle)", len(vehicles))},
		{"smartcar_poller_limiter_wait_seconds_count", nil, positive, "> 0"},
		{"smartcar_poller_limiter_denied_total", nil, zero, "0 (6000 calls a minute allowed)"},
		{"smartcar_poller_holds_total", nil, equals(2), "2"},
		{"smartcar_poller_holds_active", nil, equals(1), "1 (the 10 min hold)"},
		{"smartcar_poller_followup_jobs_total", nil, equals(2), "2"},
		{"smartcar_poller_lease_busy_total", nil, nonNegative, ">= 0"},
		{"smartcar_poller_events_published_total", nil, positive, "> 0"},
		{"smartcar_poller_events_unchanged_total", nil, zero, "0 (emit: always)"},
		{"smartcar_poller_queue_pending_jobs", nil, nonNegative, ">= 0 (readable)"},
		{"smartcar_poller_queue_ack_pending_jobs", nil, positive, "> 0 (the held follow-up)"},
		{"smartcar_poller_queue_redelivered_jobs", nil, nonNegative, ">= 0"},
		{"smartcar_poller_queue_waiting_pulls", nil, nonNegative, ">= 0"},
		{"smartcar_poller_queue_consumer_running", nil, equals(1), "1"},
		{"smartcar_poller_queue_deliveries_total", nil, positive, "> 0"},
		{"smartcar_poller_queue_pull_errors_total", nil, zero, "0"},
		{"smartcar_poller_token_refreshes_total", []string{"outcome", "invalid_grant"}, zero, "0"},
		{"smartcar_poller_token_refreshes_total", []string{"outcome", "error"}, zero, "0"},
		{"smartcar_poller_token_refreshes_total", []string{"outcome", "recovered"}, zero, "0"},
		{"smartcar_poller_token_refreshes_total", []string{"outcome", "store_failed"}, zero, "0"},
		{"smartcar_poller_token_refresh_superseded_total", nil, zero, "0"},
		{"smartcar_poller_webhook_deliveries_total", []string{"outcome", "bad_signature"}, equals(1), "1"},
		{"smartcar_poller_webhook_deliveries_total", []string{"outcome", "verified"}, equals(1), "1"},
		{"smartcar_poller_webhook_duplicates_total", nil, zero, "0"},
		{"smartcar_poller_webhook_accepted_total", nil, equals(1), "1"},
		{"smartcar_poller_webhook_unavailable_total", nil, zero, "0"},
		{"smartcar_poller_webhook_processed_total", nil, equals(1), "1"},
		{"smartcar_poller_webhook_processing_failures_total", nil, zero, "0"},
		{"smartcar_poller_webhook_inbox_deliveries", nil, zero, "0 (processed)"},
		{"smartcar_poller_webhook_events_published_total", nil, positive, "> 0"},
		{"smartcar_poller_webhook_stale_events_total", nil, nonNegative, ">= 0 (a poll may be newer)"},
		{"smartcar_poller_webhook_status_changes_total", nil, zero, "0"},
		{"smartcar_poller_webhook_rejected_signals_total", nil, zero, "0"},
		{"smartcar_poller_webhook_unknown_vehicles_total", nil, zero, "0"},
		{"smartcar_poller_connect_callbacks_total", []string{"outcome", "ok"}, zero, "0"},
		{"smartcar_poller_connect_callbacks_total", []string{"outcome", "error"}, zero, "0"},
		{"smartcar_poller_monthly_quota_requests", nil, equals(500), "500"},
		{"smartcar_poller_projected_monthly_requests", []string{"schedule", "fast"}, equals(projected), fmt.Sprint(projected)},
		{"go_goroutines", nil, positive, "> 0"},
		{"process_resident_memory_bytes", nil, positive, "> 0"},
	} {
		v, ok := m.get(c.name, c.kv...)
		switch {
		case !ok:
			t.Errorf("%s%v: no single series", c.name, c.kv)
		case !c.check(v):
			t.Errorf("%s%v = %v, want %s", c.name, c.kv, v, c.want)
		}
	}
	if projected != 30*24*3600*2 {
		t.Errorf("projection of an every-second schedule of 2 paths = %v, want %d", projected, 30*24*3600*2)
	}
	// Bounded labels only: no vehicle id is ever a label value.
	for _, id := range vehicles {
		if strings.Contains(m.text, id) {
			t.Errorf("/metrics mentions vehicle %s", id)
		}
	}
	if code, body := status(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
}

func positive(v float64) bool    { return v > 0 }
func zero(v float64) bool        { return v == 0 }
func nonNegative(v float64) bool { return v >= 0 }
func equals(want float64) func(float64) bool {
	return func(v float64) bool { return v == want }
}
func between(lo, hi float64) func(float64) bool {
	return func(v float64) bool { return v >= lo && v <= hi }
}

// TestReadyz_FollowsConsumer: /readyz is 503 while no consumer pulls jobs
// (before it starts, after it stops) and 200 while one does; /healthz is 200
// throughout.
func TestReadyz_FollowsConsumer(t *testing.T) {
	sim := smartcartest.NewServer(smartcartest.WithSeed(6), smartcartest.WithVehicles(1))
	defer sim.Close()
	cfg := testConfig(t, sim)
	addr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	cfg.HTTP.Listen = addr
	ctx := t.Context()
	app, err := open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	cleanupNames(t, app, cfg.NATS.SubjectPrefix)
	defer app.Close()
	defer serveHTTP(t, app)()
	base := "http://" + addr

	check := func(when string, want int, wantBody string) {
		t.Helper()
		code, body := status(t, base+"/readyz")
		if code != want || !strings.Contains(body, wantBody) {
			t.Errorf("%s: /readyz = %d %q, want %d %q", when, code, body, want, wantBody)
		}
		if code, body := status(t, base+"/healthz"); code != http.StatusOK {
			t.Errorf("%s: /healthz = %d %q, want 200", when, code, body)
		}
	}
	check("before the consumer started", http.StatusServiceUnavailable, "job consumer not running")

	cctx, cancel := context.WithCancel(ctx)
	consumed := make(chan error, 1)
	go func() { consumed <- app.Queue().Consume(cctx, 2, app.Worker().Handle) }()
	waitUntil(t, 10*time.Second, "/readyz 200 with the consumer running", func() bool {
		code, _ := status(t, base+"/readyz")
		return code == http.StatusOK
	})
	check("while consuming", http.StatusOK, "ready")
	if v, ok := scrapeMetrics(t, base+"/metrics").get("smartcar_poller_queue_consumer_running"); !ok || v != 1 {
		t.Errorf("queue_consumer_running = %v (%v) while consuming, want 1", v, ok)
	}

	cancel()
	if err := <-consumed; err != nil {
		t.Fatalf("Consume: %v", err)
	}
	check("after the consumer stopped", http.StatusServiceUnavailable, "job consumer not running")
	if v, ok := scrapeMetrics(t, base+"/metrics").get("smartcar_poller_queue_consumer_running"); !ok || v != 0 {
		t.Errorf("queue_consumer_running = %v (%v) after Consume returned, want 0", v, ok)
	}
}
