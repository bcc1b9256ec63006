package credentials_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
}

func TestManager_ForceRefresh(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		ctx := testCtx(t)
		m := s.manager(t, credentials.ManagerConfig{})
		s.connect(t, m, "g1")
		a1 := s.auth.current("g1").AccessToken

		// Rejected token is not the stored one: hand out the stored one.
		if tok, err := m.ForceRefresh(ctx, "g1", "an-older-token"); err != nil || tok != a1 {
			t.Fatalf("ForceRefresh(older token) = %q, %v; want the stored token", tok, err)
		}
		const n = 20
		var wg sync.WaitGroup
		got := make([]string, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { got[i], errs[i] = m.ForceRefresh(ctx, "g1", a1) })
		}
		wg.Wait()
		a2 := s.auth.current("g1").AccessToken
		for i := range n {
			if errs[i] != nil || got[i] != a2 || a2 == a1 {
				t.Fatalf("ForceRefresh %d = %q, %v; want the new token", i, got[i], errs[i])
			}
		}
		// A late 401 with the old token changes nothing.
		if tok, err := m.ForceRefresh(ctx, "g1", a1); err != nil || tok != a2 {
			t.Errorf("late ForceRefresh = %q, %v; want %q", tok, err, a2)
		}
		if refreshes, reuses, _ := s.auth.counts(); refreshes != 1 || reuses != 0 {
			t.Errorf("refreshes = %d, reuses = %d; want 1 and 0", refreshes, reuses)
		}
	})
}

// TestManager_UnknownGrant: a grant that is not stored is ErrNotFound,
// without a call to Smartcar.
func TestManager_UnknownGrant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		ctx := testCtx(t)
		m := s.manager(t, credentials.ManagerConfig{})
		if _, err := m.AccessToken(ctx, "nobody"); !errors.Is(err, credentials.ErrNotFound) {
			t.Errorf("AccessToken(unknown grant) err = %v, want ErrNotFound", err)
		}
		if _, err := m.ForceRefresh(ctx, "nobody", "x"); !errors.Is(err, credentials.ErrNotFound) {
			t.Errorf("ForceRefresh(unknown grant) err = %v, want ErrNotFound", err)
		}
		if _, err := m.AccessToken(ctx, ""); err == nil {
			t.Error("AccessToken(\"\") succeeded, want an error")
		}
		if _, _, calls := s.auth.counts(); calls != 0 {
			t.Errorf("Smartcar called %d times, want 0", calls)
		}
	})
}

// TestManager_LockHeldElsewhere: while another process holds the grant's
// lock, a Manager waits and uses the pair that process stores.
func TestManager_LockHeldElsewhere(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		ctx := testCtx(t)
		m := s.manager(t, credentials.ManagerConfig{})
		s.connect(t, m, "g1")
		s.clock.Advance(lifetime)
		unlock, err := s.store.Lock(ctx, "grant:g1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			tok string
			err error
		}
		done := make(chan result, 1)
		go func() {
			tok, err := m.AccessToken(ctx, "g1")
			done <- result{tok, err}
		}()
		waitFor(t, "the manager to wait for the lock", func() bool {
			return strings.Contains(s.logs.String(), "waiting for another refresh")
		})
		// The other process refreshes and stores its pair.
		g, err := s.store.GetGrant(ctx, "g1")
		if err != nil {
			t.Fatal(err)
		}
		theirs := s.auth.issue("g1")
		if _, err := s.store.UpdateGrant(ctx, credentials.Grant{ID: "g1", Access: *theirs, UpdatedAt: s.clock.Now()}, g.Version); err != nil {
			t.Fatal(err)
		}
		if err := unlock(ctx); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || r.tok != theirs.AccessToken {
			t.Errorf("AccessToken = %q, %v; want the other process's token", r.tok, r.err)
		}
		if _, _, calls := s.auth.counts(); calls != 0 {
			t.Errorf("Smartcar called %d times, want 0", calls)
		}
	})
}

