package credentials_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/rediscredentials"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

// outageStore kills its Redis server just before the first UpdateGrant, so
// the write of a refreshed pair meets a real outage.
type outageStore struct {
	credentials.Store
	once   sync.Once
	kill   func()
	killed chan struct{}
}

func (s *outageStore) UpdateGrant(ctx context.Context, g credentials.Grant, v int64) (credentials.Grant, error) {
	s.once.Do(func() {
		s.kill()
		close(s.killed)
	})
	return s.Store.UpdateGrant(ctx, g, v)
}

// TestManager_RedisRestart: Redis (AOF on) dies between Smartcar's reply and
// the store write; the Manager keeps retrying, the pair is stored once Redis
// is back, and the same Manager goes on working.
func TestManager_RedisRestart(t *testing.T) {
	rs := testserver.StartRedis(t, "--appendonly", "yes", "--appendfsync", "always")
	rdb := rs.Client(t)
	outage := &outageStore{Store: rediscredentials.New(rdb, "", nil), kill: rs.Kill, killed: make(chan struct{})}
	s := newSetup(t, outage)
	m := s.manager(t, credentials.ManagerConfig{})
	s.connect(t, m, "g1")
	s.clock.Advance(lifetime)

	type result struct {
		tok string
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := m.AccessToken(testCtx(t), "g1")
		done <- result{tok, err}
	}()
	<-outage.killed
	// Stay down until the write has failed past go-redis's own retries.
	waitFor(t, "a failed write of the new pair", func() bool {
		return strings.Contains(s.logs.String(), "store refreshed pair, retrying")
	})
	rs.Restart(t)
	r := <-done
	want := s.auth.current("g1")
	if r.err != nil || r.tok != want.AccessToken {
		t.Fatalf("AccessToken across the restart = %q, %v; want the refreshed token", r.tok, r.err)
	}
	g, err := outage.GetGrant(t.Context(), "g1")
	if err != nil || g.Access.RefreshToken != want.RefreshToken {
		t.Fatalf("stored grant after restart (%v) does not hold the live refresh token", err)
	}
	s.clock.Advance(lifetime)
	if tok, err := m.AccessToken(t.Context(), "g1"); err != nil || tok != s.auth.current("g1").AccessToken {
		t.Errorf("next refresh after restart = %q, %v", tok, err)
	}
	if refreshes, reuses, _ := s.auth.counts(); refreshes != 2 || reuses != 0 {
		t.Errorf("refreshes = %d, reuses = %d; want 2 and 0", refreshes, reuses)
	}
	s.noSecrets(t, "logs", s.logs.String())
}
