package tokens_test

import (
	"errors"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// TestManager_VehicleToken: VehicleToken applies AccessToken's status checks
// to the vehicle it is given, uses that vehicle's grant, refreshes a stale
// pair, and never reads the vehicle from the store.
func TestManager_VehicleToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *setup) {
		ctx := testCtx(t)
		reads := &countingStore{Store: s.store}
		s.store = reads
		m := s.manager(t, tokens.ManagerConfig{})
		s.connect(t, m, "g1", "v1")
		s.connect(t, m, "g2", "v2")
		v1, err := s.store.GetVehicle(ctx, "v1")
		if err != nil {
			t.Fatal(err)
		}
		reads.vehicles.Store(0)

		if tok, err := m.VehicleToken(ctx, v1); err != nil || tok != s.auth.current("g1").AccessToken {
			t.Errorf("VehicleToken(v1) = %q, %v; want g1's token", tok, err)
		}
		// The vehicle as given decides the grant: no read behind the caller's back.
		moved := v1
		moved.GrantID = "g2"
		if tok, err := m.VehicleToken(ctx, moved); err != nil || tok != s.auth.current("g2").AccessToken {
			t.Errorf("VehicleToken(v1 on g2) = %q, %v; want g2's token", tok, err)
		}
		for _, tt := range []struct {
			status tokens.Status
			want   error
		}{
			{tokens.StatusConnected, nil},
			{tokens.StatusRateLimited, nil},
			{tokens.StatusNeedsReauth, tokens.ErrReauthRequired},
			{tokens.StatusDisabled, tokens.ErrInactive},
			{tokens.StatusDisconnected, tokens.ErrInactive},
		} {
			v := v1
			v.Status = tt.status
			if _, err := m.VehicleToken(ctx, v); !errors.Is(err, tt.want) {
				t.Errorf("VehicleToken(%s) err = %v, want %v", tt.status, err, tt.want)
			}
		}
		orphan := tokens.Vehicle{ID: "orphan", GrantID: "nobody", Status: tokens.StatusConnected}
		if _, err := m.VehicleToken(ctx, orphan); !errors.Is(err, tokens.ErrNotFound) {
			t.Errorf("VehicleToken(vehicle without grant) err = %v, want ErrNotFound", err)
		}
		if n := reads.vehicles.Load(); n != 0 {
			t.Errorf("VehicleToken read the vehicle %d times, want 0", n)
		}
		if _, _, calls := s.auth.counts(); calls != 0 {
			t.Errorf("Smartcar called %d times before any token was stale, want 0", calls)
		}

		// A stale pair is refreshed once, as by AccessToken.
		s.clock.Advance(lifetime)
		tok, err := m.VehicleToken(ctx, v1)
		refreshes, reuses, _ := s.auth.counts()
		if err != nil || tok != s.auth.current("g1").AccessToken || refreshes != 1 || reuses != 0 {
			t.Errorf("VehicleToken(stale) = %q, %v after %d refreshes, %d reuses; want g1's new token after 1 refresh",
				tok, err, refreshes, reuses)
		}
		// AccessToken reads the vehicle, then does the same.
		if got, err := m.AccessToken(ctx, "v1"); err != nil || got != tok || reads.vehicles.Load() != 1 {
			t.Errorf("AccessToken(v1) = %q, %v with %d vehicle reads; want %q with 1", got, err, reads.vehicles.Load(), tok)
		}
		s.noSecrets(t, "logs", s.logs.String())
	})
}
