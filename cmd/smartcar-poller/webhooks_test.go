package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/inbox"
)

// webhookConsumer runs the daemon's webhook processing (what Run runs:
// app.processWebhook on the app's inbox) until stop, and reports the id of
// each delivery it processed.
type webhookConsumer struct {
	processed chan string
	stop      func() // cancels the consumer and waits for it; before app.Close
}

func consumeWebhooks(t *testing.T, app *App) *webhookConsumer {
	t.Helper()
	if app.inbox == nil {
		t.Fatal("the app has no webhook inbox (webhooks.enabled is false)")
	}
	c := &webhookConsumer{processed: make(chan string, 1000)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- app.inbox.Consume(ctx, app.cfg.Webhooks.Concurrency, func(ctx context.Context, d inbox.Delivery) error {
			if err := app.processWebhook(ctx, d); err != nil {
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
