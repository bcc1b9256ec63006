package reliability

import (
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestFaults_SmartcarFaults makes the simulator fail 20% of calls (batch, or /signals) in
// four ways (500 SERVER:INTERNAL, a proxy's HTML 502, a dropped connection,
// a hang past smartcar.timeout), one kind per group of vehicles: every job
// retries with backoff and completes, the daemon stays up, and its goroutine
// count (go_goroutines on /metrics, the lowest of a few samples while idle)
// is back where it was once the faults stop.
func TestFaults_SmartcarFaults(t *testing.T) {
	t.Parallel()
	forEachWire(t, testSmartcarFaults)
}

func testSmartcarFaults(t *testing.T, api string) {
	perKind, faulty, cron := 2, 5, "@every 1s"
	if full() {
		perKind, faulty, cron = 4, 60, "@every 2s"
	}
	kinds := []struct {
		name  string
		fault smartcartest.Fault
	}{
		{"server_internal", smartcartest.Fault{Type: "SERVER", Code: "INTERNAL"}},
		{"html502", smartcartest.Fault{HTML502: true}},
		{"drop", smartcartest.Fault{Drop: true}},
		{"hang", smartcartest.Fault{Hang: true}},
	}
	sim := newSim(t, smartcartest.WithSeed(24), smartcartest.WithUsers(2), smartcartest.WithVehicles(perKind*len(kinds)),
		smartcartest.WithoutLimits(), smartcartest.WithTimeScale(60))
	s := newSetup(t, sim, options{API: api, Timeout: 2 * time.Second, Cron: cron})
	s.connect()
	r := s.start("a", "")
	s.waitTwoTicks(t, r)
	before := r.idleGoroutines(t)

	for i, id := range s.Vehicles {
		f := kinds[i%len(kinds)].fault
		f.Probability = 0.2
		sim.SetFault(id, s.callPath(), f)
	}
	faultsAt := time.Now()
	s.waitTicks(t, 5*time.Minute, "ticks polled under faults", func(tl tally) bool {
		return tl.ticksBetween(faultsAt, faultsAt.Add(time.Hour)) >= faulty
	}, r)
	sim.ClearFaults()
	clearedAt := time.Now()
	// Every tick of the faulty period, retries included, completes, and two
	// after it; then the daemon idles.
	s.waitTicks(t, 5*time.Minute, "every tick complete after the faults", func(tl tally) bool {
		return tl.incompleteUntil(clearedAt) == 0 && tl.completeBetween(clearedAt, clearedAt.Add(time.Hour)) >= 2
	}, r)
	after := r.idleGoroutines(t)
	r.term(t, s.opts.ShutdownGrace+20*time.Second)
	s.drain(t, 5*time.Minute)

	tl := s.final(t)
	tl.check(t)
	injected := map[string]int{}
	for _, q := range sim.Requests() {
		if strings.HasPrefix(q.Outcome, "fault") || (q.Time.After(faultsAt) && q.Time.Before(clearedAt) && q.Status >= 500) {
			injected[q.Outcome]++
		}
	}
	if sim.Stats().FaultsInjected == 0 {
		t.Errorf("no fault was injected")
	}
	// Persistent goroutines (a leak per failed call) would show here; the
	// slack covers idle connections that come and go: the daemon keeps up to
	// one idle HTTP connection per worker (2 goroutines each), plus NATS's.
	slack := float64(2*s.opts.Concurrency + 2)
	if after > before+slack {
		t.Errorf("goroutines while idle: %v before the faults, %v after; want at most %v more", before, after, slack)
	}
	s.figures(t, "smartcar-faults", tl, "goroutines_before="+itoa(int(before))+" goroutines_after="+itoa(int(after))+" injected="+formatCounts(injected))
}

// idleGoroutines samples go_goroutines for two seconds and returns the
// lowest value: jobs in flight come and go, leaked goroutines stay.
func (r *replica) idleGoroutines(t *testing.T) float64 {
	t.Helper()
	low := math.Inf(1)
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if n, err := r.metric("go_goroutines"); err == nil {
			low = min(low, n)
		}
	}
	if math.IsInf(low, 1) {
		t.Fatalf("replica %s: no go_goroutines sample", r.name)
	}
	return low
}

func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + ":" + itoa(m[k])
	}
	return strings.Join(keys, ",")
}
