package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// freeAddr returns a loopback address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestDaemon_Onboarding wires connect.enabled and webhooks.enabled: a
// browser connects the simulator's vehicles through /connect, the simulator
// verifies and delivers a webhook, and a schedule with
// when.webhooks_silent_for then polls only the vehicle that stayed quiet.
func TestDaemon_Onboarding(t *testing.T) {
	addr := freeAddr(t)
	sim := smartcartest.NewServer(smartcartest.WithSeed(11), smartcartest.WithVehicles(2), smartcartest.WithoutLimits(),
		smartcartest.WithRedirectURI("http://"+addr+"/callback"))
	defer sim.Close()
	cfg := testConfig(t, sim)
	cfg.HTTP.Listen = addr
	cfg.Connect.Enabled = true
	cfg.Webhooks.Enabled = true
	cfg.Webhooks.ManagementToken = config.Secret(sim.ManagementToken)
	cfg.Schedules = []config.Schedule{{
		Name: "fallback", Cron: "@hourly", Paths: []string{"/odometer"}, Vehicles: config.Vehicles{All: true},
		Emit: config.EmitAlways, When: config.When{WebhooksSilentFor: 2 * time.Hour},
	}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	app, err := open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	cleanupNames(t, app, cfg.NATS.SubjectPrefix)
	defer app.Close()
	defer serveHTTP(t, app)()
	processed := consumeWebhooks(t, app)
	defer processed.stop()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := browser.Get("http://" + addr + "/connect")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ids := sim.VehicleIDs()
	if resp.StatusCode != 200 || !strings.Contains(string(page), ids[0]) || !strings.Contains(string(page), ids[1]) {
		t.Fatalf("Connect: HTTP %d, want 200 listing %v:\n%s", resp.StatusCode, ids, page)
	}

	webhook := "http://" + addr + "/webhooks/smartcar"
	if err := sim.VerifyWebhook(ctx, webhook); err != nil {
		t.Fatal(err)
	}
	if err := sim.SendWebhook(ctx, webhook, smartcartest.EventVehicleState, ids[0]); err != nil {
		t.Fatal(err)
	}
	processed.next(t)
	var fromWebhook int
	for _, ev := range allEvents(t, app, cfg.NATS.SubjectPrefix) {
		if s, _ := ev.Signal(); s == events.SignalOdometer && ev.VehicleID() == ids[0] {
			fromWebhook++
		}
	}
	if fromWebhook != 1 {
		t.Errorf("%d odometer events from the webhook, want 1", fromWebhook)
	}

	if err := app.Scheduler().Fire(ctx, "fallback", time.Now()); err != nil {
		t.Fatal(err)
	}
	s, err := app.JetStream().Stream(ctx, queue.StreamName(cfg.NATS.SubjectPrefix))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(cfg.NATS.SubjectPrefix+".jobs.>"))
	if err != nil {
		t.Fatal(err)
	}
	if _, polled := info.State.Subjects[queue.Subject(cfg.NATS.SubjectPrefix, ids[0])]; polled {
		t.Errorf("vehicle %s was enqueued although it sent a webhook just now", ids[0])
	}
	if _, polled := info.State.Subjects[queue.Subject(cfg.NATS.SubjectPrefix, ids[1])]; !polled {
		t.Errorf("quiet vehicle %s was not enqueued: %v", ids[1], info.State.Subjects)
	}
}

// serveHTTP serves app's HTTP endpoints until the returned stop is called.
func serveHTTP(t *testing.T, app *App) (stop func()) {
	t.Helper()
	srv, ln, err := app.httpServer()
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	return func() {
		_ = srv.Close()
		<-served
	}
}
