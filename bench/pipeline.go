package main

import (
	"context"
	"fmt"
	"time"
)

// runPipeline is scenario 1, the pipeline ceiling: polls/s through
// scheduler.Fire → JetStream work queue → queue.Consume → worker.Handle →
// simulator (no latency, limits off) → normalize → events publish, against
// the baseline loop (runBaseline) at the same concurrency, in the same
// process, on the same server and simulator. Odd runs measure the baseline
// first, even runs the pipeline first.
func runPipeline(ctx context.Context, o options) (Result, error) {
	var res Result
	log := newLogger(o.Verbose)
	sc, err := openScenario(ctx, o, o.Vehicles, o.Users, 0, o.Concurrency, log)
	if err != nil {
		return res, err
	}
	defer sc.Close()
	e, sim, api, f := sc.e, sc.sim, sc.api, sc.f
	ticks := (o.Polls + len(f.vehicles) - 1) / len(f.vehicles)
	total := int64(ticks) * int64(len(f.vehicles))

	// Warm up what both phases share (connections to the simulator, the
	// simulator itself, the NATS server, the Go heap) with one tick of the
	// bare loop, so the phase measured first is not the one that pays for it.
	if _, err := runBaseline(ctx, e, "bw", api, f, 1, o.Concurrency); err != nil {
		return res, fmt.Errorf("warm-up: %w", err)
	}

	var pipe, base time.Duration
	var pipeCPU, baseCPU time.Duration
	var r *rig
	preg, pmgr, leases := sc.reg, sc.mgr, sc.leases
	measurePipeline := func() error {
		if r, err = newRig(ctx, e, "bp", preg, pmgr, api, log); err != nil {
			return err
		}
		cpu0 := cpuTime()
		pipe, err = profiled(o, scenarioPipeline, "pipeline", func() (time.Duration, error) {
			return r.run(ctx, o.Concurrency, ticks, total, 2*time.Millisecond, nil)
		})
		pipeCPU = cpuTime() - cpu0
		if err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		return r.check(ctx, total)
	}
	measureBaseline := func() error {
		cpu0 := cpuTime()
		base, err = profiled(o, scenarioPipeline, "baseline", func() (time.Duration, error) {
			return runBaseline(ctx, e, "bb", api, f, ticks, o.Concurrency)
		})
		baseCPU = cpuTime() - cpu0
		return err
	}
	if err := inOrder(o.RunIndex, measureBaseline, measurePipeline); err != nil {
		return res, err
	}
	if st, err := sim.Stats(ctx); err != nil {
		return res, err
	} else if st.RetryAfterViolations != 0 {
		return res, fmt.Errorf("simulator counted %d Retry-After violations", st.RetryAfterViolations)
	}

	pipeRate := float64(total) / pipe.Seconds()
	baseRate := float64(total) / base.Seconds()
	figure := fmt.Sprintf("polls/s at concurrency %d", o.Concurrency)
	if o.Variant > 0 {
		figure = fmt.Sprintf("breakdown %d: %s", o.Variant, breakdownVariants[o.Variant-1].name)
	}
	row := Row{
		Scenario: "pipeline ceiling", Figure: figure, Unit: unitRate,
		Measured: pipeRate, Baseline: baseRate, BaselineLabel: "bare Batch + Publish loop",
		Target: ">= 0.70x",
	}
	row.Met = row.Ratio() >= 0.7
	res.Rows = append(res.Rows, row)
	st := r.w.Stats().Snapshot()
	res.detail("%d polls (%d vehicles on %d grants x %d ticks), %d events each way; token store %s, poll leases %v, %s to the simulator; order %s",
		total, len(f.vehicles), f.grants, ticks, total*int64(len(benchPaths)), o.Store, leases, protoName(o.HTTP2), orderName(o.RunIndex))
	res.detail("pipeline %.2f s, CPU %.0f µs/poll; baseline %.2f s, CPU %.0f µs/poll (process CPU: pipeline, simulator and NATS server together)",
		pipe.Seconds(), perPoll(pipeCPU, total), base.Seconds(), perPoll(baseCPU, total))
	res.detail("worker: %d batch calls, mean call %.0f µs, %d ok, %d events", st.Calls,
		float64(st.CallTime.Microseconds())/float64(max(st.Calls, 1)), st.OK, st.Events)
	return res, nil
}

func orderName(run int) string {
	if run%2 == 0 {
		return "pipeline first"
	}
	return "baseline first"
}

func perPoll(cpu time.Duration, polls int64) float64 {
	return float64(cpu.Microseconds()) / float64(max(polls, 1))
}