// TestManager_LockHolderCrashed: a lock its holder never releases expires
// and the waiting Manager refreshes.
func TestManager_LockHolderCrashed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		ctx := testCtx(t)
		m := s.manager(t, credentials.ManagerConfig{LockTTL: 2 * time.Second})
		s.connect(t, m, "g1")
		s.clock.Advance(lifetime)
		if _, err := s.store.Lock(ctx, "grant:g1", 300*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		tok, err := m.AccessToken(ctx, "g1")
		if err != nil || tok != s.auth.current("g1").AccessToken {
			t.Fatalf("AccessToken = %q, %v; want a refreshed token", tok, err)
		}
		if refreshes, reuses, _ := s.auth.counts(); refreshes != 1 || reuses != 0 {
			t.Errorf("refreshes = %d, reuses = %d; want 1 and 0", refreshes, reuses)
		}
	})
}

// TestManager_CallerGivesUp: a caller cancelled during the call to Smartcar
// does not abandon the new pair: it is stored anyway.
func TestManager_CallerGivesUp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		m := s.manager(t, credentials.ManagerConfig{})
		s.connect(t, m, "g1")
		s.clock.Advance(lifetime)
		gate := make(chan struct{})
		s.auth.mu.Lock()
		s.auth.gate = gate
		s.auth.mu.Unlock()

		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := m.AccessToken(ctx, "g1")
			done <- err
		}()
		waitFor(t, "the call to Smartcar", func() bool { _, _, calls := s.auth.counts(); return calls == 1 })
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled AccessToken err = %v, want context.Canceled", err)
		}
		close(gate)
		waitFor(t, "the new pair to be stored", func() bool {
			g, err := s.store.GetGrant(t.Context(), "g1")
			return err == nil && g.Version == 2
		})
		tok, err := m.AccessToken(t.Context(), "g1")
		if err != nil || tok != s.auth.current("g1").AccessToken {
			t.Errorf("AccessToken after = %q, %v; want the stored new token", tok, err)
		}
		if refreshes, _, _ := s.auth.counts(); refreshes != 1 {
			t.Errorf("refreshes = %d, want 1", refreshes)
		}
	})
}

// TestManager_LostTokenResponse: Smartcar rotated but the reply was lost; the
// immediate retry with the old token (inside Smartcar's grace) recovers.
func TestManager_LostTokenResponse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		ctx := testCtx(t)
		m := s.manager(t, credentials.ManagerConfig{})
		s.connect(t, m, "g1")
		s.clock.Advance(lifetime)
		s.auth.mu.Lock()
		s.auth.grace, s.auth.loseNext = true, 1
		s.auth.mu.Unlock()

		tok, err := m.AccessToken(ctx, "g1")
		want := s.auth.current("g1")
		if err != nil || tok != want.AccessToken {
			t.Fatalf("AccessToken = %q, %v; want the pair of the retry", tok, err)
		}
		if g, err := s.store.GetGrant(ctx, "g1"); err != nil || g.Access.RefreshToken != want.RefreshToken {
			t.Errorf("stored grant (%v) does not hold the live refresh token", err)
		}
		if refreshes, reuses, _ := s.auth.counts(); refreshes != 2 || reuses != 1 {
			t.Errorf("refreshes = %d, reuses = %d; want 2 and 1 (the documented recovery)", refreshes, reuses)
		}
		s.noSecrets(t, "logs", s.logs.String())
	})
}

