package tokens_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// testStartPoll: StartPoll takes the vehicle's poll lease (the lock Lock
// takes for PollLeaseKey) exclusively and returns the vehicle and its hold.
func testStartPoll(t *testing.T, s tokens.Store) {
	ctx := testCtx(t)
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	poll := at.Add(time.Hour + 7*time.Microsecond)
	putAll(t, s, []tokens.Vehicle{
		{ID: "v1", GrantID: "g1", Tags: []string{"fleet-a", "ev"}, ConnectedAt: at},
		{ID: "v2", GrantID: "g2", ConnectedAt: at},
	})
	if err := s.SetStatus(ctx, "v1", tokens.StatusRateLimited, "Retry-After 1h"); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchPoll(ctx, "v1", poll); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	if err := s.SetHold(ctx, "v1", until); err != nil {
		t.Fatal(err)
	}

	p, err := s.StartPoll(ctx, "v1", time.Minute)
	if err != nil {
		t.Fatalf("StartPoll: %v", err)
	}
	want := tokens.Vehicle{ID: "v1", GrantID: "g1", Tags: []string{"fleet-a", "ev"}, Status: tokens.StatusRateLimited,
		Reason: "Retry-After 1h", LastPoll: poll, ConnectedAt: at}
	if diff := cmp.Diff(want, p.Vehicle, equateEmpty); diff != "" {
		t.Errorf("StartPoll vehicle (-want +got):\n%s", diff)
	}
	if d := p.Hold.Sub(until); d < 0 || d >= time.Millisecond {
		t.Errorf("StartPoll hold = %v, want %v (within +1ms)", p.Hold, until)
	}
	if _, err := s.StartPoll(ctx, "v1", time.Minute); !errors.Is(err, tokens.ErrLocked) {
		t.Fatalf("second StartPoll err = %v, want ErrLocked", err)
	}
	if _, err := s.Lock(ctx, tokens.PollLeaseKey("v1"), time.Minute); !errors.Is(err, tokens.ErrLocked) {
		t.Errorf("Lock of the poll lease during StartPoll's err = %v, want ErrLocked", err)
	}
	p2, err := s.StartPoll(ctx, "v2", time.Minute) // another vehicle: its own lease
	if err != nil {
		t.Fatalf("StartPoll(other vehicle): %v", err)
	}
	if !p2.Hold.IsZero() || p2.Vehicle.Status != tokens.StatusConnected || !p2.Vehicle.LastPoll.IsZero() {
		t.Errorf("StartPoll(v2) = hold %v, %+v; want no hold, connected, never polled", p2.Hold, p2.Vehicle)
	}

	if err := p.Unlock(ctx); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	again, err := s.StartPoll(ctx, "v1", time.Minute)
	if err != nil {
		t.Fatalf("StartPoll after unlock: %v", err)
	}
	// A stale unlock must not release the new holder's lease.
	if err := p.Unlock(ctx); !errors.Is(err, tokens.ErrLockLost) {
		t.Errorf("stale unlock err = %v, want ErrLockLost", err)
	}
	if _, err := s.StartPoll(ctx, "v1", time.Minute); !errors.Is(err, tokens.ErrLocked) {
		t.Errorf("StartPoll after stale unlock err = %v, want ErrLocked", err)
	}
	for _, u := range []func() error{func() error { return again.Unlock(ctx) }, func() error { return p2.Unlock(ctx) }} {
		if err := u(); err != nil {
			t.Errorf("unlock: %v", err)
		}
	}
	// Released by unlock, the lease is free for Lock too.
	unlock, err := s.Lock(ctx, tokens.PollLeaseKey("v1"), time.Minute)
	if err != nil {
		t.Fatalf("Lock of the poll lease after unlock: %v", err)
	}
	if _, err := s.StartPoll(ctx, "v1", time.Minute); !errors.Is(err, tokens.ErrLocked) {
		t.Errorf("StartPoll while Lock holds the lease err = %v, want ErrLocked", err)
	}
	if err := unlock(ctx); err != nil {
		t.Error(err)
	}
	if _, err := s.StartPoll(ctx, "v1", 0); err == nil {
		t.Error("StartPoll with ttl 0 succeeded, want an error")
	}
}

// testStartPollUnknownVehicle: ErrNotFound, and no lease left behind.
func testStartPollUnknownVehicle(t *testing.T, s tokens.Store) {
	ctx := testCtx(t)
	if _, err := s.StartPoll(ctx, "nope", time.Minute); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("StartPoll(unknown) err = %v, want ErrNotFound", err)
	}
	unlock, err := s.Lock(ctx, tokens.PollLeaseKey("nope"), time.Minute)
	if err != nil {
		t.Fatalf("the lease of an unknown vehicle is left taken: Lock err = %v", err)
	}
	if err := unlock(ctx); err != nil {
		t.Error(err)
	}
	// Registered later, the vehicle's lease is free at once.
	putAll(t, s, []tokens.Vehicle{{ID: "nope", GrantID: "g1"}})
	p, err := s.StartPoll(ctx, "nope", time.Minute)
	if err != nil {
		t.Fatalf("StartPoll once registered: %v", err)
	}
	if err := p.Unlock(ctx); err != nil {
		t.Error(err)
	}
	if err := s.DeleteVehicle(ctx, "nope"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartPoll(ctx, "nope", time.Minute); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("StartPoll(deleted) err = %v, want ErrNotFound", err)
	}
	if _, err := s.StartPoll(ctx, "", time.Minute); err == nil {
		t.Error("StartPoll with an empty vehicle id succeeded")
	}
}

// testStartPollExpiry: the lease expires after its ttl; the stale unlock
// then reports ErrLockLost and leaves the new holder's lease alone.
func testStartPollExpiry(t *testing.T, s tokens.Store) {
	ctx := testCtx(t)
	putAll(t, s, []tokens.Vehicle{{ID: "v1", GrantID: "g1"}})
	stale, err := s.StartPoll(ctx, "v1", 300*time.Millisecond)
	if err != nil {
		t.Fatalf("StartPoll: %v", err)
	}
	if _, err := s.StartPoll(ctx, "v1", time.Minute); !errors.Is(err, tokens.ErrLocked) {
		t.Fatalf("StartPoll before expiry err = %v, want ErrLocked", err)
	}
	var fresh tokens.PollStart
	for deadline := time.Now().Add(10 * time.Second); ; {
		fresh, err = s.StartPoll(ctx, "v1", time.Minute)
		if err == nil {
			break
		}
		if !errors.Is(err, tokens.ErrLocked) {
			t.Fatalf("StartPoll while waiting for expiry: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("poll lease with a 300ms ttl still held after 10s")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	if err := stale.Unlock(ctx); !errors.Is(err, tokens.ErrLockLost) {
		t.Errorf("unlock of the expired lease err = %v, want ErrLockLost", err)
	}
	if _, err := s.StartPoll(ctx, "v1", time.Minute); !errors.Is(err, tokens.ErrLocked) {
		t.Errorf("StartPoll after stale unlock err = %v, want ErrLocked (new holder kept it)", err)
	}
	if err := fresh.Unlock(ctx); err != nil {
		t.Error(err)
	}
}
