package marks_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/marks"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// store is what onboard needs of the marks; both backends implement it.
type store interface {
	PutConnectState(ctx context.Context, state string, ttl time.Duration) error
	TakeConnectState(ctx context.Context, state string) error
	MarkWebhookEvent(ctx context.Context, id string, ttl time.Duration) (bool, error)
	WebhookEventSeen(ctx context.Context, id string) (bool, error)
}

var (
	_ store = (*marks.Redis)(nil)
	_ store = (*marks.KV)(nil)
)

const (
	week  = 7 * 24 * time.Hour
	month = 30 * 24 * time.Hour
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newKV returns the KV marks under prefix on js; the caller deletes the bucket.
func newKV(t *testing.T, js jetstream.JetStream, prefix string) *marks.KV {
	t.Helper()
	s, err := marks.NewKV(js, marks.KVConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMarks runs the conformance cases against both backends: the shared
// Redis, the shared NATS (nats-server 2.9) and an in-process nats-server 2.15.
func TestMarks(t *testing.T) {
	embedded := testserver.EmbeddedJetStream(t)
	kv := func(js func(t *testing.T) jetstream.JetStream) func(t *testing.T) store {
		return func(t *testing.T) store {
			j := js(t)
			prefix := testserver.Unique("markt_")
			testserver.DeleteBucketsAtCleanup(t, j, marks.KVBucket(prefix))
			return newKV(t, j, prefix)
		}
	}
	backends := []struct {
		name     string
		newStore func(t *testing.T) store
	}{
		{"redis", func(t *testing.T) store {
			rdb := testserver.Redis(t)
			return marks.NewRedis(rdb, testserver.RedisPrefix(t, rdb, "markt"))
		}},
		{"kv_nats_shared", kv(func(t *testing.T) jetstream.JetStream { return testserver.JetStream(t) })},
		{"kv_nats_embedded", kv(func(*testing.T) jetstream.JetStream { return embedded })},
	}
	tests := []struct {
		name string
		run  func(t *testing.T, s store)
	}{
		{"connect_state_single_use", testConnectStateSingleUse},
		{"connect_state_expires", testConnectStateExpires},
		{"connect_state_race", testConnectStateRace},
		{"webhook_event_dedup", testWebhookEventDedup},
		{"webhook_event_expires", testWebhookEventExpires},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) { tt.run(t, b.newStore(t)) })
			}
		})
	}
}

// TestKV_replicas creates the lazily created marks bucket with 3 replicas
// on a 3-node NATS cluster.
func TestKV_replicas(t *testing.T) {
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
	if _, err := marks.NewKV(js, marks.KVConfig{Prefix: "six", Replicas: 6}); err == nil {
		t.Error("NewKV with 6 replicas: no error")
	}
	s, err := marks.NewKV(js, marks.KVConfig{Prefix: "rep", Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkWebhookEvent(ctx, "ev-1", time.Minute); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, marks.KVBucket("rep"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Replicas; n != 3 {
		t.Errorf("bucket %s: %d replicas, want 3", marks.KVBucket("rep"), n)
	}
}

func testConnectStateSingleUse(t *testing.T, s store) {
	ctx := testCtx(t)
	if err := s.TakeConnectState(ctx, "never-put"); !errors.Is(err, marks.ErrNotFound) {
		t.Fatalf("TakeConnectState(unknown) err = %v, want ErrNotFound", err)
	}
	if err := s.PutConnectState(ctx, "st/1 x", time.Minute); err != nil {
		t.Fatalf("PutConnectState: %v", err)
	}
	if err := s.TakeConnectState(ctx, "st/1 x"); err != nil {
		t.Fatalf("TakeConnectState: %v", err)
	}
	if err := s.TakeConnectState(ctx, "st/1 x"); !errors.Is(err, marks.ErrNotFound) {
		t.Fatalf("TakeConnectState(replayed) err = %v, want ErrNotFound", err)
	}
}

func testConnectStateExpires(t *testing.T, s store) {
	ctx := testCtx(t)
	if err := s.PutConnectState(ctx, "short", 50*time.Millisecond); err != nil {
		t.Fatalf("PutConnectState: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.TakeConnectState(ctx, "short")
		if errors.Is(err, marks.ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatalf("TakeConnectState: %v", err)
		}
		// Taken before it expired (a slow machine): put it again and retry.
		if time.Now().After(deadline) {
			t.Fatal("a 50ms state was still there after 10s")
		}
		if err := s.PutConnectState(ctx, "short", 50*time.Millisecond); err != nil {
			t.Fatalf("PutConnectState: %v", err)
		}
		time.Sleep(100 * time.Millisecond) // let the TTL pass: the store's clock is what is tested
	}
}

func testConnectStateRace(t *testing.T, s store) {
	ctx := testCtx(t)
	if err := s.PutConnectState(ctx, "raced", time.Minute); err != nil {
		t.Fatalf("PutConnectState: %v", err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := s.TakeConnectState(ctx, "raced"); err == nil {
				wins.Add(1)
			} else if !errors.Is(err, marks.ErrNotFound) {
				t.Errorf("TakeConnectState: %v", err)
			}
		})
	}
	wg.Wait()
	if got := wins.Load(); got != 1 {
		t.Fatalf("%d callers took the state, want exactly 1", got)
	}
}

func testWebhookEventDedup(t *testing.T, s store) {
	ctx := testCtx(t)
	var firsts atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			first, err := s.MarkWebhookEvent(ctx, "evt-1", time.Hour)
			if err != nil {
				t.Errorf("MarkWebhookEvent: %v", err)
			}
			if first {
				firsts.Add(1)
			}
		})
	}
	wg.Wait()
	if got := firsts.Load(); got != 1 {
		t.Fatalf("%d marks of evt-1 were first, want 1", got)
	}
	first, err := s.MarkWebhookEvent(ctx, "evt-2", time.Hour)
	if err != nil || !first {
		t.Fatalf("MarkWebhookEvent(evt-2) = %v, %v; want true, nil", first, err)
	}
	// Seen: the marked ones, not others; asking does not mark.
	for _, tc := range []struct {
		id   string
		want bool
	}{{"evt-1", true}, {"evt-2", true}, {"evt-3", false}, {"evt-3", false}} {
		if seen, err := s.WebhookEventSeen(ctx, tc.id); err != nil || seen != tc.want {
			t.Errorf("WebhookEventSeen(%s) = %v, %v; want %v, nil", tc.id, seen, err, tc.want)
		}
	}
	if first, err := s.MarkWebhookEvent(ctx, "evt-3", time.Hour); err != nil || !first {
		t.Fatalf("MarkWebhookEvent(evt-3 after asking) = %v, %v; want true, nil", first, err)
	}
}

