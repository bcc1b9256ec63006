package tokens_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// TestStore runs the conformance suite against every backend, with grants
// in plaintext and encrypted at rest.
func TestStore(t *testing.T) {
	keys := testKeyring(t, testKey(1))
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			runStoreSuite(t, func(t *testing.T) tokens.Store { return b.newStore(t) })
		})
		t.Run(b.name+"_encrypted", func(t *testing.T) {
			runStoreSuite(t, func(t *testing.T) tokens.Store { return b.newStore(t, tokens.WithKeyring(keys)) })
		})
	}
}

// runStoreSuite checks that a Store honours the contract Manager relies on.
// newStore must return an empty store private to the test.
func runStoreSuite(t *testing.T, newStore func(t *testing.T) tokens.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s tokens.Store)
	}{
		{"grant_crud", testGrantCRUD},
		{"grant_cas_race", testGrantCASRace},
		{"grant_odd_ids", testGrantOddIDs},
		{"lock_exclusive", testLockExclusive},
		{"lock_race", testLockRace},
		{"lock_expiry", testLockExpiry},
		{"vehicle_crud", testVehicleCRUD},
		{"vehicle_status_and_poll", testVehicleStatusAndPoll},
		{"vehicle_concurrent_writes", testVehicleConcurrentWrites},
		{"hold_only_extends", testHoldOnlyExtends},
		{"hold_expires", testHoldExpires},
		{"list_many_vehicles", testListManyVehicles},
		{"start_poll", testStartPoll},
		{"start_poll_unknown_vehicle", testStartPollUnknownVehicle},
		{"start_poll_expiry", testStartPollExpiry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

func access(n int) smartcar.Access {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	return smartcar.Access{
		AccessToken:       fmt.Sprintf("access-%d", n),
		TokenType:         "Bearer",
		ExpiresIn:         7200,
		Expiration:        exp.Add(time.Duration(n) * time.Hour),
		RefreshToken:      fmt.Sprintf("refresh-%d", n),
		RefreshExpiration: exp.Add(60 * 24 * time.Hour),
	}
}

func testGrantCRUD(t *testing.T, s tokens.Store) {
	ctx := testCtx(t)
	if _, err := s.GetGrant(ctx, "user-1"); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("GetGrant(missing) err = %v, want ErrNotFound", err)
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	if err := s.CreateGrant(ctx, tokens.Grant{ID: "user-1", Access: access(1), Version: 42, UpdatedAt: at}); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	got, err := s.GetGrant(ctx, "user-1")
	if err != nil {
		t.Fatalf("GetGrant: %v", err)
	}
	want := tokens.Grant{ID: "user-1", Access: access(1), Version: 1, UpdatedAt: at}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("GetGrant after create (-want +got):\n%s", diff)
	}

	// A reconnect replaces the pair and bumps the version.
	if err := s.CreateGrant(ctx, tokens.Grant{ID: "user-1", Access: access(2), NeedsReauth: false, UpdatedAt: at}); err != nil {
		t.Fatalf("CreateGrant (replace): %v", err)
	}
	got, err = s.GetGrant(ctx, "user-1")
	if err != nil || got.Version != 2 || got.Access != access(2) {
		t.Fatalf("GetGrant after replace = v%d %v, %v; want v2 with access(2)", got.Version, got.Access.AccessToken, err)
	}

	upd := tokens.Grant{ID: "user-1", Access: access(3), NeedsReauth: true, UpdatedAt: at.Add(time.Hour)}
	stored, err := s.UpdateGrant(ctx, upd, 2)
	if err != nil {
		t.Fatalf("UpdateGrant(v2): %v", err)
	}
	want = upd
	want.Version = 3
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("UpdateGrant result (-want +got):\n%s", diff)
	}
	if got, _ := s.GetGrant(ctx, "user-1"); !cmp.Equal(want, got) {
		t.Errorf("GetGrant after update = %+v, want %+v", got, want)
	}
	if _, err := s.UpdateGrant(ctx, upd, 2); !errors.Is(err, tokens.ErrConflict) {
		t.Errorf("UpdateGrant(stale v2) err = %v, want ErrConflict", err)
	}
	if _, err := s.UpdateGrant(ctx, tokens.Grant{ID: "nobody", Access: access(1)}, 1); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("UpdateGrant(missing) err = %v, want ErrNotFound", err)
	}

	if err := s.DeleteGrant(ctx, "user-1"); err != nil {
		t.Fatalf("DeleteGrant: %v", err)
	}
	if _, err := s.GetGrant(ctx, "user-1"); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("GetGrant after delete err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteGrant(ctx, "user-1"); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("DeleteGrant(missing) err = %v, want ErrNotFound", err)
	}
	// Created again after a delete, it starts over.
	if err := s.CreateGrant(ctx, tokens.Grant{ID: "user-1", Access: access(4)}); err != nil {
		t.Fatalf("CreateGrant after delete: %v", err)
	}
	if got, err := s.GetGrant(ctx, "user-1"); err != nil || got.Access != access(4) || got.UpdatedAt.IsZero() {
		t.Errorf("GetGrant after re-create = %+v, %v", got, err)
	}
	if _, err := s.GetGrant(ctx, ""); err == nil {
		t.Error("GetGrant(\"\") succeeded, want an error")
	}
}

