package credentials_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/credentials"
)

const lifetime = time.Hour

// setup is one Manager test's world: a real store, the fake Smartcar token
// endpoint and a clock.
type setup struct {
	store  credentials.Store
	auth   *fakeAuth
	clock  *clock
	logs   *syncBuffer
	reauth reauthCalls
}

// reauthCalls records the Manager's OnReauth calls.
type reauthCalls struct {
	mu    sync.Mutex
	calls []string // "grant: reason"
}

func (r *reauthCalls) record(_ context.Context, grantID, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, grantID+": "+reason)
	return nil
}

func (r *reauthCalls) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func newSetup(t *testing.T, s credentials.Store) *setup {
	c := newClock()
	return &setup{store: s, auth: newFakeAuth(c, lifetime), clock: c, logs: &syncBuffer{}}
}

func (s *setup) manager(t *testing.T, cfg credentials.ManagerConfig) *credentials.Manager {
	cfg.Now = s.clock.Now
	if cfg.OnReauth == nil {
		cfg.OnReauth = s.reauth.record
	}
	m := credentials.NewManager(s.store, s.auth, cfg, testLogger(s.logs))
	closeManager(t, m)
	return m
}

// connect stores a new pair for grant, as a Connect does.
func (s *setup) connect(t *testing.T, m *credentials.Manager, grant string) {
	t.Helper()
	if err := m.Connect(t.Context(), grant, s.auth.issue(grant)); err != nil {
		t.Fatalf("Connect(%s): %v", grant, err)
	}
}

// noSecrets fails t if text holds any token the fake ever issued.
func (s *setup) noSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, tok := range s.auth.allTokens() {
		if strings.Contains(text, tok) {
			t.Errorf("%s contains a token: %q", what, text)
			return
		}
	}
}

func forEachBackend(t *testing.T, run func(t *testing.T, s *setup)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { run(t, newSetup(t, b.newStore(t))) })
	}
}

// TestManager_SingleRefresh: 50 goroutines needing a token at the same
// instant cause exactly one refresh, and all get the stored new token.
func TestManager_SingleRefresh(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		ctx := testCtx(t)
		m := s.manager(t, credentials.ManagerConfig{})
		s.connect(t, m, "g1")
		first := s.auth.current("g1").AccessToken
		if tok, err := m.AccessToken(ctx, "g1"); err != nil || tok != first {
			t.Fatalf("AccessToken(fresh) = %q, %v; want the connected token", tok, err)
		}
		s.clock.Advance(lifetime - time.Minute) // inside RefreshBefore

		const n = 50
		var wg sync.WaitGroup
		got := make([]string, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				got[i], errs[i] = m.AccessToken(ctx, "g1")
			})
		}
		close(start)
		wg.Wait()

		refreshes, reuses, _ := s.auth.counts()
		if refreshes != 1 || reuses != 0 {
			t.Fatalf("refreshes = %d, reuses = %d; want 1 and 0", refreshes, reuses)
		}
		want := s.auth.current("g1")
		for i := range n {
			if errs[i] != nil || got[i] != want.AccessToken {
				t.Fatalf("goroutine %d: AccessToken = %q, %v; want the refreshed token", i, got[i], errs[i])
			}
		}
		g, err := s.store.GetGrant(ctx, "g1")
		if err != nil || g.Version != 2 || g.Access.RefreshToken != want.RefreshToken {
			t.Errorf("stored grant v%d (err %v): want v2 holding the new refresh token", g.Version, err)
		}
		s.noSecrets(t, "logs", s.logs.String())
	})
}

// TestManager_TwoProcesses: two Managers sharing one store (two replicas)
// refresh once per expiry over 200 forced expiries, never reusing a token.
func TestManager_TwoProcesses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		ctx := testCtx(t)
		m1 := s.manager(t, credentials.ManagerConfig{})
		m2 := s.manager(t, credentials.ManagerConfig{})
		s.connect(t, m1, "g1")
		const rounds, perManager = 200, 3
		for round := 1; round <= rounds; round++ {
			s.clock.Advance(lifetime) // expired
			var wg sync.WaitGroup
			got := make([]string, 2*perManager)
			errs := make([]error, 2*perManager)
			start := make(chan struct{})
			for i := range got {
				m := []*credentials.Manager{m1, m2}[i%2]
				wg.Go(func() {
					<-start
					got[i], errs[i] = m.AccessToken(ctx, "g1")
				})
			}
			close(start)
			wg.Wait()
			want := s.auth.current("g1").AccessToken
			for i := range got {
				if errs[i] != nil || got[i] != want {
					t.Fatalf("round %d, caller %d: AccessToken = %q, %v; want %q", round, i, got[i], errs[i], want)
				}
			}
			if refreshes, reuses, _ := s.auth.counts(); refreshes != round || reuses != 0 {
				t.Fatalf("round %d: refreshes = %d, reuses = %d; want %d and 0", round, refreshes, reuses, round)
			}
		}
	})
}

