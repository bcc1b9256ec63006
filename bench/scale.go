package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/daemon"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

// Targets of the scale scenario.
const (
	fireLimit  = 2 * time.Second
	stateLimit = 100 * mib
)

// vehicleID is the i-th vehicle's id, UUID-sized like Smartcar's.
func vehicleID(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) }

// freshList is a vehicle registry that builds a new list on every call, as
// a store does, so the list is part of each tick's state.
type freshList int

func (n freshList) ListVehicles(context.Context) ([]scheduler.Vehicle, error) {
	vs := make([]scheduler.Vehicle, n)
	for i := range vs {
		vs[i] = scheduler.Vehicle{ID: vehicleID(i), Tags: []string{"fleet"}}
	}
	return vs, nil
}

// Vehicle is the vehicle ListVehicles lists with id. The scale scenario's
// schedule is not adaptive, so no due loop calls it.
func (n freshList) Vehicle(_ context.Context, id string) (scheduler.Vehicle, error) {
	var i int
	if _, err := fmt.Sscanf(id, "%08x-", &i); err != nil || i < 0 || i >= int(n) || vehicleID(i) != id {
		return scheduler.Vehicle{}, scheduler.ErrNotFound
	}
	return scheduler.Vehicle{ID: id, Tags: []string{"fleet"}}, nil
}

// heapProbe is an Enqueuer that measures the live heap when the scheduler
// hands over a tick's jobs — the moment its per-tick state (the vehicle
// list, the jobs) is largest — and then enqueues them.
type heapProbe struct {
	next  scheduler.Enqueuer
	heap  uint64
	calls int
}

func (p *heapProbe) Enqueue(ctx context.Context, jobs ...queue.PollJob) (queue.EnqueueResult, error) {
	if p.calls == 0 {
		p.heap = liveHeap()
	}
	p.calls++
	return p.next.Enqueue(ctx, jobs...)
}

func benchSchedule() scheduler.Config {
	return scheduler.Config{Schedules: []scheduler.Schedule{{
		Name: scheduleName, Cron: "*/30 * * * *", Paths: benchPaths,
		Vehicles: scheduler.Selector{All: true}, Emit: "on_change",
	}}}
}

