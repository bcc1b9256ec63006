package kvregistry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
	"github.com/smartcar-poller/smartcar-poller/registry/registrytest"
)

// TestMain fails the run if a test leaves goroutines behind (the mirror's
// watches, server connections).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newStore returns a store with unique buckets, deleted when the test ends.
func newStore(t testing.TB, js jetstream.JetStream) *kvregistry.Store {
	t.Helper()
	return openAt(t, js, testserver.Unique("regt_"))
}

// openAt opens a store on the buckets of prefix, deleted when the test ends.
func openAt(t testing.TB, js jetstream.JetStream, prefix string) *kvregistry.Store {
	t.Helper()
	v, l := kvregistry.Buckets(prefix)
	d, p := kvregistry.PlanBuckets(prefix)
	testserver.DeleteBucketsAtCleanup(t, js, v, l, d, p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := kvregistry.Open(ctx, js, kvregistry.Config{Prefix: prefix})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// newMirroredStore is newStore with the in-memory mirror the daemon starts,
// stopped when the test ends.
func newMirroredStore(t testing.TB, js jetstream.JetStream) *kvregistry.Store {
	t.Helper()
	s := newStore(t, js)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.StartMirror(ctx, testserver.Logger(t)); err != nil {
		t.Fatalf("StartMirror: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestStore runs the conformance suite on the shared NATS (nats-server
// 2.9), on an in-process nats-server 2.15, with the mirror on, and as the
// daemon runs it: mirrored, with its poll leases in memory.
func TestStore(t *testing.T) {
	embedded := testserver.EmbeddedJetStream(t)
	for _, tt := range []struct {
		name     string
		newStore func(t *testing.T) registry.Store
	}{
		{"nats_shared", func(t *testing.T) registry.Store { return newStore(t, testserver.JetStream(t)) }},
		{"nats_embedded", func(t *testing.T) registry.Store { return newStore(t, embedded) }},
		{"mirrored", func(t *testing.T) registry.Store { return newMirroredStore(t, embedded) }},
		{"mirrored_local_leases", func(t *testing.T) registry.Store {
			return registry.LocalLeases(newMirroredStore(t, embedded))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) { registrytest.Run(t, tt.newStore) })
	}
}

// TestStore_keys checks the keys the daemon has always used, so a store of
// an earlier version reads the same data and its leases exclude ours.
func TestStore_keys(t *testing.T) {
	ctx := t.Context()
	js := testserver.EmbeddedJetStream(t)
	prefix := testserver.Unique("regk_")
	s := openAt(t, js, prefix)
	if err := s.PutVehicle(ctx, registry.Vehicle{ID: "v:1", GrantID: "g1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetHold(ctx, "v:1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchWebhook(ctx, "v:1", time.Now()); err != nil {
		t.Fatal(err)
	}
	p, err := s.StartPoll(ctx, "v:1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Unlock(ctx) }()
	vb, lb := kvregistry.Buckets(prefix)
	if vb != kvbucket.Name(prefix, "VEHICLES") || lb != kvbucket.Name(prefix, "LOCKS") {
		t.Fatalf("buckets %s, %s", vb, lb)
	}
	for bucket, keys := range map[string][]string{vb: {"v=3A1"}, lb: {"hold.v=3A1", "webhook.v=3A1", "lock.poll=3Av=3A1"}} {
		kv, err := js.KeyValue(ctx, bucket)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if _, err := kv.Get(ctx, k); err != nil {
				t.Errorf("%s: key %s: %v", bucket, k, err)
			}
		}
	}
}

// TestStore_ListVehiclesDuringWrites lists the registry while other
// vehicles' entries are being rewritten (as TouchPoll does on every poll).
// A KV watch counts the rewrites towards the initial values it expects, so a
// list that stops at the watch's "initial values done" marker misses keys.
func TestStore_ListVehiclesDuringWrites(t *testing.T) {
	for name, js := range map[string]func(testing.TB) jetstream.JetStream{
		"nats_embedded": func(t testing.TB) jetstream.JetStream { return testserver.EmbeddedJetStream(t) },
		"nats_shared":   func(t testing.TB) jetstream.JetStream { return testserver.JetStream(t) },
	} {
		t.Run(name, func(t *testing.T) {
			s := newStore(t, js(t))
			ctx := t.Context()
			const n = 300
			for i := range n {
				v := registry.Vehicle{ID: fmt.Sprintf("veh-%03d", i), GrantID: "g1", Status: events.StatusConnected}
				if err := s.PutVehicle(ctx, v); err != nil {
					t.Fatal(err)
				}
			}
			defer rewriteEarlyKeys(t, s)()
			for range 30 {
				list, err := s.ListVehicles(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(list) != n {
					t.Fatalf("ListVehicles returned %d vehicles while others were written, want %d", len(list), n)
				}
			}
		})
	}
}

// rewriteEarlyKeys rewrites the first 20 of the vehicles veh-000... (as
// TouchPoll does on every poll) until the returned stop is called: the watch
// has delivered those keys already when they are rewritten.
func rewriteEarlyKeys(t *testing.T, s registry.Store) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		at := time.Now()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			at = at.Add(time.Millisecond)
			if err := s.TouchPoll(t.Context(), fmt.Sprintf("veh-%03d", i%20), at); err != nil {
				t.Error(err)
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func TestOpen_badConfig(t *testing.T) {
	js := testserver.JetStream(t)
	for _, c := range []kvregistry.Config{{Prefix: "a.b"}, {Replicas: 6}, {Replicas: -1}} {
		if _, err := kvregistry.Open(t.Context(), js, c); err == nil {
			t.Errorf("Open(%+v) succeeded, want an error", c)
		} else if errors.Is(err, jetstream.ErrBucketNotFound) {
			t.Errorf("Open(%+v) = %v, want a configuration error", c, err)
		}
	}
}

// BenchmarkListVehicles lists n registered vehicles from the KV store on an
// embedded server, without the mirror (with it the list is a copy of
// memory); redisregistry's BenchmarkListVehicles has the Redis rows.
func BenchmarkListVehicles(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		vs := make([]registry.Vehicle, n)
		at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
		for i := range vs {
			vs[i] = registry.Vehicle{ID: fmt.Sprintf("veh-%06d", i), GrantID: fmt.Sprintf("g%d", i%5000),
				UserID: fmt.Sprintf("g%d", i%5000), Tags: []string{"fleet"}, ConnectedAt: at, LastPoll: at}
		}
		b.Run(fmt.Sprintf("kv_nats_embedded/n=%d", n), func(b *testing.B) {
			s := newStore(b, testserver.EmbeddedJetStream(b))
			registrytest.PutAll(b, s, vs)
			for b.Loop() {
				if got, err := s.ListVehicles(b.Context()); err != nil || len(got) != n {
					b.Fatalf("ListVehicles: %d, %v", len(got), err)
				}
			}
		})
	}
}
