package credentials_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/kvcredentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/rediscredentials"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

// TestMain fails the run if a test leaves goroutines behind (refreshes in
// flight, server connections).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// backend makes a fresh, empty Store for one test on a real server.
type backend struct {
	name     string
	newStore func(t *testing.T) credentials.Store
}

// backends returns the places every Manager test runs: the shared Redis,
// the shared NATS (Debian's nats-server 2.9.10) and an in-process
// nats-server 2.15 started for the calling test (shared by its subtests).
func backends(t *testing.T) []backend {
	t.Helper()
	embedded := testserver.EmbeddedJetStream(t)
	return []backend{
		{"redis", func(t *testing.T) credentials.Store { return newRedisStore(t) }},
		{"kv_nats_shared", func(t *testing.T) credentials.Store { return newKVStore(t, testserver.JetStream(t)) }},
		{"kv_nats_embedded", func(t *testing.T) credentials.Store { return newKVStore(t, embedded) }},
	}
}

// newRedisStore returns a store under a unique prefix on the shared Redis,
// deleting its keys when the test ends.
func newRedisStore(t testing.TB) *rediscredentials.Store {
	t.Helper()
	rdb := testserver.Redis(t)
	return rediscredentials.New(rdb, testserver.RedisPrefix(t, rdb, "credt"), nil)
}

// newKVStore returns a store with unique buckets, deleted when the test ends.
func newKVStore(t testing.TB, js jetstream.JetStream) *kvcredentials.Store {
	t.Helper()
	prefix := testserver.Unique("credt_")
	g, l := kvcredentials.Buckets(prefix)
	testserver.DeleteBucketsAtCleanup(t, js, g, l)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := kvcredentials.Open(ctx, js, kvcredentials.Config{Prefix: prefix})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