// runScale is scenario 3: o.ScaleVehicles vehicles on one schedule, jitter
// 0. It times one scheduler.Fire into the real queue on the embedded server
// against the bare JetStream async publish of the same jobs, and measures
// the live heap the scheduler's tick needs (the vehicle list and the jobs,
// at the moment they are handed to the queue). With -scale-store it also
// registers the vehicles in the token store and fires from it, as the
// daemon does (ListVehicles on every tick).
func runScale(ctx context.Context, o options) (Result, error) {
	var res Result
	log := newLogger(o.Verbose)
	e, err := startNATS()
	if err != nil {
		return res, err
	}
	defer e.Close()
	q, err := queue.New(ctx, e.js, queue.Config{Prefix: "bs", Storage: jetstream.FileStorage, Logger: log})
	if err != nil {
		return res, fmt.Errorf("job queue: %w", err)
	}
	n := o.ScaleVehicles
	list := freshList(n)
	tick := 0
	nextTick := func() time.Time { tick++; return tickAt(tick) }

	// Memory, first, while the server is idle and its caches empty: one
	// vehicle list; the live heap before a tick and when its jobs are handed
	// over.
	listHeap := measureList(ctx, list)
	probe := &heapProbe{next: q}
	ps, err := scheduler.New(benchSchedule(), log, list, probe)
	if err != nil {
		return res, err
	}
	before := liveHeap()
	if err := ps.Fire(ctx, scheduleName, nextTick()); err != nil {
		return res, fmt.Errorf("fire: %w", err)
	}
	state := probe.heap - min(before, probe.heap)

	// Time: one Fire, and the baseline publish of the same number of jobs.
	s, err := scheduler.New(benchSchedule(), log, list, q)
	if err != nil {
		return res, err
	}
	var fire, base, fireCPU, baseCPU time.Duration
	measureFire := func() error {
		cpu0, t0 := cpuTime(), time.Now()
		_, err := profiled(o, scenarioScale, "fire", func() (struct{}, error) {
			return struct{}{}, s.Fire(ctx, scheduleName, nextTick())
		})
		fire, fireCPU = time.Since(t0), cpuTime()-cpu0
		return err
	}
	measureBase := func() error {
		cpu0 := cpuTime()
		var err error
		base, err = profiled(o, scenarioScale, "baseline", func() (time.Duration, error) {
			return publishBare(ctx, e, "bs2", n, nextTick())
		})
		baseCPU = cpuTime() - cpu0
		return err
	}
	if err := inOrder(o.RunIndex, measureBase, measureFire); err != nil {
		return res, err
	}
	if got, err := e.streamMsgs(ctx, q.Stream()); err != nil {
		return res, err
	} else if want := uint64(2 * n); got != want {
		return res, fmt.Errorf("job stream holds %d jobs after two firings, want %d", got, want)
	}

	fireRow := Row{
		Scenario: "scale", Unit: unitSeconds, Figure: fmt.Sprintf("Fire of one tick, %s vehicles (in-memory list)", groupThousands(int64(n))),
		Measured: fire.Seconds(), Baseline: base.Seconds(), BaselineLabel: "bare JetStream async publish",
		Target: "< 2 s", Met: fire < fireLimit,
	}
	memRow := Row{
		Scenario: "scale", Unit: unitMiB, Figure: "scheduler heap per tick (list + jobs)",
		Measured: float64(state) / mib, Target: "< 100 MiB", Met: state < stateLimit,
	}
	res.Rows = append(res.Rows, fireRow, memRow)
	res.detail("Fire %.2f s (process CPU %.2f s); bare publish %.2f s (CPU %.2f s); order %s",
		fire.Seconds(), fireCPU.Seconds(), base.Seconds(), baseCPU.Seconds(), orderName(o.RunIndex))
	res.detail("live heap at the hand-over to the queue minus before the tick: %.1f MiB, of which the vehicle list alone %.1f MiB",
		mb(state), mb(listHeap))

	if o.ScaleStore {
		if err := scaleFromStore(ctx, o, e, q, &res, n, nextTick, base); err != nil {
			return res, err
		}
	}
	return res, nil
}

// measureList returns the live heap of one vehicle list.
func measureList(ctx context.Context, l scheduler.Vehicles) uint64 {
	before := liveHeap()
	vs, _ := l.ListVehicles(ctx)
	after := liveHeap()
	runtime.KeepAlive(vs)
	return after - min(before, after)
}

// scaleFromStore registers n vehicles in the token store and fires from it.
func scaleFromStore(ctx context.Context, o options, e *natsEnv, q *queue.Queue, res *Result, n int, nextTick func() time.Time, base time.Duration) error {
	st, cleanup, err := openStore(ctx, o, e.js)
	if err != nil {
		return err
	}
	defer cleanup()
	t0 := time.Now()
	if err := registerMany(ctx, st.reg, n); err != nil {
		return err
	}
	reg := time.Since(t0)
	lister := daemon.SchedulerVehicles(st.reg)

	probe := &heapProbe{next: q}
	ps, err := scheduler.New(benchSchedule(), nil, lister, probe)
	if err != nil {
		return err
	}
	before := liveHeap()
	if err := ps.Fire(ctx, scheduleName, nextTick()); err != nil {
		return fmt.Errorf("fire from store: %w", err)
	}
	state := probe.heap - min(before, probe.heap)

	s, err := scheduler.New(benchSchedule(), nil, lister, q)
	if err != nil {
		return err
	}
	t1 := time.Now()
	if _, err := lister.ListVehicles(ctx); err != nil {
		return err
	}
	list := time.Since(t1)
	cpu0, t2 := cpuTime(), time.Now()
	_, err = profiled(o, scenarioScale, "fire-store", func() (struct{}, error) {
		return struct{}{}, s.Fire(ctx, scheduleName, nextTick())
	})
	fire, cpu := time.Since(t2), cpuTime()-cpu0
	if err != nil {
		return fmt.Errorf("fire from store: %w", err)
	}
	res.Rows = append(res.Rows, Row{
		Scenario: "scale", Unit: unitSeconds,
		Figure:   fmt.Sprintf("Fire of one tick, %s vehicles listed from the %s token store", groupThousands(int64(n)), o.Store),
		Measured: fire.Seconds(), Baseline: base.Seconds(), BaselineLabel: "bare JetStream async publish",
		Target: "< 2 s", Met: fire < fireLimit,
	}, Row{
		Scenario: "scale", Unit: unitMiB, Figure: fmt.Sprintf("scheduler heap per tick, listed from the %s store", o.Store),
		Measured: float64(state) / mib, Target: "< 100 MiB", Met: state < stateLimit,
	})
	res.detail("%s store: registering %d vehicles took %.1f s; ListVehicles alone %.2f s; Fire %.2f s (process CPU %.2f s)",
		o.Store, n, reg.Seconds(), list.Seconds(), fire.Seconds(), cpu.Seconds())
	if o.Store == "kv" {
		return mirrorLoad(ctx, e, res, n)
	}
	return nil
}

