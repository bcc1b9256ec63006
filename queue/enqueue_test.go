package queue_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/queue"
)

var tick = time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)

func TestNew_streamAndConsumer(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		q, js, cfg := newQueue(t, url, queue.Config{Storage: jetstream.MemoryStorage, AckWait: 90 * time.Second})
		// A second New (another replica, or a restart) must update, not fail.
		if _, err := queue.New(t.Context(), js, cfg); err != nil {
			t.Fatalf("second New: %v", err)
		}
		s, err := js.Stream(t.Context(), q.Stream())
		if err != nil {
			t.Fatal(err)
		}
		sc := s.CachedInfo().Config
		gotStream := []any{sc.Name, sc.Subjects, sc.Retention, sc.Storage, sc.Duplicates}
		wantStream := []any{queue.StreamName(cfg.Prefix), []string{cfg.Prefix + ".jobs.>"},
			jetstream.WorkQueuePolicy, jetstream.MemoryStorage, queue.DefaultDuplicates}
		if diff := cmp.Diff(wantStream, gotStream); diff != "" {
			t.Errorf("stream config (-want +got):\n%s", diff)
		}
		c, err := js.Consumer(t.Context(), q.Stream(), queue.ConsumerName(cfg.Prefix))
		if err != nil {
			t.Fatal(err)
		}
		cc := c.CachedInfo().Config
		gotCons := []any{cc.Durable, cc.AckPolicy, cc.AckWait, cc.MaxDeliver, cc.MaxAckPending}
		wantCons := []any{queue.ConsumerName(cfg.Prefix), jetstream.AckExplicitPolicy, 90 * time.Second, -1, -1}
		if diff := cmp.Diff(wantCons, gotCons); diff != "" {
			t.Errorf("consumer config (-want +got):\n%s", diff)
		}
		kv, err := js.KeyValue(t.Context(), queue.FailuresBucket(cfg.Prefix))
		if err != nil {
			t.Fatalf("failures bucket: %v", err)
		}
		st, err := kv.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		gotKV := []any{st.Bucket(), st.History(), st.TTL(), st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Storage}
		wantKV := []any{queue.FailuresBucket(cfg.Prefix), int64(1), queue.FailuresTTL, jetstream.MemoryStorage}
		if diff := cmp.Diff(wantKV, gotKV); diff != "" {
			t.Errorf("failures bucket (-want +got):\n%s", diff)
		}
	})
}

