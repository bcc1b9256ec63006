package tokens_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// onboardStore is what the onboard package needs from a store.
type onboardStore interface {
	PutConnectState(ctx context.Context, state string, ttl time.Duration) error
	TakeConnectState(ctx context.Context, state string) error
	MarkWebhookEvent(ctx context.Context, id string, ttl time.Duration) (bool, error)
	ForgetWebhookEvent(ctx context.Context, id string) error
	TouchWebhook(ctx context.Context, vehicleID string, t time.Time) error
	LastWebhooks(ctx context.Context) (map[string]time.Time, error)
}

var (
	_ onboardStore = (*tokens.RedisStore)(nil)
	_ onboardStore = (*tokens.KVStore)(nil)
)

// TestStore_onboarding runs the onboarding records' conformance cases
// against every backend.
func TestStore_onboarding(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, s onboardStore)
	}{
		{"connect_state_single_use", testConnectStateSingleUse},
		{"connect_state_expires", testConnectStateExpires},
		{"connect_state_race", testConnectStateRace},
		{"webhook_event_dedup", testWebhookEventDedup},
		{"webhook_event_expires", testWebhookEventExpires},
		{"webhook_times", testWebhookTimes},
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) { tt.run(t, b.newStore(t).(onboardStore)) })
			}
		})
	}
}

func testConnectStateSingleUse(t *testing.T, s onboardStore) {
	ctx := testCtx(t)
	if err := s.TakeConnectState(ctx, "never-put"); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("TakeConnectState(unknown) err = %v, want ErrNotFound", err)
	}
	if err := s.PutConnectState(ctx, "st/1 x", time.Minute); err != nil {
		t.Fatalf("PutConnectState: %v", err)
	}
	if err := s.TakeConnectState(ctx, "st/1 x"); err != nil {
		t.Fatalf("TakeConnectState: %v", err)
	}
	if err := s.TakeConnectState(ctx, "st/1 x"); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("TakeConnectState(replayed) err = %v, want ErrNotFound", err)
	}
}

func testConnectStateExpires(t *testing.T, s onboardStore) {
	ctx := testCtx(t)
	if err := s.PutConnectState(ctx, "short", 50*time.Millisecond); err != nil {
		t.Fatalf("PutConnectState: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := s.TakeConnectState(ctx, "short")
		if errors.Is(err, tokens.ErrNotFound) {
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

func testConnectStateRace(t *testing.T, s onboardStore) {
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
			} else if !errors.Is(err, tokens.ErrNotFound) {
				t.Errorf("TakeConnectState: %v", err)
			}
		})
	}
	wg.Wait()
	if got := wins.Load(); got != 1 {
		t.Fatalf("%d callers took the state, want exactly 1", got)
	}
}

func testWebhookEventDedup(t *testing.T, s onboardStore) {
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
	// A forgotten mark can be taken again; forgetting twice is fine.
	for range 2 {
		if err := s.ForgetWebhookEvent(ctx, "evt-1"); err != nil {
			t.Fatalf("ForgetWebhookEvent: %v", err)
		}
	}
	if first, err := s.MarkWebhookEvent(ctx, "evt-1", time.Hour); err != nil || !first {
		t.Fatalf("MarkWebhookEvent(evt-1 after forget) = %v, %v; want true, nil", first, err)
	}
	if first, err := s.MarkWebhookEvent(ctx, "evt-1", time.Hour); err != nil || first {
		t.Fatalf("MarkWebhookEvent(evt-1 again) = %v, %v; want false, nil", first, err)
	}
}

func testWebhookEventExpires(t *testing.T, s onboardStore) {
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
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a 50ms mark still held after 10s")
		}
		time.Sleep(20 * time.Millisecond) // let the TTL pass: the store's clock is what is tested
	}
}

func testWebhookTimes(t *testing.T, s onboardStore) {
	ctx := testCtx(t)
	got, err := s.LastWebhooks(ctx)
	if err != nil {
		t.Fatalf("LastWebhooks(empty): %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("LastWebhooks(empty) = %v, want none", got)
	}
	base := time.Date(2026, 11, 27, 6, 0, 0, 123456789, time.UTC)
	want := map[string]time.Time{}
	for i := range 5 {
		id := fmt.Sprintf("veh-%d", i)
		if i == 4 {
			id = "odd id/ä.*" // escaped by the KV store
		}
		if err := s.TouchWebhook(ctx, id, base.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatalf("TouchWebhook: %v", err)
		}
		want[id] = base.Add(time.Duration(i) * time.Minute)
	}
	// An older time is ignored; a newer one wins.
	if err := s.TouchWebhook(ctx, "veh-1", base.Add(-time.Hour)); err != nil {
		t.Fatalf("TouchWebhook(older): %v", err)
	}
	if err := s.TouchWebhook(ctx, "veh-2", base.Add(time.Hour)); err != nil {
		t.Fatalf("TouchWebhook(newer): %v", err)
	}
	want["veh-2"] = base.Add(time.Hour)
	got, err = s.LastWebhooks(ctx)
	if err != nil {
		t.Fatalf("LastWebhooks: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("LastWebhooks (-want +got):\n%s", diff)
	}
}
