package testserver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

// JetStream connects to the shared NATS server's JetStream (Debian's
// nats-server 2.9 in CI and on the dev machine).
func JetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(NATS(t))
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}

// EmbeddedJetStream starts an in-process nats-server (the version in go.mod)
// for t and connects to its JetStream.
func EmbeddedJetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	return ConnectJetStream(t, EmbeddedNATS(t).ClientURL())
}

// ConnectJetStream connects to the server at url for the test.
func ConnectJetStream(t testing.TB, url string, opts ...nats.Option) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}

// DeleteBucketsAtCleanup deletes the KV buckets named when the test ends
// (those that exist).
func DeleteBucketsAtCleanup(t testing.TB, js jetstream.JetStream, buckets ...string) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, b := range buckets {
			if err := js.DeleteKeyValue(ctx, b); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
				t.Errorf("delete bucket %s: %v", b, err)
			}
		}
	})
}

// RedisPrefix returns a key prefix unique to the test ("<name><random>:"),
// whose keys are deleted when the test ends.
func RedisPrefix(t testing.TB, rdb redis.UniversalClient, name string) string {
	t.Helper()
	prefix := Unique(name) + ":"
	t.Cleanup(func() { DeleteRedisPrefix(t, rdb, prefix) })
	return prefix
}

// DeleteRedisPrefix deletes every key under prefix.
func DeleteRedisPrefix(t testing.TB, rdb redis.UniversalClient, prefix string) {
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