func TestQueue_Enqueue(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		t.Run("dedup", func(t *testing.T) {
			q, js, cfg := newQueue(t, url, queue.Config{})
			first := jobs("default", 3, tick)
			got, err := q.Enqueue(t.Context(), first...)
			if err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			if want := (queue.EnqueueResult{Enqueued: 3}); got != want {
				t.Errorf("first Enqueue = %+v, want %+v", got, want)
			}
			// A second replica enqueues the same tick, plus one new vehicle.
			again := append(jobs("default", 3, tick), jobs("other", 1, tick)...)
			got, err = q.Enqueue(t.Context(), again...)
			if err != nil {
				t.Fatalf("second Enqueue: %v", err)
			}
			if want := (queue.EnqueueResult{Enqueued: 1, Duplicates: 3}); got != want {
				t.Errorf("second Enqueue = %+v, want %+v", got, want)
			}
			if got := streamMsgs(t, js, cfg.Prefix); got != 4 {
				t.Errorf("stream holds %d messages, want 4", got)
			}

			// The stored message: subject, Nats-Msg-Id and body.
			s, err := js.Stream(t.Context(), q.Stream())
			if err != nil {
				t.Fatal(err)
			}
			raw, err := s.GetMsg(t.Context(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if want := cfg.Prefix + ".jobs.v0"; raw.Subject != want {
				t.Errorf("subject = %q, want %q", raw.Subject, want)
			}
			if got, want := raw.Header.Get(jetstream.MsgIDHeader), "default/v0/1772368200"; got != want {
				t.Errorf("Nats-Msg-Id = %q, want %q", got, want)
			}
			var body map[string]any
			if err := json.Unmarshal(raw.Data, &body); err != nil {
				t.Fatal(err)
			}
			wantBody := map[string]any{
				"id": "default/v0/1772368200", "schedule": "default", "vehicle_id": "v0",
				"paths": []any{"/odometer", "/location"}, "tick": "2026-03-01T12:30:00Z", "emit": "always",
			}
			if diff := cmp.Diff(wantBody, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})

		t.Run("id derived when empty", func(t *testing.T) {
			q, js, cfg := newQueue(t, url, queue.Config{})
			j := queue.PollJob{Schedule: "s", VehicleID: "v9", Tick: tick}
			for range 2 {
				if _, err := q.Enqueue(t.Context(), j); err != nil {
					t.Fatal(err)
				}
			}
			if got := streamMsgs(t, js, cfg.Prefix); got != 1 {
				t.Errorf("stream holds %d messages, want 1 (same derived id)", got)
			}
		})

		t.Run("invalid jobs publish nothing", func(t *testing.T) {
			q, js, cfg := newQueue(t, url, queue.Config{})
			for _, bad := range []queue.PollJob{
				{ID: "x", VehicleID: "a.b"},
				{ID: "x", VehicleID: ""},
				{ID: "x", VehicleID: "a*"},
				{ID: "x", VehicleID: "a b"},
				{VehicleID: "v1"}, // no id, nothing to derive it from
			} {
				_, err := q.Enqueue(t.Context(), append(jobs("s", 2, tick), bad)...)
				if err == nil {
					t.Errorf("Enqueue(vehicle %q) = nil error, want one", bad.VehicleID)
				}
			}
			if got := streamMsgs(t, js, cfg.Prefix); got != 0 {
				t.Errorf("stream holds %d messages, want 0", got)
			}
		})

		t.Run("back-pressure", func(t *testing.T) {
			// A window of 4: Enqueue must wait for acks, never fail.
			q, _, _ := newQueue(t, url, queue.Config{MaxPending: 4})
			got, err := q.Enqueue(t.Context(), jobs("bp", 3000, tick)...)
			if err != nil {
				t.Fatalf("Enqueue: %v", err)
			}
			if want := (queue.EnqueueResult{Enqueued: 3000}); got != want {
				t.Errorf("Enqueue = %+v, want %+v", got, want)
			}
			// Every job is stored (acked); the consumer's pending count is
			// updated by the server after the stream's ack, so it may lag
			// by a message or two for a moment.
			var d queue.Depth
			deadline := time.Now().Add(10 * time.Second)
			for {
				if d, err = q.Depth(t.Context()); err != nil {
					t.Fatal(err)
				}
				if d.Pending >= 3000 || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if d.Pending != 3000 {
				t.Errorf("Depth().Pending = %d, want 3000", d.Pending)
			}
		})

		t.Run("stream gone", func(t *testing.T) {
			q, js, _ := newQueue(t, url, queue.Config{})
			if err := js.DeleteStream(t.Context(), q.Stream()); err != nil {
				t.Fatal(err)
			}
			got, err := q.Enqueue(t.Context(), jobs("gone", 5, tick)...)
			if err == nil || !strings.Contains(err.Error(), "5 of 5 jobs not stored") {
				t.Errorf("Enqueue = %+v, %v; want an error for all 5 jobs", got, err)
			}
		})

		t.Run("stream full", func(t *testing.T) {
			q, js, _ := newQueue(t, url, queue.Config{})
			s, err := js.Stream(t.Context(), q.Stream())
			if err != nil {
				t.Fatal(err)
			}
			sc := s.CachedInfo().Config
			sc.MaxMsgs, sc.Discard = 3, jetstream.DiscardNew
			if _, err := js.UpdateStream(t.Context(), sc); err != nil {
				t.Fatal(err)
			}
			got, err := q.Enqueue(t.Context(), jobs("full", 5, tick)...)
			if err == nil || !strings.Contains(err.Error(), "2 of 5 jobs not stored") || got.Enqueued != 3 {
				t.Errorf("Enqueue = %+v, %v; want 3 enqueued and an error for 2", got, err)
			}
		})

		t.Run("cancelled", func(t *testing.T) {
			q, _, _ := newQueue(t, url, queue.Config{MaxPending: 8})
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			_, err := q.Enqueue(ctx, jobs("c", 100, tick)...)
			if err == nil {
				t.Error("Enqueue with a cancelled context = nil error, want one")
			}
		})
	})
}
