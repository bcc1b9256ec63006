package reliability

import (
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestFaults_SIGTERMUnderLoad stops a busy replica with SIGTERM. Some
// vehicles answer in 300 ms, two in 6 s, longer than workers.shutdown_grace
// (2 s): the replica must exit within the grace (plus the time to drain NATS),
// the quick jobs finished and the slow ones handed back. ack_wait is a
// minute, so a job that was not handed back would stay invisible for that
// long: the fresh replica that follows must drain the queue well before, and
// every tick must then be complete.
func TestFaults_SIGTERMUnderLoad(t *testing.T) {
	t.Parallel()
	forEachWire(t, testSIGTERMUnderLoad)
}

func testSIGTERMUnderLoad(t *testing.T, api string) {
	vehicles, ticks := 6, 3
	if full() {
		vehicles, ticks = 20, 20
	}
	sim := newSim(t, smartcartest.WithSeed(27), smartcartest.WithUsers(2), smartcartest.WithVehicles(vehicles),
		smartcartest.WithoutLimits(), smartcartest.WithLatency(300*time.Millisecond), smartcartest.WithTimeScale(60))
	grace, ackWait := 2*time.Second, time.Minute
	s := newSetup(t, sim, options{API: api, Concurrency: 2 * vehicles, ShutdownGrace: grace, AckWait: ackWait})
	s.connect()
	slow := s.Vehicles[:2]
	for _, id := range slow {
		sim.SetFault(id, s.callPath(), smartcartest.Fault{Latency: 6 * time.Second})
	}
	r := s.start("a", "")
	s.waitTicks(t, 60*time.Second, "ticks under load", func(tl tally) bool {
		return len(tl.Ticks) >= ticks
	}, r)
	termAt := time.Now()
	took := r.term(t, grace+10*time.Second)
	atExit := s.final(t)
	d, err := s.queueDepth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SIGTERM: exited after %s; queue at exit: %d jobs, %d delivered and not acked", took.Round(time.Millisecond), d.msgs, d.ackPending)

	for _, id := range slow {
		sim.ClearFault(id, s.callPath())
	}
	drainStart := time.Now()
	s.drain(t, ackWait-15*time.Second) // a job not handed back would need the whole ack wait
	drained := time.Since(drainStart)

	tl := s.final(t)
	tl.check(t)
	// The slow vehicles' jobs in flight at SIGTERM were handed back: their
	// events came only from the fresh replica.
	handedBack := 0
	for _, tk := range tl.Ticks {
		if !tk.Before(termAt) {
			continue
		}
		for _, id := range slow {
			for _, p := range s.opts.Paths {
				k := keyFor(id, p, tk)
				if atExit.seen[k] == 0 && tl.seen[k] == 1 {
					handedBack++
				}
			}
		}
	}
	if handedBack == 0 {
		t.Errorf("no event of a slow vehicle came after the SIGTERM: no job was in flight, or none was handed back")
	}
	s.figures(t, "sigterm", tl, "exit_after="+took.Round(time.Millisecond).String()+" events_at_exit="+itoa(atExit.Events)+
		" handed_back_events="+itoa(handedBack)+" drained_in="+drained.Round(time.Millisecond).String())
}