// TestManager_Connect: a reconnect replaces the pair with the next
// version, clears NeedsReauth and the cached token; no pair is an error.
func TestManager_Connect(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		ctx := testCtx(t)
		m := s.manager(t, credentials.ManagerConfig{})
		s.connect(t, m, "g1")
		old, err := m.AccessToken(ctx, "g1") // cached
		if err != nil {
			t.Fatal(err)
		}
		g, err := s.store.GetGrant(ctx, "g1")
		if err != nil {
			t.Fatal(err)
		}
		g.NeedsReauth = true
		if _, err := s.store.UpdateGrant(ctx, g, g.Version); err != nil {
			t.Fatal(err)
		}
		s.clock.Advance(time.Hour)
		a := s.auth.issue("g1")
		if err := m.Connect(ctx, "g1", a); err != nil {
			t.Fatal(err)
		}
		g, err = s.store.GetGrant(ctx, "g1")
		if err != nil || g.Version != 3 || g.Access.AccessToken != a.AccessToken || g.NeedsReauth {
			t.Errorf("grant after reconnect = v%d needs_reauth %v (%v); want v3 with the new pair", g.Version, g.NeedsReauth, err)
		}
		if !g.UpdatedAt.Equal(s.clock.Now()) || g.Access.Expiration.IsZero() || g.Access.RefreshExpiration.IsZero() {
			t.Errorf("grant after reconnect: updated %v, expiries %v / %v; want now and both set",
				g.UpdatedAt, g.Access.Expiration, g.Access.RefreshExpiration)
		}
		if tok, err := m.AccessToken(ctx, "g1"); err != nil || tok != a.AccessToken || tok == old {
			t.Errorf("AccessToken after reconnect = %q, %v; want the new token, not the cached one", tok, err)
		}
		if err := m.Connect(ctx, "g1", nil); err == nil {
			t.Error("Connect without a pair succeeded")
		}
		if err := m.Connect(ctx, "", s.auth.issue("g1")); err == nil {
			t.Error("Connect without a grant id succeeded")
		}
	})
}

func TestManager_Close(t *testing.T) {
	s := newSetup(t, newRedisStore(t))
	m := credentials.NewManager(s.store, s.auth, credentials.ManagerConfig{Now: s.clock.Now}, nil)
	s.connect(t, m, "g1")
	if err := m.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AccessToken(t.Context(), "g1"); err != nil {
		t.Errorf("AccessToken(fresh) after Close: %v", err)
	}
	s.clock.Advance(lifetime)
	if _, err := m.AccessToken(t.Context(), "g1"); !errors.Is(err, credentials.ErrClosed) {
		t.Errorf("AccessToken(stale) after Close err = %v, want ErrClosed", err)
	}
}

// TestManager_ReconnectDuringRefresh: a reconnect stores a new pair while a
// refresh is at Smartcar; the refresh loses its compare-and-set and must not
// overwrite the reconnect's pair.
func TestManager_ReconnectDuringRefresh(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		ctx := testCtx(t)
		m := s.manager(t, credentials.ManagerConfig{})
		tok, reconnect, err := refreshRacingReconnect(t, s, m)
		if err != nil || tok != s.auth.current("g1").AccessToken {
			t.Fatalf("AccessToken = %q, %v; want the token Smartcar just issued", tok, err)
		}
		g, err := s.store.GetGrant(ctx, "g1")
		if err != nil || g.Access.RefreshToken != reconnect.RefreshToken {
			t.Errorf("stored grant (%v) is not the reconnect's pair", err)
		}
		if got, err := m.AccessToken(ctx, "g1"); err != nil || got != reconnect.AccessToken {
			t.Errorf("next AccessToken = %q, %v; want the reconnect's token", got, err)
		}
	})
}

// refreshRacingReconnect connects g1, lets its token expire and
// calls AccessToken; while that refresh is at Smartcar, a reconnect stores a
// new pair. It returns what AccessToken returned and the reconnect's pair.
func refreshRacingReconnect(t *testing.T, s *setup, m *credentials.Manager) (string, *smartcar.Access, error) {
	t.Helper()
	ctx := testCtx(t)
	s.connect(t, m, "g1")
	s.clock.Advance(lifetime)
	gate := make(chan struct{})
	s.auth.mu.Lock()
	s.auth.gate = gate
	s.auth.mu.Unlock()

	done := make(chan error, 1)
	var tok string
	go func() {
		var err error
		tok, err = m.AccessToken(ctx, "g1")
		done <- err
	}()
	waitFor(t, "the call to Smartcar", func() bool { _, _, calls := s.auth.counts(); return calls == 1 })
	reconnect := s.auth.issue("g1")
	if err := m.Connect(ctx, "g1", reconnect); err != nil {
		t.Fatal(err)
	}
	close(gate)
	err := <-done
	return tok, reconnect, err
}

