package main

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestWebhooksSubscribe runs "webhooks subscribe" and "webhooks list"
// against the simulator's Management API v3: of six connected vehicles,
// four are registered and connected (one already subscribed), one is
// registered but disconnected, one is not registered. The command
// subscribes the three missing ones in requests of --batch 2 and leaves the
// others alone.
func TestWebhooksSubscribe(t *testing.T) {
	rdb := testserver.Redis(t)
	testserver.NATS(t)
	sim := smartcartest.NewServer(smartcartest.WithSeed(21), smartcartest.WithVehicles(6), smartcartest.WithoutLimits())
	defer sim.Close()
	sim.Connect(nil, nil) // every vehicle connected to the application
	o := sim.Origins()
	t.Setenv("SMARTCAR_IAM_ORIGIN", o.IAM)
	t.Setenv("SMARTCAR_MANAGEMENT_API_V3_ORIGIN", o.ManagementV3)
	hook := sim.AddWebhook(smartcartest.Webhook{URL: "http://127.0.0.1:1/unused", Signals: []string{smartcar.SignalOdometer}})

	prefix := testserver.Unique("wh")
	cleanupNames(t, nil, prefix)
	ids := sim.VehicleIDs()
	reg := redisregistry.New(rdb, prefix+":")
	for i, id := range ids[:5] {
		v := registry.Vehicle{ID: id, GrantID: "g"}
		if i == 4 {
			v.Status = events.StatusDisconnected
		}
		if err := reg.PutVehicle(t.Context(), v); err != nil {
			t.Fatal(err)
		}
	}
	app, err := smartcar.NewAppClient(&smartcar.AppClientOptions{ClientID: sim.ClientID, ClientSecret: sim.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.SubscribeVehicles(t.Context(), hook.ID, ids[0]); err != nil {
		t.Fatal(err)
	}

	cfg := filepath.Join(t.TempDir(), "poller.yaml")
	writeFile(t, cfg, fmt.Sprintf("nats: {url: %q, subject_prefix: %s}\nredis: {url: %q, key_prefix: %q}\n"+
		"tokens: {allow_plaintext: true}\nsmartcar: {client_id: %s, client_secret: %s}\nhttp: {listen: ''}\nlog: {level: warn}\n"+
		"schedules:\n  - {name: s, cron: '@hourly', paths: [/odometer]}\n",
		testserver.NATSURL(), prefix, "redis://"+testserver.RedisAddr(), prefix+":", sim.ClientID, sim.ClientSecret))
	posts := func() int {
		n := 0
		for _, r := range sim.Requests() {
			if r.Method == http.MethodPost && r.Route == "/v3/webhooks/subscriptions" {
				n++
			}
		}
		return n
	}
	before := posts()

	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"webhooks", "subscribe", "--config", cfg, "--webhook", hook.ID, "--batch", "2"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("webhooks subscribe: exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
	}
	want := fmt.Sprintf("webhook %s: 4 vehicle(s) selected (1 disconnected left out)\nalready subscribed: 1\n"+
		"request 1/2: 2 vehicle(s): HTTP 202 subscription creation in progress\n"+
		"request 2/2: 1 vehicle(s): HTTP 202 subscription creation in progress\n"+
		"subscribed 3 vehicle(s) in 2 request(s)\n", hook.ID)
	if stdout.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), want)
	}
	if n := posts() - before; n != 2 {
		t.Errorf("%d subscription requests, want 2 (3 vehicles, 2 a request)", n)
	}
	for i, id := range ids {
		subscribed := slices.Contains(sim.Subscriptions(id), hook.ID)
		if want := i < 4; subscribed != want {
			t.Errorf("vehicle %d (%s) subscribed = %v, want %v", i, id, subscribed, want)
		}
	}

	// Again: nothing to do, no request.
	stdout.Reset()
	before = posts()
	if code := run(t.Context(), []string{"webhooks", "subscribe", "--config", cfg, "--webhook", hook.ID}, &stdout, &stderr); code != 0 ||
		!strings.Contains(stdout.String(), "already subscribed: 4\nnothing to subscribe\n") || posts() != before {
		t.Errorf("second run: exit %d, %d requests, stdout:\n%s", code, posts()-before, stdout.String())
	}

	// --vehicles: registered ones only, checked before any request.
	stdout.Reset()
	stderr.Reset()
	if code := run(t.Context(), []string{"webhooks", "subscribe", "--config", cfg, "--webhook", hook.ID, "--vehicles", ids[4] + "," + ids[5]}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "not registered: "+ids[5]) {
		t.Errorf("--vehicles with an unregistered one: exit %d, stderr %q", code, stderr.String())
	}
	stdout.Reset()
	if code := run(t.Context(), []string{"webhooks", "subscribe", "--config", cfg, "--webhook", hook.ID, "--vehicles", ids[4]}, &stdout, &stderr); code != 0 ||
		!slices.Contains(sim.Subscriptions(ids[4]), hook.ID) {
		t.Errorf("--vehicles %s (disconnected, asked for by name): exit %d, stdout:\n%s", ids[4], code, stdout.String())
	}

	// A webhook Smartcar does not know: the error, exit 1.
	stdout.Reset()
	stderr.Reset()
	if code := run(t.Context(), []string{"webhooks", "subscribe", "--config", cfg, "--webhook", "no-such-webhook"}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "RESOURCE_NOT_FOUND") {
		t.Errorf("unknown webhook: exit %d, stderr %q", code, stderr.String())
	}

	// list: every subscription with the registry's view.
	stdout.Reset()
	if code := run(t.Context(), []string{"webhooks", "list", "--config", cfg, "--webhook", hook.ID}, &stdout, &stderr); code != 0 {
		t.Fatalf("webhooks list: exit %d, stderr %s", code, stderr.String())
	}
	out := stdout.String()
	for i, id := range ids[:5] {
		status := "connected"
		if i == 4 {
			status = "disconnected"
		}
		if !strings.Contains(out, id) || !strings.Contains(out, status) {
			t.Errorf("list lacks %s (%s):\n%s", id, status, out)
		}
	}
	if !strings.Contains(out, "5 subscription(s); 0 registered vehicle(s) not subscribed\n") || strings.Contains(out, ids[5]) {
		t.Errorf("list:\n%s", out)
	}

	// Usage mistakes.
	for _, args := range [][]string{
		{"webhooks"},
		{"webhooks", "unsubscribe"},
		{"webhooks", "subscribe", "--config", cfg},
		{"webhooks", "subscribe", "--config", cfg, "--webhook", hook.ID, "--batch", "0"},
	} {
		stderr.Reset()
		if code := run(t.Context(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2 (usage); stderr %q", args, code, stderr.String())
		}
	}
}
