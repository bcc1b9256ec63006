package tokens_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// backend makes a fresh, empty Store for one test on a real server.
type backend struct {
	name     string
	newStore func(t *testing.T, opts ...tokens.StoreOption) tokens.Store
}

// backends returns the places every Store test runs: the shared Redis, the
// shared NATS (Debian's nats-server 2.9.10), an in-process nats-server 2.15
// started for the calling test (shared by its subtests), and that server
// again with the store's in-memory mirror on, as the daemon runs it.
func backends(t *testing.T) []backend {
	t.Helper()
	embedded := embeddedJetStream(t)
	return []backend{
		{"redis", func(t *testing.T, opts ...tokens.StoreOption) tokens.Store { return newRedisStore(t, opts...) }},
		{"kv_nats_shared", func(t *testing.T, opts ...tokens.StoreOption) tokens.Store {
			return newKVStore(t, sharedJetStream(t), opts...)
		}},
		{"kv_nats_embedded", func(t *testing.T, opts ...tokens.StoreOption) tokens.Store {
			return newKVStore(t, embedded, opts...)
		}},
		{"kv_mirrored", func(t *testing.T, opts ...tokens.StoreOption) tokens.Store {
			return newMirroredKVStore(t, embedded, opts...)
		}},
	}
}

// newMirroredKVStore is newKVStore with the in-memory mirror the daemon
// starts (KVStore.StartMirror), stopped when the test ends.
func newMirroredKVStore(t testing.TB, js jetstream.JetStream, opts ...tokens.StoreOption) *tokens.KVStore {
	t.Helper()
	s := newKVStore(t, js, opts...).(*tokens.KVStore)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.StartMirror(ctx, testserver.Logger(t)); err != nil {
		t.Fatalf("StartMirror: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// newRedisStore returns a RedisStore under a unique prefix on the shared
// Redis, deleting its keys when the test ends.
func newRedisStore(t testing.TB, opts ...tokens.StoreOption) tokens.Store {
	t.Helper()
	rdb := testserver.Redis(t)
	prefix := uniquePrefix()
	t.Cleanup(func() { deleteRedisPrefix(t, rdb, prefix) })
	return tokens.NewRedisStore(rdb, prefix, opts...)
}

func deleteRedisPrefix(t testing.TB, rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Errorf("scan test keys: %v", err)
		return
	}
	if len(keys) > 0 {
		if err := rdb.Del(ctx, keys...).Err(); err != nil {
			t.Errorf("delete test keys: %v", err)
		}
	}
}

// sharedJetStream connects to the shared NATS server.
func sharedJetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(testserver.NATS(t))
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}

// embeddedJetStream starts an in-process nats-server for t and connects to it.
func embeddedJetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	s := testserver.EmbeddedNATS(t)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatalf("connect embedded nats: %v", err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	// nats-server 2.15 removes the account's empty streams directory in a
	// goroutine after its last stream is deleted, racing with the next stream
	// create ("error creating store for stream"). Tests delete their buckets
	// and create new ones at once, so keep one stream alive.
	if _, err := js.CreateKeyValue(t.Context(), jetstream.KeyValueConfig{Bucket: "ANCHOR"}); err != nil {
		t.Fatalf("anchor bucket: %v", err)
	}
	return js
}

// newKVStore returns a KVStore with unique buckets, deleted when the test ends.
func newKVStore(t testing.TB, js jetstream.JetStream, opts ...tokens.StoreOption) tokens.Store {
	t.Helper()
	prefix := testserver.Unique("tokt_")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := tokens.NewKVStore(ctx, js, prefix, opts...)
	g, v, l := tokens.KVBuckets(prefix)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, b := range []string{g, v, l, tokens.KVMarksBucket(prefix)} {
			if err := js.DeleteKeyValue(ctx, b); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
				t.Errorf("delete bucket %s: %v", b, err)
			}
		}
	})
	if err != nil {
		t.Fatalf("NewKVStore: %v", err)
	}
	return s
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func uniquePrefix() string { return testserver.Unique("tokenstest:") + ":" }

func testserverRedis(t testing.TB) *redis.Client { return testserver.Redis(t) }