// testGrantCASRace lets goroutines race UpdateGrant on each version: exactly
// one must win, the others get ErrConflict, and the winner's pair is stored.
func testGrantCASRace(t *testing.T, s tokens.Store) {
	ctx := testCtx(t)
	if err := s.CreateGrant(ctx, tokens.Grant{ID: "racy", Access: access(0)}); err != nil {
		t.Fatal(err)
	}
	const racers = 12
	for version := int64(1); version <= 5; version++ {
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			winners   []int
			conflicts int
			others    []error
			start     = make(chan struct{})
		)
		for i := range racers {
			wg.Go(func() {
				<-start
				n := int(version)*100 + i
				g, err := s.UpdateGrant(ctx, tokens.Grant{ID: "racy", Access: access(n)}, version)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, n)
					if g.Version != version+1 {
						others = append(others, fmt.Errorf("winner got version %d, want %d", g.Version, version+1))
					}
				case errors.Is(err, tokens.ErrConflict):
					conflicts++
				default:
					others = append(others, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if len(others) > 0 || len(winners) != 1 || conflicts != racers-1 {
			t.Fatalf("version %d: winners %v, conflicts %d, other errors %v; want 1 winner, %d conflicts",
				version, winners, conflicts, others, racers-1)
		}
		got, err := s.GetGrant(ctx, "racy")
		if err != nil || got.Version != version+1 || got.Access != access(winners[0]) {
			t.Fatalf("version %d: stored v%d %s (%v), want v%d %s", version, got.Version,
				got.Access.AccessToken, err, version+1, access(winners[0]).AccessToken)
		}
	}
}

// testGrantOddIDs stores ids with characters that are not valid as they are
// in every backend's keys.
func testGrantOddIDs(t *testing.T, s tokens.Store) {
	ctx := testCtx(t)
	ids := []string{"a:b", "a.b", "a b", "a=3Ab", "ünï/côdé*>"}
	for i, id := range ids {
		if err := s.CreateGrant(ctx, tokens.Grant{ID: id, Access: access(i)}); err != nil {
			t.Fatalf("CreateGrant(%q): %v", id, err)
		}
	}
	for i, id := range ids {
		g, err := s.GetGrant(ctx, id)
		if err != nil || g.ID != id || g.Access != access(i) || g.Version != 1 {
			t.Errorf("GetGrant(%q) = %q v%d %s, %v; want access(%d) v1", id, g.ID, g.Version, g.Access.AccessToken, err, i)
		}
	}
}

func testLockExclusive(t *testing.T, s tokens.Store) {
	ctx := testCtx(t)
	unlock, err := s.Lock(ctx, "grant:a", time.Minute)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if _, err := s.Lock(ctx, "grant:a", time.Minute); !errors.Is(err, tokens.ErrLocked) {
		t.Fatalf("second Lock err = %v, want ErrLocked", err)
	}
	unlockB, err := s.Lock(ctx, "grant:b", time.Minute)
	if err != nil {
		t.Fatalf("Lock(other key): %v", err)
	}
	if err := unlock(ctx); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	unlock2, err := s.Lock(ctx, "grant:a", time.Minute)
	if err != nil {
		t.Fatalf("Lock after unlock: %v", err)
	}
	// A stale unlock must not release the new holder's lock.
	if err := unlock(ctx); !errors.Is(err, tokens.ErrLockLost) {
		t.Errorf("stale unlock err = %v, want ErrLockLost", err)
	}
	if _, err := s.Lock(ctx, "grant:a", time.Minute); !errors.Is(err, tokens.ErrLocked) {
		t.Errorf("Lock after stale unlock err = %v, want ErrLocked", err)
	}
	if err := unlock2(ctx); err != nil {
		t.Errorf("unlock2: %v", err)
	}
	if err := unlockB(ctx); err != nil {
		t.Errorf("unlockB: %v", err)
	}
	if _, err := s.Lock(ctx, "grant:a", 0); err == nil {
		t.Error("Lock with ttl 0 succeeded, want an error")
	}
}

func testLockRace(t *testing.T, s tokens.Store) {
	ctx := testCtx(t)
	const racers = 16
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		held   int
		locked int
		errs   []error
		start  = make(chan struct{})
	)
	for range racers {
		wg.Go(func() {
			<-start
			_, err := s.Lock(ctx, "grant:race", time.Minute)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				held++
			case errors.Is(err, tokens.ErrLocked):
				locked++
			default:
				errs = append(errs, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if held != 1 || locked != racers-1 || len(errs) > 0 {
		t.Errorf("lock race: %d holders, %d ErrLocked, errors %v; want 1 and %d", held, locked, errs, racers-1)
	}
}

func testLockExpiry(t *testing.T, s tokens.Store) {
	ctx := testCtx(t)
	stale, err := s.Lock(ctx, "grant:exp", 300*time.Millisecond)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if _, err := s.Lock(ctx, "grant:exp", time.Minute); !errors.Is(err, tokens.ErrLocked) {
		t.Fatalf("Lock before expiry err = %v, want ErrLocked", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		u, err := s.Lock(ctx, "grant:exp", time.Minute)
		if err == nil {
			defer func() {
				if err := u(ctx); err != nil {
					t.Errorf("unlock: %v", err)
				}
			}()
			break
		}
		if !errors.Is(err, tokens.ErrLocked) {
			t.Fatalf("Lock while waiting for expiry: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("lock with a 300ms ttl still held after 10s")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	if err := stale(ctx); !errors.Is(err, tokens.ErrLockLost) {
		t.Errorf("unlock of expired lock err = %v, want ErrLockLost", err)
	}
	if _, err := s.Lock(ctx, "grant:exp", time.Minute); !errors.Is(err, tokens.ErrLocked) {
		t.Errorf("Lock after stale unlock err = %v, want ErrLocked (new holder kept it)", err)
	}
}