// countingStore counts the grant reads of a real Store.
type countingStore struct {
	credentials.Store
	gets atomic.Int32 // GetGrant
}

func (s *countingStore) GetGrant(ctx context.Context, id string) (credentials.Grant, error) {
	s.gets.Add(1)
	return s.Store.GetGrant(ctx, id)
}

// TestManager_AccessTokenCache: a valid access token is served from memory;
// a refresh by another process, a rejected token and a revoked grant all go
// back to the store, and none causes an extra refresh.
func TestManager_AccessTokenCache(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		ctx := testCtx(t)
		counted := &countingStore{Store: s.store}
		s.store = counted
		m1 := s.manager(t, credentials.ManagerConfig{})
		m2 := s.manager(t, credentials.ManagerConfig{})
		s.connect(t, m1, "g1")
		first, err := m1.AccessToken(ctx, "g1")
		if err != nil {
			t.Fatal(err)
		}
		reads := counted.gets.Load()
		for i := range 20 {
			tok, err := m1.AccessToken(ctx, "g1")
			if err != nil || tok != first {
				t.Fatalf("AccessToken #%d = %q, %v; want the cached %q", i, tok, err, first)
			}
		}
		if got := counted.gets.Load(); got != reads {
			t.Fatalf("20 AccessToken calls read the grant %d times; want 0 (cached)", got-reads)
		}

		// Due for a refresh: m2 refreshes, m1 reads the store and finds it.
		s.clock.Advance(lifetime - time.Second)
		fresh, err := m2.AccessToken(ctx, "g1")
		if err != nil || fresh == first {
			t.Fatalf("m2 AccessToken after expiry = %q, %v; want a refreshed token", fresh, err)
		}
		if tok, err := m1.AccessToken(ctx, "g1"); err != nil || tok != fresh {
			t.Fatalf("m1 AccessToken = %q, %v; want m2's refreshed %q", tok, err, fresh)
		}
		if refreshes, reuses, _ := s.auth.counts(); refreshes != 1 || reuses != 0 {
			t.Fatalf("refreshes = %d, reuses = %d; want 1 and 0", refreshes, reuses)
		}

		// Smartcar rejects the cached token: ForceRefresh goes to the store.
		before := counted.gets.Load()
		forced, err := m1.ForceRefresh(ctx, "g1", fresh)
		if err != nil || forced == fresh {
			t.Fatalf("ForceRefresh = %q, %v; want a new token", forced, err)
		}
		if counted.gets.Load() == before {
			t.Fatal("ForceRefresh did not read the grant")
		}
		if tok, _ := m1.AccessToken(ctx, "g1"); tok != forced {
			t.Fatalf("AccessToken after ForceRefresh = %q; want %q", tok, forced)
		}

		// The user revokes access: the cached token is rejected, the refresh
		// fails with invalid_grant, and nothing is served from memory after.
		s.auth.revoke("g1")
		if _, err := m1.ForceRefresh(ctx, "g1", forced); !errors.Is(err, credentials.ErrReauthRequired) {
			t.Fatalf("ForceRefresh of a revoked grant err = %v; want ErrReauthRequired", err)
		}
		if _, err := m1.AccessToken(ctx, "g1"); !errors.Is(err, credentials.ErrReauthRequired) {
			t.Fatalf("AccessToken after invalid_grant err = %v; want ErrReauthRequired", err)
		}
	})
}
