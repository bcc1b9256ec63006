package credentialstest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// RunStore runs the store cases against stores newStore makes: each must be
// empty and private to the test it is made for.
func RunStore(t *testing.T, newStore func(t *testing.T) credentials.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s credentials.Store)
	}{
		{"grant_crud", testGrantCRUD},
		{"grant_cas_race", testGrantCASRace},
		{"grant_odd_ids", testGrantOddIDs},
		{"grant_ids", testGrantIDs},
		{"lock_exclusive", testLockExclusive},
		{"lock_race", testLockRace},
		{"lock_expiry", testLockExpiry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Access returns a distinct token pair for each n, expiring in 2030.
func Access(n int) smartcar.Access {
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

func testGrantCRUD(t *testing.T, s credentials.Store) {
	ctx := testCtx(t)
	if _, err := s.GetGrant(ctx, "user-1"); !errors.Is(err, credentials.ErrNotFound) {
		t.Fatalf("GetGrant(missing) err = %v, want ErrNotFound", err)
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC)
	if err := s.CreateGrant(ctx, credentials.Grant{ID: "user-1", Access: Access(1), Version: 42, UpdatedAt: at}); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	got, err := s.GetGrant(ctx, "user-1")
	if err != nil {
		t.Fatalf("GetGrant: %v", err)
	}
	want := credentials.Grant{ID: "user-1", Access: Access(1), Version: 1, UpdatedAt: at}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("GetGrant after create (-want +got):\n%s", diff)
	}

	// A reconnect replaces the pair and bumps the version.
	if err := s.CreateGrant(ctx, credentials.Grant{ID: "user-1", Access: Access(2), NeedsReauth: false, UpdatedAt: at}); err != nil {
		t.Fatalf("CreateGrant (replace): %v", err)
	}
	got, err = s.GetGrant(ctx, "user-1")
	if err != nil || got.Version != 2 || got.Access != Access(2) {
		t.Fatalf("GetGrant after replace = v%d %v, %v; want v2 with Access(2)", got.Version, got.Access.AccessToken, err)
	}

	upd := credentials.Grant{ID: "user-1", Access: Access(3), NeedsReauth: true, UpdatedAt: at.Add(time.Hour)}
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
	if _, err := s.UpdateGrant(ctx, upd, 2); !errors.Is(err, credentials.ErrConflict) {
		t.Errorf("UpdateGrant(stale v2) err = %v, want ErrConflict", err)
	}
	if _, err := s.UpdateGrant(ctx, credentials.Grant{ID: "nobody", Access: Access(1)}, 1); !errors.Is(err, credentials.ErrNotFound) {
		t.Errorf("UpdateGrant(missing) err = %v, want ErrNotFound", err)
	}

	if err := s.DeleteGrant(ctx, "user-1"); err != nil {
		t.Fatalf("DeleteGrant: %v", err)
	}
	if _, err := s.GetGrant(ctx, "user-1"); !errors.Is(err, credentials.ErrNotFound) {
		t.Errorf("GetGrant after delete err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteGrant(ctx, "user-1"); !errors.Is(err, credentials.ErrNotFound) {
		t.Errorf("DeleteGrant(missing) err = %v, want ErrNotFound", err)
	}
	// Created again after a delete, it starts over.
	if err := s.CreateGrant(ctx, credentials.Grant{ID: "user-1", Access: Access(4)}); err != nil {
		t.Fatalf("CreateGrant after delete: %v", err)
	}
	if got, err := s.GetGrant(ctx, "user-1"); err != nil || got.Access != Access(4) || got.UpdatedAt.IsZero() {
		t.Errorf("GetGrant after re-create = %+v, %v", got, err)
	}
	if _, err := s.GetGrant(ctx, ""); err == nil {
		t.Error("GetGrant(\"\") succeeded, want an error")
	}
}

// testGrantCASRace lets goroutines race UpdateGrant on each version: exactly
// one must win, the others get ErrConflict, and the winner's pair is stored.
func testGrantCASRace(t *testing.T, s credentials.Store) {
	ctx := testCtx(t)
	if err := s.CreateGrant(ctx, credentials.Grant{ID: "racy", Access: Access(0)}); err != nil {
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
				g, err := s.UpdateGrant(ctx, credentials.Grant{ID: "racy", Access: Access(n)}, version)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					winners = append(winners, n)
					if g.Version != version+1 {
						others = append(others, fmt.Errorf("winner got version %d, want %d", g.Version, version+1))
					}
				case errors.Is(err, credentials.ErrConflict):
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
		if err != nil || got.Version != version+1 || got.Access != Access(winners[0]) {
			t.Fatalf("version %d: stored v%d %s (%v), want v%d %s", version, got.Version,
				got.Access.AccessToken, err, version+1, Access(winners[0]).AccessToken)
		}
	}
}

// testGrantOddIDs stores ids with characters that are not valid as they are
// in every backend's keys.
func testGrantOddIDs(t *testing.T, s credentials.Store) {
	ctx := testCtx(t)
	ids := []string{"a:b", "a.b", "a b", "a=3Ab", "ünï/côdé*>"}
	for i, id := range ids {
		if err := s.CreateGrant(ctx, credentials.Grant{ID: id, Access: Access(i)}); err != nil {
			t.Fatalf("CreateGrant(%q): %v", id, err)
		}
	}
	for i, id := range ids {
		g, err := s.GetGrant(ctx, id)
		if err != nil || g.ID != id || g.Access != Access(i) || g.Version != 1 {
			t.Errorf("GetGrant(%q) = %q v%d %s, %v; want Access(%d) v1", id, g.ID, g.Version, g.Access.AccessToken, err, i)
		}
	}
}

func testLockExclusive(t *testing.T, s credentials.Store) {
	ctx := testCtx(t)
	unlock, err := s.Lock(ctx, "grant:a", time.Minute)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if _, err := s.Lock(ctx, "grant:a", time.Minute); !errors.Is(err, credentials.ErrLocked) {
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
	if err := unlock(ctx); !errors.Is(err, credentials.ErrLockLost) {
		t.Errorf("stale unlock err = %v, want ErrLockLost", err)
	}
	if _, err := s.Lock(ctx, "grant:a", time.Minute); !errors.Is(err, credentials.ErrLocked) {
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

func testLockRace(t *testing.T, s credentials.Store) {
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
			case errors.Is(err, credentials.ErrLocked):
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

func testLockExpiry(t *testing.T, s credentials.Store) {
	ctx := testCtx(t)
	stale, err := s.Lock(ctx, "grant:exp", 300*time.Millisecond)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	if _, err := s.Lock(ctx, "grant:exp", time.Minute); !errors.Is(err, credentials.ErrLocked) {
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
		if !errors.Is(err, credentials.ErrLocked) {
			t.Fatalf("Lock while waiting for expiry: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("lock with a 300ms ttl still held after 10s")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	if err := stale(ctx); !errors.Is(err, credentials.ErrLockLost) {
		t.Errorf("unlock of expired lock err = %v, want ErrLockLost", err)
	}
	if _, err := s.Lock(ctx, "grant:exp", time.Minute); !errors.Is(err, credentials.ErrLocked) {
		t.Errorf("Lock after stale unlock err = %v, want ErrLocked (new holder kept it)", err)
	}
}

// testGrantIDs lists every grant, odd ids included, and none once deleted.
func testGrantIDs(t *testing.T, s credentials.Store) {
	ctx := testCtx(t)
	if ids, err := s.GrantIDs(ctx); err != nil || len(ids) != 0 {
		t.Fatalf("GrantIDs(empty) = %v, %v; want none", ids, err)
	}
	want := []string{"a:b", "odd id/ü*?[x]", "u1", "u2"}
	for i, id := range want {
		if err := s.CreateGrant(ctx, credentials.Grant{ID: id, Access: Access(i)}); err != nil {
			t.Fatalf("CreateGrant(%q): %v", id, err)
		}
	}
	got, err := s.GrantIDs(ctx)
	if err != nil {
		t.Fatalf("GrantIDs: %v", err)
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GrantIDs (-want +got):\n%s", diff)
	}
	if err := s.DeleteGrant(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GrantIDs(ctx); err != nil || slices.Contains(got, "u1") || len(got) != 3 {
		t.Errorf("GrantIDs after a delete = %v, %v; want the 3 others", got, err)
	}
}
