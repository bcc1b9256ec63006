package events_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

func TestEnsureStream(t *testing.T) {
	forEachServer(t, func(t *testing.T, js jetstream.JetStream) {
		ctx := testCtx(t)
		prefix := ensure(t, js, events.StreamConfig{MaxAge: 24 * time.Hour, Storage: jetstream.MemoryStorage})

		type summary struct {
			Subjects   []string
			Retention  jetstream.RetentionPolicy
			MaxAge     time.Duration
			Duplicates time.Duration
			Replicas   int
			Storage    jetstream.StorageType
		}
		check := func(t *testing.T, want summary) {
			t.Helper()
			st, err := js.Stream(ctx, events.StreamName(prefix))
			if err != nil {
				t.Fatalf("stream %s: %v", events.StreamName(prefix), err)
			}
			c := st.CachedInfo().Config
			got := summary{c.Subjects, c.Retention, c.MaxAge, c.Duplicates, c.Replicas, c.Storage}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("stream config mismatch (-want +got):\n%s", diff)
			}
		}
		check(t, summary{[]string{prefix + ".vehicles.>"}, jetstream.LimitsPolicy, 24 * time.Hour, 10 * time.Minute, 1, jetstream.MemoryStorage})

		kv, err := js.KeyValue(ctx, events.LatestBucket(prefix))
		if err != nil {
			t.Fatalf("bucket %s: %v", events.LatestBucket(prefix), err)
		}
		kvs, err := kv.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if kvs.History() != 1 {
			t.Errorf("bucket history = %d, want 1", kvs.History())
		}

		// A second call with a shorter max age updates the stream; the
		// duplicate window may not exceed it.
		if err := events.EnsureStream(ctx, js, events.StreamConfig{Prefix: prefix, MaxAge: 5 * time.Minute, Storage: jetstream.MemoryStorage}); err != nil {
			t.Fatalf("EnsureStream() again: %v", err)
		}
		check(t, summary{[]string{prefix + ".vehicles.>"}, jetstream.LimitsPolicy, 5 * time.Minute, 5 * time.Minute, 1, jetstream.MemoryStorage})
	})
}

func TestEnsureStream_invalid(t *testing.T) {
	nc := testserver.NATS(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]events.StreamConfig{
		"dotted prefix":    {Prefix: "a.b"},
		"negative max age": {Prefix: testserver.Unique("evtest-"), MaxAge: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			cleanup(t, js, cfg.Prefix)
			if err := events.EnsureStream(testCtx(t), js, cfg); err == nil {
				t.Error("EnsureStream() error = nil, want an error")
			}
		})
	}
}
