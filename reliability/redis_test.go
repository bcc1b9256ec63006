package reliability

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestFaults_RedisRestart kills Redis (AOF on) with SIGKILL and starts it
// again two seconds later on the same port and data while a replica polls:
// the replica resumes without a restart and no (vehicle, tick, path) is
// lost. On API v2, with access tokens that expire every three seconds, the
// grants survive and refreshes go on from the stored pairs (it runs on v2 in
// the normal run too, for them); on v3 the vehicles keep their user ids and
// no token pair is stored at all.
func TestFaults_RedisRestart(t *testing.T) {
	t.Parallel()
	forEachWire(t, testRedisRestart, config.APIV3, config.APIV2)
}

func testRedisRestart(t *testing.T, api string) {
	vehicles, restarts, after := 4, 1, 3
	if full() {
		vehicles, restarts, after = 12, 5, 10
	}
	sim := newSim(t, smartcartest.WithSeed(22), smartcartest.WithUsers(2), smartcartest.WithVehicles(vehicles),
		smartcartest.WithoutLimits(), smartcartest.WithAccessTokenLifetime(3*time.Second), smartcartest.WithTimeScale(60))
	s := newSetup(t, sim, options{API: api})
	v2 := api == config.APIV2
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
			return tl.ticksBetween(restartAt, restartAt.Add(time.Hour)) >= after && (!v2 || sim.Stats().Refreshes > before)
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
	// Every grant (v2) is still in Redis after the restarts; on v3 there
	// is none, and every vehicle kept its user id.
	rdb := s.redis.Client(t)
	keys, err := rdb.Keys(context.Background(), s.prefix+":grant:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := len(sim.Users())
	if !v2 {
		want = 0
		regs, err := rdb.HGetAll(context.Background(), s.prefix+":vehicles").Result()
		if err != nil {
			t.Fatal(err)
		}
		for id, reg := range regs {
			if !strings.Contains(reg, `"user_id":"`) {
				t.Errorf("vehicle %s lost its user id: %s", id, reg)
			}
		}
		if len(regs) != len(s.Vehicles) {
			t.Errorf("%d vehicles registered after the restarts, want %d", len(regs), len(s.Vehicles))
		}
	}
	if got := len(keys); got != want {
		t.Errorf("%d grants in Redis after the restarts (%v), want %d", got, keys, want)
	}
	s.figures(t, "redis-restart", tl, "restarts="+itoa(restarts)+" skipped_ticks="+itoa(tl.skipped(time.Second))+firings(r))
}