// mirrorLoad reports what the daemon's start costs with n registered
// vehicles: loading the KV store's in-memory mirror.
func mirrorLoad(ctx context.Context, e *natsEnv, res *Result, n int) error {
	s, err := kvregistry.Open(ctx, e.js, kvregistry.Config{Prefix: "bench"})
	if err != nil {
		return err
	}
	before := liveHeap()
	t0 := time.Now()
	if err := s.StartMirror(ctx, nil); err != nil {
		return err
	}
	took := time.Since(t0)
	after := liveHeap()
	heap := after - min(before, after)
	defer s.Close()
	vs, err := s.ListVehicles(ctx)
	if err != nil {
		return err
	}
	if len(vs) != n {
		return fmt.Errorf("mirror loaded %d vehicles, want %d", len(vs), n)
	}
	res.detail("kv store: a daemon starting with %d vehicles loads the store's mirror in %.2f s; it holds %.1f MiB of live heap",
		n, took.Seconds(), float64(heap)/mib)
	return nil
}

// registerMany puts n vehicles into the store, 32 at a time.
func registerMany(ctx context.Context, store registry.Store, n int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	now := time.Now().UTC()
	for i := range n {
		g.Go(func() error {
			return store.PutVehicle(gctx, registry.Vehicle{ID: vehicleID(i), GrantID: fmt.Sprintf("grant-%d", i%1000),
				Tags: []string{"fleet"}, Status: events.StatusConnected, ConnectedAt: now})
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("register vehicles: %w", err)
	}
	return nil
}

// publishBare is the scale baseline: the same n jobs, JSON-encoded and
// published with jetstream.PublishAsync (Nats-Msg-Id set, stalling instead
// of failing when the async window is full) to a work-queue stream of their
// own, then waiting for every ack.
func publishBare(ctx context.Context, e *natsEnv, prefix string, n int, tick time.Time) (time.Duration, error) {
	if _, err := queue.New(ctx, e.js, queue.Config{Prefix: prefix, Storage: jetstream.FileStorage}); err != nil {
		return 0, fmt.Errorf("baseline stream: %w", err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = vehicleID(i)
	}
	start := time.Now()
	for _, id := range ids {
		j := queue.PollJob{ID: queue.JobID(scheduleName, id, tick), Schedule: scheduleName, VehicleID: id,
			Paths: benchPaths, Tick: tick, Emit: "on_change"}
		data, err := json.Marshal(&j)
		if err != nil {
			return 0, err
		}
		if _, err := e.js.PublishAsync(queue.Subject(prefix, id), data, jetstream.WithMsgID(j.ID), jetstream.WithStallWait(time.Minute)); err != nil {
			return 0, fmt.Errorf("baseline publish: %w", err)
		}
	}
	select {
	case <-e.js.PublishAsyncComplete():
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	elapsed := time.Since(start)
	if got, err := e.streamMsgs(ctx, queue.StreamName(prefix)); err != nil {
		return 0, err
	} else if got != uint64(n) {
		return 0, fmt.Errorf("baseline: stream holds %d jobs, want %d", got, n)
	}
	return elapsed, nil
}
