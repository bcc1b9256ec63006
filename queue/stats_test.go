package queue_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
)

// TestQueue_Stats: Consuming follows the pull loop (false before Consume and
// after it returns), deliveries and redeliveries are counted as JetStream
// numbers them.
func TestQueue_Stats(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		q, _, _ := newQueue(t, url, fast)
		if st := q.Stats(); st.Consuming || st.Deliveries != 0 || st.PullErrors != 0 {
			t.Fatalf("Stats before Consume = %+v, want zero", st)
		}
		rec := newRecorder()
		c := startConsume(t, q, 2, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
			rec.record(j, d)
			if d.Deliveries == 1 {
				return queue.Snooze(50*time.Millisecond, errors.New("held"))
			}
			return nil
		})
		eventually(t, 5*time.Second, "Consuming", func() bool { return q.Stats().Consuming })
		if _, err := q.Enqueue(t.Context(), jobs("s", 2, tick)...); err != nil {
			t.Fatal(err)
		}
		for range 4 { // two jobs, each snoozed once
			rec.next(t, 10*time.Second)
		}
		// The counters move before the handler runs, so they are final now.
		if st := q.Stats(); st.Deliveries != 4 || st.Redeliveries != 2 || st.PullErrors != 0 {
			t.Errorf("Stats after 2 jobs snoozed once = %+v, want 4 deliveries, 2 redeliveries, 0 pull errors", st)
		}

		if err := c.stop(t); err != nil {
			t.Fatalf("Consume: %v", err)
		}
		if q.Stats().Consuming {
			t.Error("Consuming after Consume returned")
		}
	})
}

// TestQueue_Stats_deletedConsumer: a consumer deleted under a running
// Consume shows as failed pulls while the loop goes on. Only on a current
// server: nats-server 2.9 (the shared one) leaves such pulls unanswered.
func TestQueue_Stats_deletedConsumer(t *testing.T) {
	q, js, cfg := newQueue(t, testserver.EmbeddedNATS(t).ClientURL(), fast)
	c := startConsume(t, q, 2, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error { return nil })
	eventually(t, 5*time.Second, "Consuming", func() bool { return q.Stats().Consuming })
	if err := js.DeleteConsumer(t.Context(), queue.StreamName(cfg.Prefix), queue.ConsumerName(cfg.Prefix)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "failed pulls after the consumer was deleted", func() bool { return q.Stats().PullErrors >= 2 })
	if !q.Stats().Consuming {
		t.Error("Consuming went false while the pull loop still runs")
	}
	if _, err := q.Depth(t.Context()); err == nil {
		t.Error("Depth of a deleted consumer succeeded")
	}
	if err := c.stop(t); err != nil {
		t.Fatalf("Consume: %v", err)
	}
	if q.Stats().Consuming {
		t.Error("Consuming after Consume returned")
	}
}
