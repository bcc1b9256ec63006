package tokens_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/tokens"
)

const (
	week  = 7 * 24 * time.Hour
	month = 30 * 24 * time.Hour
)

// TestRedisStore_webhookMarkRetention checks that an event mark's key lives
// as long as asked, up to MaxMarkTTL: Smartcar asks for at least 7 days.
func TestRedisStore_webhookMarkRetention(t *testing.T) {
	ctx := testCtx(t)
	rdb := testserver.Redis(t)
	prefix := uniquePrefix()
	t.Cleanup(func() { deleteRedisPrefix(t, rdb, prefix) })
	s := tokens.NewRedisStore(rdb, prefix)
	if tokens.MaxMarkTTL < month {
		t.Fatalf("MaxMarkTTL = %s, want at least 30 days", tokens.MaxMarkTTL)
	}
	for _, tc := range []struct {
		id       string
		ttl      time.Duration
		min, max time.Duration // of the key's remaining TTL
	}{
		{"week", week, week - time.Minute, week},
		{"month", month, month - time.Minute, month},
		{"too long", 2 * tokens.MaxMarkTTL, tokens.MaxMarkTTL - time.Minute, tokens.MaxMarkTTL},
	} {
		if first, err := s.MarkWebhookEvent(ctx, tc.id, tc.ttl); err != nil || !first {
			t.Fatalf("MarkWebhookEvent(%s) = %v, %v; want true, nil", tc.id, first, err)
		}
		got, err := rdb.PTTL(ctx, prefix+"webhook_event:"+tc.id).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got < tc.min || got > tc.max {
			t.Errorf("mark %q asked for %s lives %s, want %s to %s", tc.id, tc.ttl, got, tc.min, tc.max)
		}
	}
}

// TestKVStore_webhookMarkRetention checks that the marks bucket keeps a mark
// as long as asked: its MaxAge follows the longest ttl, including in a bucket
// an older version made with a MaxAge of 48h.
func TestKVStore_webhookMarkRetention(t *testing.T) {
	servers := []struct {
		name string
		js   func(t *testing.T) jetstream.JetStream
	}{
		{"nats_shared", func(t *testing.T) jetstream.JetStream { return sharedJetStream(t) }},
		{"nats_embedded", func(t *testing.T) jetstream.JetStream { return embeddedJetStream(t) }},
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			js := srv.js(t)
			for _, tc := range []struct {
				name     string
				existing time.Duration // MaxAge of a bucket made beforehand; 0: none
				marks    []time.Duration
				want     time.Duration
			}{
				{"new bucket, a week", 0, []time.Duration{week}, week},
				{"new bucket, connect state first", 0, []time.Duration{10 * time.Minute, week}, week},
				{"shorter marks keep it", 0, []time.Duration{month, time.Hour}, month},
				{"above the maximum", 0, []time.Duration{2 * tokens.MaxMarkTTL}, tokens.MaxMarkTTL},
				{"old 48h bucket raised", 48 * time.Hour, []time.Duration{week}, week},
				{"old longer bucket kept", 2 * week, []time.Duration{week}, 2 * week},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ctx := testCtx(t)
					prefix := testserver.Unique("tokr_")
					bucket := tokens.KVMarksBucket(prefix)
					if tc.existing > 0 {
						if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
							Bucket: bucket, History: 1, Storage: jetstream.FileStorage, TTL: tc.existing,
						}); err != nil {
							t.Fatalf("create old bucket: %v", err)
						}
						t.Cleanup(func() { deleteBucket(t, js, bucket) })
					}
					s := newKVStoreWithPrefix(t, js, prefix)
					marked := false
					for _, ttl := range tc.marks {
						if ttl < time.Hour { // as long as Connect states live
							if err := s.PutConnectState(ctx, "st", ttl); err != nil {
								t.Fatalf("PutConnectState: %v", err)
							}
							continue
						}
						first, err := s.MarkWebhookEvent(ctx, "evt", ttl)
						if err != nil || first == marked {
							t.Fatalf("MarkWebhookEvent(%s) = %v, %v; want %v, nil", ttl, first, err, !marked)
						}
						marked = true
					}
					stream, err := js.Stream(ctx, "KV_"+bucket)
					if err != nil {
						t.Fatal(err)
					}
					info, err := stream.Info(ctx)
					if err != nil {
						t.Fatal(err)
					}
					if got := info.Config.MaxAge; got != tc.want {
						t.Errorf("bucket MaxAge %s, want %s", got, tc.want)
					}
					// A second store (another replica, a restart) sees the same.
					again, err := tokens.NewKVStore(ctx, js, prefix)
					if err != nil {
						t.Fatal(err)
					}
					if first, err := again.MarkWebhookEvent(ctx, "evt", tc.marks[len(tc.marks)-1]); err != nil || first {
						t.Errorf("MarkWebhookEvent from a second store = %v, %v; want false, nil", first, err)
					}
				})
			}
		})
	}
}

// newKVStoreWithPrefix is newKVStore under a given prefix.
func newKVStoreWithPrefix(t *testing.T, js jetstream.JetStream, prefix string) *tokens.KVStore {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := tokens.NewKVStore(ctx, js, prefix)
	g, v, l := tokens.KVBuckets(prefix)
	t.Cleanup(func() {
		for _, b := range []string{g, v, l, tokens.KVMarksBucket(prefix)} {
			deleteBucket(t, js, b)
		}
	})
	if err != nil {
		t.Fatalf("NewKVStore: %v", err)
	}
	return s
}

func deleteBucket(t *testing.T, js jetstream.JetStream, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := js.DeleteKeyValue(ctx, bucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Errorf("delete bucket %s: %v", bucket, err)
	}
}