// TestManager_InvalidGrant: a rejected refresh token marks the grant
// needs_reauth and tells OnReauth once; nobody sends the dead token again;
// other grants go on; nothing leaks a token; a new Connect brings it back.
func TestManager_InvalidGrant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		ctx := testCtx(t)
		m := s.manager(t, credentials.ManagerConfig{})
		s.connect(t, m, "g1")
		s.connect(t, m, "g2")
		s.auth.revoke("g1")
		s.clock.Advance(lifetime)

		_, err := m.AccessToken(ctx, "g1")
		if !errors.Is(err, credentials.ErrReauthRequired) {
			t.Fatalf("AccessToken(revoked grant) err = %v, want ErrReauthRequired", err)
		}
		s.noSecrets(t, "error", err.Error())
		if g, err := s.store.GetGrant(ctx, "g1"); err != nil || !g.NeedsReauth {
			t.Errorf("stored grant g1 NeedsReauth = %v (%v), want true", g.NeedsReauth, err)
		}
		if diff := cmp.Diff([]string{"g1: " + credentials.ReauthReason}, s.reauth.get()); diff != "" {
			t.Errorf("OnReauth calls (-want +got):\n%s", diff)
		}
		_, _, calls := s.auth.counts()
		// Neither a second caller nor a forced refresh sends the dead token again.
		if _, err := m.AccessToken(ctx, "g1"); !errors.Is(err, credentials.ErrReauthRequired) {
			t.Errorf("AccessToken(g1 again) err = %v, want ErrReauthRequired", err)
		}
		if _, err := m.ForceRefresh(ctx, "g1", "x"); !errors.Is(err, credentials.ErrReauthRequired) {
			t.Errorf("ForceRefresh(g1) err = %v, want ErrReauthRequired", err)
		}
		if _, _, after := s.auth.counts(); after != calls {
			t.Errorf("Smartcar called %d more times after invalid_grant, want 0", after-calls)
		}
		if n := len(s.reauth.get()); n != 1 {
			t.Errorf("OnReauth called %d times, want once", n)
		}
		if tok, err := m.AccessToken(ctx, "g2"); err != nil || tok != s.auth.current("g2").AccessToken {
			t.Errorf("AccessToken(other grant) = %q, %v; want its refreshed token", tok, err)
		}
		s.noSecrets(t, "logs", s.logs.String())

		// A new Connect brings the grant back.
		s.connect(t, m, "g1")
		if tok, err := m.AccessToken(ctx, "g1"); err != nil || tok != s.auth.current("g1").AccessToken {
			t.Errorf("AccessToken after reconnect = %q, %v", tok, err)
		}
	})
}

// TestManager_StoreWriteFailure: a failed write of the new pair is retried,
// both when nothing was written and when the write landed but its reply was lost.
func TestManager_StoreWriteFailure(t *testing.T) {
	for _, tt := range []struct {
		name                  string
		failBefore, failAfter int32
		wantUpdates           int32
	}{
		{"write_failed", 2, 0, 3},
		{"reply_lost", 0, 1, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, s *setup) {
				ctx := testCtx(t)
				flaky := &flakyStore{Store: s.store}
				s.store = flaky
				m := s.manager(t, credentials.ManagerConfig{})
				s.connect(t, m, "g1")
				s.clock.Advance(lifetime)
				flaky.failBefore.Store(tt.failBefore)
				flaky.failAfter.Store(tt.failAfter)

				tok, err := m.AccessToken(ctx, "g1")
				want := s.auth.current("g1")
				if err != nil || tok != want.AccessToken {
					t.Fatalf("AccessToken = %q, %v; want the refreshed token", tok, err)
				}
				if n := flaky.updates.Load(); n != tt.wantUpdates {
					t.Errorf("UpdateGrant calls = %d, want %d", n, tt.wantUpdates)
				}
				g, err := s.store.GetGrant(ctx, "g1")
				if err != nil || g.Access.RefreshToken != want.RefreshToken || g.Version != 2 {
					t.Errorf("stored grant v%d (%v) does not hold the new refresh token", g.Version, err)
				}
				if refreshes, reuses, _ := s.auth.counts(); refreshes != 1 || reuses != 0 {
					t.Errorf("refreshes = %d, reuses = %d; want 1 and 0", refreshes, reuses)
				}
				s.noSecrets(t, "logs", s.logs.String())
			})
		})
	}
}
