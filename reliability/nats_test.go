package reliability

import (
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestFaults_NATSRestart kills nats-server (JetStream file storage) with
// SIGKILL and starts it again on the same port and store while two replicas
// poll, leaving it down for two seconds: publishers and consumers reconnect, and the events stream has every
// (vehicle, tick, path) of the ticks that were enqueued exactly once.
func TestFaults_NATSRestart(t *testing.T) {
	t.Parallel()
	forEachWire(t, testNATSRestart)
}

func testNATSRestart(t *testing.T, api string) {
	vehicles, restarts, after := 4, 1, 3
	if full() {
		vehicles, restarts, after = 12, 5, 10
	}
	sim := newSim(t, smartcartest.WithSeed(23), smartcartest.WithUsers(2), smartcartest.WithVehicles(vehicles),
		smartcartest.WithoutLimits(), smartcartest.WithLatency(200*time.Millisecond), smartcartest.WithTimeScale(60))
	s := newSetup(t, sim, options{API: api})
	s.connect()
	a, b := s.start("a", ""), s.start("b", "")
	s.waitTwoTicks(t, a, b)

	for i := range restarts {
		restartAt := time.Now()
		s.nats.restart(t, 2*time.Second)
		s.waitTicks(t, 90*time.Second, "ticks after the NATS restart", func(tl tally) bool {
			return tl.ticksBetween(restartAt, restartAt.Add(time.Hour)) >= after
		}, a, b)
		t.Logf("restart %d done", i+1)
	}
	a.term(t, s.opts.ShutdownGrace+20*time.Second)
	b.term(t, s.opts.ShutdownGrace+20*time.Second)
	stale := s.drain(t, 90*time.Second)

	tl := s.final(t)
	tl.check(t)
	s.figures(t, "nats-restart", tl, "restarts="+itoa(restarts)+" skipped_ticks="+itoa(tl.skipped(time.Second))+" stale_jobs="+itoa(int(stale))+firings(a, b))
}
