package tokens_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// TestKVStore_replicas creates a store's buckets, the lazily created marks
// bucket included, with 3 replicas on a 3-node NATS cluster.
func TestKVStore_replicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	cl := testserver.StartNATSCluster(t, 3)
	nc, err := nats.Connect(strings.Join(cl.URLs(), ","))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)

	if _, err := tokens.NewKVStore(ctx, js, "six", tokens.WithReplicas(6)); err == nil {
		t.Error("NewKVStore with 6 replicas: no error")
	}
	s, err := tokens.NewKVStore(ctx, js, "rep", tokens.WithReplicas(3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkWebhookEvent(ctx, "ev-1", time.Minute); err != nil {
		t.Fatal(err)
	}
	g, v, l := tokens.KVBuckets("rep")
	for _, b := range []string{g, v, l, tokens.KVMarksBucket("rep")} {
		kv, err := js.KeyValue(ctx, b)
		if err != nil {
			t.Fatalf("bucket %s: %v", b, err)
		}
		st, err := kv.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Replicas != 3 {
			t.Errorf("bucket %s: %d replicas, want 3", b, st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Replicas)
		}
	}
}
