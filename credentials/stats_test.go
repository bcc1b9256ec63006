package credentials_test

import (
	"context"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// downAuth is a token endpoint answering 500 to every call.
type downAuth struct{ calls int }

func (d *downAuth) ExchangeRefreshToken(ctx context.Context, rt string) (*smartcar.Access, error) {
	d.calls++
	return nil, &smartcar.Error{Type: smartcar.TypeServer, Code: "INTERNAL", StatusCode: 500}
}

// TestManager_Stats: each refresh that calls Smartcar is counted under
// exactly one outcome, and one that finds a fresh token is not counted.
func TestManager_Stats(t *testing.T) {
	for _, tt := range []struct {
		name string
		// arrange prepares the setup after connect and returns the manager to use.
		arrange func(t *testing.T, s *setup) *credentials.Manager
		want    credentials.RefreshStats
	}{
		{"ok", func(t *testing.T, s *setup) *credentials.Manager {
			return s.manager(t, credentials.ManagerConfig{})
		}, credentials.RefreshStats{OK: 1}},
		{"recovered", func(t *testing.T, s *setup) *credentials.Manager {
			s.auth.mu.Lock()
			s.auth.grace, s.auth.loseNext = true, 1
			s.auth.mu.Unlock()
			return s.manager(t, credentials.ManagerConfig{})
		}, credentials.RefreshStats{Recovered: 1}},
		{"invalid_grant", func(t *testing.T, s *setup) *credentials.Manager {
			s.auth.revoke("g1")
			return s.manager(t, credentials.ManagerConfig{})
		}, credentials.RefreshStats{InvalidGrant: 1}},
		{"failed", func(t *testing.T, s *setup) *credentials.Manager {
			m := credentials.NewManager(s.store, &downAuth{}, credentials.ManagerConfig{Now: s.clock.Now}, nil)
			closeManager(t, m)
			return m
		}, credentials.RefreshStats{Failed: 1}},
		{"store_failed", func(t *testing.T, s *setup) *credentials.Manager {
			flaky := &flakyStore{Store: s.store}
			flaky.failBefore.Store(1 << 20)
			s.store = flaky
			return s.manager(t, credentials.ManagerConfig{PersistTimeout: 200 * time.Millisecond})
		}, credentials.RefreshStats{StoreFailed: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, s *setup) {
				ctx := testCtx(t)
				s.connect(t, s.manager(t, credentials.ManagerConfig{}), "g1")
				m := tt.arrange(t, s)
				if _, err := m.AccessToken(ctx, "g1"); err != nil && tt.want.OK+tt.want.Recovered > 0 {
					t.Fatalf("AccessToken: %v", err)
				}
				if got := m.Stats(); got != (credentials.RefreshStats{}) {
					t.Fatalf("Stats with a fresh token = %+v, want zero", got)
				}
				s.clock.Advance(lifetime)
				_, err := m.AccessToken(ctx, "g1")
				if (err == nil) != (tt.want.OK+tt.want.Recovered > 0) {
					t.Errorf("AccessToken: %v", err)
				}
				if got := m.Stats(); got != tt.want {
					t.Errorf("Stats = %+v, want %+v", got, tt.want)
				}
			})
		})
	}
}

// TestManager_Stats_superseded: a refresh whose write loses to a reconnect
// is OK (its token works) and counted as superseded.
func TestManager_Stats_superseded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		m := s.manager(t, credentials.ManagerConfig{})
		if _, _, err := refreshRacingReconnect(t, s, m); err != nil {
			t.Fatalf("AccessToken: %v", err)
		}
		if got, want := m.Stats(), (credentials.RefreshStats{OK: 1, Superseded: 1}); got != want {
			t.Errorf("Stats = %+v, want %+v", got, want)
		}
	})
}
