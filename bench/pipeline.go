package main

import (
	"context"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/config"
)

// runPipeline is scenario 1, the pipeline ceiling: polls/s through the
// daemon as internal/daemon wires it (what `smartcar-poller run` runs):
// scheduler.Fire → JetStream work queue → queue.Consume → worker.Handle →
// simulator (no latency, limits off) → normalize → events publish, against
// the baseline loop (runBaseline) on the same API at the same concurrency,
// in the same process, on the same server and simulator. Odd runs measure
// the baseline first, even runs the pipeline first.
func runPipeline(ctx context.Context, o options) (Result, error) {
	var res Result
	log := newLogger(o.Verbose)
	sc, err := openScenario(ctx, o, o.Vehicles, o.Users, 0, o.Concurrency, log)
	if err != nil {
		return res, err
	}
	defer sc.Close()
	e, sim, f := sc.e, sc.sim, sc.f
	base := sc.baseline(o.API)
	ticks := (o.Polls + len(f.vehicles) - 1) / len(f.vehicles)
	total := int64(ticks) * int64(len(f.vehicles))

	// Warm up what both phases share (connections to the simulator, the
	// simulator itself, the NATS server, the Go heap) with one tick of the
	// bare loop, so the phase measured first is not the one that pays for it.
	if _, err := runBaseline(ctx, e, "bw", base, f, 1, o.Concurrency); err != nil {
		return res, fmt.Errorf("warm-up: %w", err)
	}

	r := newRig(sc.d, "bench")
	var pipeTime, baseTime time.Duration
	var pipeCPU, baseCPU time.Duration
	measurePipeline := func() error {
		cpu0 := cpuTime()
		pipeTime, err = profiled(o, scenarioPipeline, "pipeline", func() (time.Duration, error) {
			return r.run(ctx, ticks, total, 2*time.Millisecond, nil)
		})
		pipeCPU = cpuTime() - cpu0
		if err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		return r.check(ctx, total)
	}
	measureBaseline := func() error {
		cpu0 := cpuTime()
		baseTime, err = profiled(o, scenarioPipeline, "baseline", func() (time.Duration, error) {
			return runBaseline(ctx, e, "bb", base, f, ticks, o.Concurrency)
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

	pipeRate := float64(total) / pipeTime.Seconds()
	baseRate := float64(total) / baseTime.Seconds()
	target := pipelineTarget(o)
	row := Row{
		Scenario: "pipeline ceiling", Figure: fmt.Sprintf("polls/s, API %s, %s store, concurrency %d", o.API, o.Store, o.Concurrency),
		Unit: unitRate, Measured: pipeRate, Baseline: baseRate, BaselineLabel: baselineLabel(o.API),
		Target: fmt.Sprintf(">= %.2fx", target),
	}
	row.Met = row.Ratio() >= target
	res.Rows = append(res.Rows, row)
	st := r.d.Worker().Stats().Snapshot()
	res.detail("%d polls (%d vehicles on %d users x %d ticks), %d events each way; API %s, token store %s, %s to the simulator; order %s",
		total, len(f.vehicles), f.grants, ticks, total*int64(len(benchPaths)), o.API, o.Store, protoName(o.HTTP2), orderName(o.RunIndex))
	res.detail("pipeline %.2f s, CPU %.0f µs/poll; baseline %.2f s, CPU %.0f µs/poll (process CPU: pipeline, simulator and NATS server together)",
		pipeTime.Seconds(), perPoll(pipeCPU, total), baseTime.Seconds(), perPoll(baseCPU, total))
	res.detail("worker: %d calls, mean call %.0f µs, %d ok, %d events", st.Calls,
		float64(st.CallTime.Microseconds())/float64(max(st.Calls, 1)), st.OK, st.Events)
	return res, nil
}

// pipelineTarget is the pipeline's target against the bare loop: 0.8x on
// the embedded store, 0.7x on Redis (two round trips a poll).
func pipelineTarget(o options) float64 {
	if o.Store == "redis" {
		return 0.7
	}
	return 0.8
}

func baselineLabel(api string) string {
	if api == config.APIV2 {
		return "bare Batch + Publish loop"
	}
	return "bare /signals + Publish loop"
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
