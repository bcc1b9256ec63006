package reliability

import (
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestFaults_KillReplica kills one of two replicas with SIGKILL while both
// have jobs in flight (every Smartcar call takes a second): the jobs it held
// come back after workers.ack_wait, the other replica completes them, and the
// events stream has exactly one event per (vehicle, tick, path).
func TestFaults_KillReplica(t *testing.T) {
	t.Parallel()
	forEachWire(t, testKillReplica)
}

func testKillReplica(t *testing.T, api string) {
	vehicles, after := 6, 3
	if full() {
		vehicles, after = 16, 30
	}
	sim := newSim(t, smartcartest.WithSeed(21), smartcartest.WithUsers(2), smartcartest.WithVehicles(vehicles),
		smartcartest.WithoutLimits(), smartcartest.WithLatency(time.Second), smartcartest.WithTimeScale(60))
	s := newSetup(t, sim, options{API: api, Concurrency: vehicles + 2, AckWait: 5 * time.Second})
	s.connect()

	a, b := s.start("a", ""), s.start("b", "")
	s.waitTwoTicks(t, a, b)
	killAt := time.Now()
	a.kill()
	s.waitTicks(t, 60*time.Second, "ticks polled by the surviving replica", func(tl tally) bool {
		return tl.ticksBetween(killAt, killAt.Add(time.Hour)) >= after
	}, b)
	b.term(t, s.opts.ShutdownGrace+20*time.Second)
	s.drain(t, 60*time.Second)

	tl := s.final(t)
	tl.check(t)
	// A job the killed replica held cannot finish before its ack wait runs
	// out: events of ticks before the kill fetched that late were redelivered.
	redelivered := 0
	for _, ev := range mustEvents(t, s) {
		if !ev.Tick.IsZero() && ev.Tick.Before(killAt) && ev.FetchedAt.After(killAt.Add(s.opts.AckWait-time.Second)) {
			redelivered++
		}
	}
	if redelivered == 0 {
		t.Errorf("no event of a tick before the kill was fetched after the ack wait: the killed replica held no job")
	}
	s.figures(t, "kill-replica", tl, "redelivered_events="+itoa(redelivered))
}
