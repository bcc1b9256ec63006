package kvcredentials_test

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/credentialstest"
	"github.com/smartcar-poller/smartcar-poller/credentials/kvcredentials"
	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness opens stores on buckets of their own on the server js talks to.
func harness(js func(t *testing.T) jetstream.JetStream) credentialstest.Harness {
	return credentialstest.Harness{Open: func(t *testing.T) (func(*credentials.Keyring) credentials.Store, credentialstest.Raw) {
		j := js(t)
		prefix := testserver.Unique("credt_")
		g, l := kvcredentials.Buckets(prefix)
		testserver.DeleteBucketsAtCleanup(t, j, g, l)
		newStore := func(k *credentials.Keyring) credentials.Store {
			s, err := kvcredentials.Open(t.Context(), j, kvcredentials.Config{Prefix: prefix, Keyring: k})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			return s
		}
		newStore(nil) // the buckets, for raw access
		bucket, err := j.KeyValue(t.Context(), g)
		if err != nil {
			t.Fatalf("grants bucket: %v", err)
		}
		return newStore, credentialstest.Raw{
			Get: func(t *testing.T, id string) []byte {
				e, err := bucket.Get(t.Context(), kvbucket.Key(id))
				if err != nil {
					t.Fatalf("raw get %s: %v", id, err)
				}
				return e.Value()
			},
			Set: func(t *testing.T, id string, b []byte) {
				if _, err := bucket.Put(t.Context(), kvbucket.Key(id), b); err != nil {
					t.Fatalf("raw put %s: %v", id, err)
				}
			},
		}
	}}
}

// TestStore runs the conformance suite on the shared NATS (nats-server 2.9)
// and on an in-process nats-server 2.15 shared by the subtests.
func TestStore(t *testing.T) {
	t.Run("nats_shared", func(t *testing.T) {
		credentialstest.Run(t, harness(func(t *testing.T) jetstream.JetStream { return testserver.JetStream(t) }))
	})
	t.Run("nats_embedded", func(t *testing.T) {
		js := testserver.EmbeddedJetStream(t)
		credentialstest.Run(t, harness(func(*testing.T) jetstream.JetStream { return js }))
	})
}

func TestOpen_badConfig(t *testing.T) {
	js := testserver.JetStream(t)
	for _, c := range []kvcredentials.Config{{Prefix: "a.b"}, {Replicas: 6}, {Replicas: -1}} {
		if _, err := kvcredentials.Open(t.Context(), js, c); err == nil {
			t.Errorf("Open(%+v) succeeded, want an error", c)
		} else if errors.Is(err, jetstream.ErrBucketNotFound) {
			t.Errorf("Open(%+v) = %v, want a configuration error", c, err)
		}
	}
}
