package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/inbox"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// webhookConsumer runs the daemon's webhook processing (what Run runs:
// app.ProcessWebhook on the app's inbox) until stop, and reports the id of
// each delivery it processed.
type webhookConsumer struct {
	processed chan string
	stop      func() // cancels the consumer and waits for it; before app.Close
}

func consumeWebhooks(t *testing.T, app *App) *webhookConsumer {
	t.Helper()
	if app.Inbox() == nil {
		t.Fatal("the app has no webhook inbox (webhooks.enabled is false)")
	}
	c := &webhookConsumer{processed: make(chan string, 1000)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.Inbox().Consume(ctx, app.cfg.Webhooks.Concurrency, func(ctx context.Context, d inbox.Delivery) error {
			if err := app.ProcessWebhook(ctx, d); err != nil {
				return err
			}
			c.processed <- d.ID
			return nil
		})
	}()
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("consume webhooks: %v", err)
			}
		})
	}
	t.Cleanup(c.stop)
	return c
}

// next waits for the next processed delivery and returns its id.
func (c *webhookConsumer) next(t *testing.T) string {
	t.Helper()
	select {
	case id := <-c.processed:
		return id
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook delivery processed within 30s")
		return ""
	}
}

// TestDaemon_WebhooksSurviveRestart: deliveries a daemon answered but never
// processed (it stopped first) are processed by the next daemon on the
// same NATS: the answer waited for the inbox, and the inbox kept them.
func TestDaemon_WebhooksSurviveRestart(t *testing.T) {
	addr := freeAddr(t)
	sim := smartcartest.NewServer(smartcartest.WithSeed(13), smartcartest.WithVehicles(3), smartcartest.WithoutLimits())
	defer sim.Close()
	cfg := testConfig(t, sim)
	cfg.HTTP.Listen = addr
	cfg.Webhooks.Enabled = true
	cfg.Webhooks.ManagementToken = config.Secret(sim.ManagementToken)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	first, err := open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	cleanupNames(t, first, cfg.NATS.SubjectPrefix)
	access, err := first.Auth().ExchangeRefreshToken(ctx, sim.Connect(nil, nil).RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := first.connectGrant(ctx, access, nil)
	if err != nil {
		t.Fatal(err)
	}
	stopHTTP := serveHTTP(t, first)
	for _, id := range ids { // answered 2xx, or SendWebhook fails
		if err := sim.SendWebhook(ctx, "http://"+addr+"/webhooks/smartcar", smartcartest.EventVehicleState, id); err != nil {
			t.Fatal(err)
		}
	}
	stopHTTP()
	if s := first.Onboarding().Stats(); s.Accepted != uint64(len(ids)) || s.Processed != 0 {
		t.Fatalf("first daemon: %+v, want %d accepted and none processed", s, len(ids))
	}
	odometers := func(a *App) map[string]int {
		n := map[string]int{}
		for _, ev := range allEvents(t, a, cfg.NATS.SubjectPrefix) {
			if s, _ := ev.Signal(); s == events.SignalOdometer {
				n[ev.VehicleID()]++
			}
		}
		return n
	}
	if n := odometers(first); len(n) != 0 {
		t.Fatalf("odometer events before any processing: %v", n)
	}
	first.Close()

	second, err := open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	processed := consumeWebhooks(t, second)
	defer processed.stop()
	for range ids {
		processed.next(t)
	}
	n := odometers(second)
	for _, id := range ids {
		if n[id] != 1 {
			t.Errorf("vehicle %s: %d odometer events from its webhook, want 1", id, n[id])
		}
	}
}
