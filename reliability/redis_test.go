package reliability

import (
	"context"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestFaults_RedisRestart kills Redis (AOF on) with SIGKILL and starts it
// again two seconds later on the same port and data while a replica polls with access tokens
// that expire every three seconds: the grants survive, the replica resumes
// without a restart, refreshes go on from the stored pairs, and no
// (vehicle, tick, path) is lost.
func TestFaults_RedisRestart(t *testing.T) {
	t.Parallel()
	vehicles, restarts, after := 4, 1, 3
	if full() {
		vehicles, restarts, after = 12, 5, 10
	}
	sim := smartcartest.NewServer(smartcartest.WithSeed(22), smartcartest.WithUsers(2), smartcartest.WithVehicles(vehicles),
		smartcartest.WithoutLimits(), smartcartest.WithAccessTokenLifetime(3*time.Second), smartcartest.WithTimeScale(60))
	defer sim.Close()
	s := newSetup(t, sim, options{})
	s.connect()
	r := s.start("a", "")
	s.waitTwoTicks(t, r)

	for i := range restarts {
		before := sim.Stats().Refreshes
		restartAt := time.Now()
		s.redis.Kill()
		time.Sleep(2 * time.Second) // the length of the outage, not a synchronisation
		s.redis.Restart(t)
		// The daemon was not restarted: it polls new ticks and refreshes again.
		s.waitTicks(t, 90*time.Second, "ticks after the Redis restart", func(tl tally) bool {
			return tl.ticksBetween(restartAt, restartAt.Add(time.Hour)) >= after && sim.Stats().Refreshes > before
		}, r)
		t.Logf("restart %d at %s: refreshes %d -> %d", i+1, restartAt.UTC().Format("15:04:05.000"), before, sim.Stats().Refreshes)
	}
	r.term(t, s.opts.ShutdownGrace+20*time.Second)
	s.drain(t, 90*time.Second)

	tl := s.final(t)
	tl.check(t)
	if len(tl.NeedsReauth) > 0 {
		t.Errorf("vehicles marked needs_reauth: %v", tl.NeedsReauth)
	}
	st := sim.Stats()
	if st.SpentRefreshReuse != 0 || st.InvalidTokenUses != 0 {
		t.Errorf("spent refresh tokens sent %d, invalid access tokens used %d; want 0", st.SpentRefreshReuse, st.InvalidTokenUses)
	}
	// Every grant is still in Redis after the restarts.
	rdb := s.redis.Client(t)
	keys, err := rdb.Keys(context.Background(), s.prefix+":grant:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(keys), len(sim.Users()); got != want {
		t.Errorf("%d grants in Redis after the restarts (%v), want %d", got, keys, want)
	}
	s.figures(t, "redis-restart", tl, "restarts="+itoa(restarts)+" skipped_ticks="+itoa(tl.skipped(time.Second))+firings(r))
}
