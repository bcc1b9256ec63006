package main

import (
	"context"
	"fmt"
	"math"
	"runtime/debug"
	"time"
)

// rssLimit is the latency-bound scenario's memory target.
const rssLimit = 256 * mib

// runLatency is scenario 2, latency-bound: the simulator answers after
// o.Latency, so o.LatencyConcurrency handlers can do at most
// concurrency/latency polls per second. It measures the polls/s achieved
// once the pipeline is full (from the concurrency-th completed poll to the
// (total-concurrency)-th, leaving out the ramp-up and the drain) and the
// process's peak RSS. The process also hosts the simulator and the NATS
// server; the in-use heap is split between them and the pipeline once,
// half-way through.
func runLatency(ctx context.Context, o options) (Result, error) {
	var res Result
	log := newLogger(o.Verbose)
	conc := o.LatencyConcurrency
	sc, err := openScenario(ctx, o, o.LatencyVehicles, o.LatencyUsers, o.Latency, conc, log)
	if err != nil {
		return res, err
	}
	defer sc.Close()
	f := sc.f
	r := newRig(sc.d, "bench")
	ticks := (o.LatencyPolls + len(f.vehicles) - 1) / len(f.vehicles)
	total := int64(ticks) * int64(len(f.vehicles))

	w := &window{lo: int64(conc), hi: total - int64(conc), split: total / 2}
	peak := startMemPeak(50 * time.Millisecond)
	cpu0 := cpuTime()
	elapsed, err := profiled(o, scenarioLatency, "pipeline", func() (time.Duration, error) {
		return r.run(ctx, ticks, total, 5*time.Millisecond, w.observe)
	})
	cpu := cpuTime() - cpu0
	mem := peak.Stop()
	if err != nil {
		return res, fmt.Errorf("latency-bound: %w", err)
	}
	if err := r.check(ctx, total); err != nil {
		return res, err
	}
	hwm, err := procStatus("VmHWM")
	if err != nil {
		return res, err
	}

	ideal := float64(conc) / o.Latency.Seconds()
	steady, how := w.rate(total, elapsed)
	rate := Row{
		Scenario: "latency-bound", Unit: unitRate,
		Figure:   fmt.Sprintf("polls/s, API %s, latency %s, concurrency %s", o.API, o.Latency, groupThousands(int64(conc))),
		Measured: steady, Baseline: ideal, BaselineLabel: "ideal concurrency/latency", Target: ">= 0.90x",
	}
	rate.Met = rate.Ratio() >= 0.9
	rss := Row{
		Scenario: "latency-bound", Unit: unitMiB, Figure: rssFigure(o.SimProcess),
		Measured: float64(hwm) / mib, Target: "< 256 MiB", Met: hwm < rssLimit,
	}
	res.Rows = append(res.Rows, rate, rss)
	res.detail("%d polls (%d vehicles on %d grants x %d ticks); rate %s; overall %.0f polls/s in %.1f s incl. ramp-up and drain; API %s, token store %s, %s to the simulator",
		total, len(f.vehicles), f.grants, ticks, how, float64(total)/elapsed.Seconds(), elapsed.Seconds(), o.API, o.Store, protoName(o.HTTP2))
	res.detail("process CPU %.1f s (%.0f µs/poll); peaks sampled every 50 ms: VmRSS %.0f MiB, Go heap objects %.0f MiB, goroutine stacks %.0f MiB, Go runtime total %.0f MiB, %d goroutines",
		cpu.Seconds(), perPoll(cpu, total), mb(mem.rss), mb(mem.heapObj), mb(mem.stacks), mb(mem.goTotal), mem.goroutines)
	if w.shares.total() > 0 {
		h, g := w.shares, w.gs
		res.detail("half-way, after a GC: live heap (from the sampled heap profile) pipeline %.1f MiB, embedded NATS server %.1f MiB, simulator incl. its HTTP server side %.1f MiB; goroutines pipeline %d, server %d, simulator %d; goroutine stacks %.0f MiB in all",
			mb(h.pipeline), mb(h.server), mb(h.simulator), g.pipeline, g.server, g.simulator, mb(w.stacks))
	}
	st := r.d.Worker().Stats().Snapshot()
	res.detail("mean Smartcar call %.0f ms; a worker slot turns over every %.0f ms at the measured rate",
		float64(st.CallTime.Milliseconds())/float64(max(st.Calls, 1)), float64(conc)/steady*1000)
	return res, nil
}

func mb(b uint64) float64 { return float64(b) / mib }

// window records when the pipeline became full and when it began to drain,
// and splits the heap once half-way.
type window struct {
	lo, hi, split int64
	tLo, tHi      time.Time
	split0        bool
	shares        heapShares
	gs            goroutineShares
	stacks        uint64 // goroutine stack bytes at the split
}

func (w *window) observe(now time.Time, done int64) {
	if w.tLo.IsZero() && done >= w.lo {
		w.tLo = now
	}
	if w.tHi.IsZero() && done >= w.hi {
		w.tHi = now
	}
	if !w.split0 && done >= w.split {
		w.split0 = true
		w.shares = splitHeap()
		w.gs = splitGoroutines()
		w.stacks = readMem().stacks
	}
}

// rate is the steady-state rate between the two marks, or the overall rate
// when the run was too short to have both.
func (w *window) rate(total int64, elapsed time.Duration) (float64, string) {
	if w.hi > w.lo && !w.tLo.IsZero() && !w.tHi.IsZero() && w.tHi.After(w.tLo) {
		return float64(w.hi-w.lo) / w.tHi.Sub(w.tLo).Seconds(),
			fmt.Sprintf("from poll %d to poll %d (%.1f s)", w.lo, w.hi, w.tHi.Sub(w.tLo).Seconds())
	}
	return float64(total) / elapsed.Seconds(), "over the whole run (too short for a steady state)"
}

func rssFigure(simProcess bool) string {
	fig := "peak RSS (VmHWM): pipeline + embedded NATS + simulator"
	if simProcess {
		fig = "peak RSS (VmHWM): pipeline + embedded NATS, simulator in its own process"
	}
	// A soft memory limit (GOMEMLIMIT, as deploy/ sets one from the
	// container's limit) changes the figure: say so in it.
	if limit := debug.SetMemoryLimit(-1); limit != math.MaxInt64 {
		fig += fmt.Sprintf(", GOMEMLIMIT %d MiB", limit>>20)
	}
	return fig
}