func testWebhookEventExpires(t *testing.T, s store) {
	ctx := testCtx(t)
	if first, err := s.MarkWebhookEvent(ctx, "evt-short", 50*time.Millisecond); err != nil || !first {
		t.Fatalf("MarkWebhookEvent = %v, %v; want true, nil", first, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		first, err := s.MarkWebhookEvent(ctx, "evt-short", 50*time.Millisecond)
		if err != nil {
			t.Fatalf("MarkWebhookEvent: %v", err)
		}
		if first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a 50ms mark still held after 10s")
		}
		time.Sleep(20 * time.Millisecond) // let the TTL pass: the store's clock is what is tested
	}
	// The mark just taken again expires too: Seen says so.
	for {
		seen, err := s.WebhookEventSeen(ctx, "evt-short")
		if err != nil {
			t.Fatalf("WebhookEventSeen: %v", err)
		}
		if !seen {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a 50ms mark still seen after 10s")
		}
		time.Sleep(20 * time.Millisecond) // let the TTL pass: the store's clock is what is tested
	}
}

// TestRedis_markRetention checks that an event mark's key lives
// as long as asked, up to MaxMarkTTL: Smartcar asks for at least 7 days.
func TestRedis_markRetention(t *testing.T) {
	ctx := testCtx(t)
	rdb := testserver.Redis(t)
	prefix := testserver.RedisPrefix(t, rdb, "markt")
	s := marks.NewRedis(rdb, prefix)
	if marks.MaxTTL < month {
		t.Fatalf("MaxMarkTTL = %s, want at least 30 days", marks.MaxTTL)
	}
	for _, tc := range []struct {
		id       string
		ttl      time.Duration
		min, max time.Duration // of the key's remaining TTL
	}{
		{"week", week, week - time.Minute, week},
		{"month", month, month - time.Minute, month},
		{"too long", 2 * marks.MaxTTL, marks.MaxTTL - time.Minute, marks.MaxTTL},
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

// TestKV_markRetention checks that the marks bucket keeps a mark
// as long as asked: its MaxAge follows the longest ttl, including in a bucket
// an older version made with a MaxAge of 48h.
func TestKV_markRetention(t *testing.T) {
	servers := []struct {
		name string
		js   func(t *testing.T) jetstream.JetStream
	}{
		{"nats_shared", func(t *testing.T) jetstream.JetStream { return testserver.JetStream(t) }},
		{"nats_embedded", func(t *testing.T) jetstream.JetStream { return testserver.EmbeddedJetStream(t) }},
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
				{"above the maximum", 0, []time.Duration{2 * marks.MaxTTL}, marks.MaxTTL},
				{"old 48h bucket raised", 48 * time.Hour, []time.Duration{week}, week},
				{"old longer bucket kept", 2 * week, []time.Duration{week}, 2 * week},
			} {
				t.Run(tc.name, func(t *testing.T) {
					ctx := testCtx(t)
					prefix := testserver.Unique("markr_")
					bucket := marks.KVBucket(prefix)
					if tc.existing > 0 {
						if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
							Bucket: bucket, History: 1, Storage: jetstream.FileStorage, TTL: tc.existing,
						}); err != nil {
							t.Fatalf("create old bucket: %v", err)
						}
					}
					testserver.DeleteBucketsAtCleanup(t, js, bucket)
					s := newKV(t, js, prefix)
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
					again, err := marks.NewKV(js, marks.KVConfig{Prefix: prefix})
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
