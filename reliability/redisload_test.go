package reliability

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestFaults_RedisSlowLoad restarts Redis (AOF on) so that it replays its
// AOF for about 3 s, slowed by key-load-delay, across a tick of an
// "@every 5s" schedule: while Redis answers LOADING the tick's vehicle list
// fails (EXECABORT), and the scheduler retries it until Redis has loaded,
// well before the next tick. No tick is skipped, no firing is abandoned,
// and nothing is lost or doubled.
func TestFaults_RedisSlowLoad(t *testing.T) {
	t.Parallel()
	forEachWire(t, testRedisSlowLoad)
}

func testRedisSlowLoad(t *testing.T, api string) {
	const period = 5 * time.Second
	restarts := 1
	if full() {
		restarts = 4
	}
	sim := newSim(t, smartcartest.WithSeed(24), smartcartest.WithUsers(2), smartcartest.WithVehicles(4),
		smartcartest.WithoutLimits(), smartcartest.WithTimeScale(60))
	s := newSetup(t, sim, options{API: api, Cron: "@every 5s", RedisArgs: []string{"--appendonly", "yes",
		"--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024"}})
	s.connect()
	r := s.start("a", "")
	s.waitTwoTicks(t, r)

	// 3,000 keys at 1 ms each: about 3 s of loading, once a rewrite has
	// put them in the AOF's RDB base.
	ctx := t.Context()
	rdb := s.redis.Client(t)
	pipe := rdb.Pipeline()
	for i := range 3000 {
		pipe.Set(ctx, fmt.Sprintf("filler:%d", i), i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}

	for i := range restarts {
		if err := rdb.BgRewriteAOF(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		waitRewrite(t, ctx, s)
		// Restart 1 s before a tick: the tick comes while Redis loads.
		tick := time.Now().Truncate(period).Add(2 * period)
		time.Sleep(time.Until(tick.Add(-time.Second)))
		s.redis.Kill()
		s.redis.Restart(t) // returns once Redis has loaded
		loaded := time.Now()
		if loaded.Before(tick.Add(500 * time.Millisecond)) {
			t.Fatalf("Redis loaded %s before the tick at %s: too fast to test the retry; raise key-load-delay",
				tick.Sub(loaded), tick.Format("15:04:05"))
		}
		s.waitTicks(t, 90*time.Second, "ticks after the slow load", func(tl tally) bool {
			return tl.ticksBetween(tick.Add(-time.Millisecond), tick.Add(time.Hour)) >= 2
		}, r)
		t.Logf("restart %d: tick %s, Redis loaded %s after it", i+1, tick.Format("15:04:05"), loaded.Sub(tick).Round(10*time.Millisecond))
	}
	r.term(t, s.opts.ShutdownGrace+20*time.Second)
	s.drain(t, 90*time.Second)

	tl := s.final(t)
	tl.check(t)
	if n := tl.skipped(period); n != 0 {
		t.Errorf("%d ticks skipped, want every tick polled once Redis had loaded", n)
	}
	retried, abandoned := r.logged("firing failed; retrying"), r.logged("firing abandoned")
	if retried < restarts || abandoned != 0 {
		t.Errorf("%d firings retried, %d abandoned; want at least %d retried (one per restart) and none abandoned",
			retried, abandoned, restarts)
	}
	if !strings.Contains(r.logs.String(), "EXECABORT") && !strings.Contains(r.logs.String(), "LOADING") {
		t.Errorf("no LOADING or EXECABORT in the replica's logs: the list never met Redis loading")
	}
	s.figures(t, "redis-slow-load", tl, "restarts="+itoa(restarts)+" skipped_ticks="+itoa(tl.skipped(period))+firings(r))
}

// waitRewrite waits until Redis has finished an AOF rewrite.
func waitRewrite(t *testing.T, ctx context.Context, s *setup) {
	t.Helper()
	rdb := s.redis.Client(t)
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, err := rdb.Info(ctx, "persistence").Result()
		if err == nil && strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("AOF rewrite not done after 30s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
