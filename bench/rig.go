package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// benchPaths is the schedule's batch: three paths, three events a poll.
var benchPaths = []string{"/odometer", "/location", "/battery"}

const scheduleName = "bench"

// firstTick is the tick of the first firing; firing k is k hours later, so
// every firing has new job and event ids.
var firstTick = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func tickAt(k int) time.Time { return firstTick.Add(time.Duration(k) * time.Hour) }

// rig is the daemon's pipeline wired as cmd/smartcar-poller/app.go wires
// it: scheduler → queue (JetStream work queue) → worker (token manager,
// registry, limiter, Smartcar client) → events publisher.
type rig struct {
	env    *natsEnv
	prefix string
	pub    *events.Publisher
	q      *queue.Queue
	w      *worker.Worker
	s      *scheduler.Scheduler
	polls  *registry.PollRecorder
	fires  atomic.Int64 // firings returned

	handled     atomic.Int64 // Handle calls returned
	handleNanos atomic.Int64 // their total wall time
}

// handle runs the worker's Handle and adds up the time spent in it.
func (r *rig) handle(ctx context.Context, job queue.PollJob, d queue.Delivery) error {
	t0 := time.Now()
	err := r.w.Handle(ctx, job, d)
	r.handleNanos.Add(int64(time.Since(t0)))
	r.handled.Add(1)
	return err
}

// meanHandle is the mean wall time of one Handle call.
func (r *rig) meanHandle() time.Duration {
	return time.Duration(r.handleNanos.Load() / max(r.handled.Load(), 1))
}

// newRig wires the pipeline on reg (with the poll leases the scenario's
// wiring chose) and mgr.
func newRig(ctx context.Context, e *natsEnv, prefix string, reg registry.Store, mgr *credentials.Manager,
	api *smartcar.Client, log *slog.Logger) (*rig, error) {
	r := &rig{env: e, prefix: prefix}
	if err := events.EnsureStream(ctx, e.js, events.StreamConfig{Prefix: prefix, Storage: jetstream.FileStorage}); err != nil {
		return nil, fmt.Errorf("events stream: %w", err)
	}
	var err error
	if r.pub, err = events.NewPublisher(e.js, events.PublisherConfig{Prefix: prefix}); err != nil {
		return nil, fmt.Errorf("events publisher: %w", err)
	}
	if r.q, err = queue.New(ctx, e.js, queue.Config{Prefix: prefix, Storage: jetstream.FileStorage, Logger: log}); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	r.polls = registry.NewPollRecorder(reg, 0, log) // as the daemon: last polls written in the background
	if r.w, err = worker.New(worker.Config{
		UnitSystem: smartcar.Metric,
		LeaseTTL:   apiTimeout * 5 / 4, // as the daemon: the lease outlives a call
	}, log, worker.Deps{
		Tokens:    mgr,
		API:       api,
		Registry:  r.polls.Recording(reg), // as the daemon wires it
		Publisher: r.pub,
		Changes:   r.pub,
		Enqueuer:  r.q,
		Limiter:   rate.NewLimiter(rate.Inf, 1), // limits off, as in the simulator
	}); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	if r.s, err = scheduler.New(scheduler.Config{Schedules: []scheduler.Schedule{{
		Name:     scheduleName,
		Cron:     "@every 1h", // never reached: the benchmark calls Fire
		Paths:    benchPaths,
		Vehicles: scheduler.Selector{All: true},
		Emit:     "always",
	}}}, log, vehicleLister{reg}, r.q); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return r, nil
}

// progress is called while a run is under way with the polls done so far.
type progress func(now time.Time, done int64)

// run consumes with concurrency handlers, fires ticks firings of the
// schedule and returns once total polls have published their events (the
// worker's OK count: Handle returns nil only after Publish was acked). Any
// failed, snoozed or dropped job fails the run: with limits off none should.
func (r *rig) run(ctx context.Context, concurrency, ticks int, total int64, every time.Duration, onProgress progress) (time.Duration, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var fireErr, consumeErr error
	fired, consumed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(consumed)
		consumeErr = r.q.Consume(cctx, concurrency, r.handle)
	}()
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		_ = r.polls.Run(cctx)
	}()
	defer func() { <-recorded }()
	start := time.Now()
	go func() {
		defer close(fired)
		for k := range ticks {
			fireErr = r.s.Fire(cctx, scheduleName, tickAt(k))
			r.fires.Add(1)
			if fireErr != nil {
				return
			}
		}
	}()

	elapsed, err := r.wait(ctx, start, total, every, onProgress, fired, consumed, &fireErr)
	if err == nil {
		// The last polls' writes belong to the run (the daemon writes them
		// every few seconds while it runs).
		if err = r.polls.Flush(ctx); err == nil {
			elapsed = time.Since(start)
		}
	}
	cancel()
	<-fired
	<-consumed
	if err == nil && consumeErr != nil {
		err = fmt.Errorf("consume: %w", consumeErr)
	}
	return elapsed, err
}

// wait polls the worker's counters until total polls are done, the firings
// fail or the consumer stops.
func (r *rig) wait(ctx context.Context, start time.Time, total int64, every time.Duration, onProgress progress,
	fired, consumed <-chan struct{}, fireErr *error) (time.Duration, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			st := r.w.Stats().Snapshot()
			if onProgress != nil {
				onProgress(now, st.OK)
			}
			if st.Failed+st.Snoozed+st.Dropped > 0 {
				return 0, fmt.Errorf("jobs not done: %d failed, %d snoozed, %d dropped", st.Failed, st.Snoozed, st.Dropped)
			}
			if st.OK >= total {
				return now.Sub(start), nil
			}
		case <-fired:
			if *fireErr != nil {
				return 0, fmt.Errorf("fire: %w", *fireErr)
			}
			fired = nil
		case <-consumed:
			return 0, errors.New("consumer stopped early")
		case <-ctx.Done():
			return 0, r.stuck(ctx.Err(), total)
		}
	}
}

// stuck describes where a run that did not finish stopped.
func (r *rig) stuck(err error, total int64) error {
	st := r.w.Stats().Snapshot()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, derr := r.q.Depth(ctx)
	if derr != nil {
		return fmt.Errorf("%d of %d polls done (%+v); queue depth unknown: %v: %w", st.OK, total, st, derr, err)
	}
	info := ""
	if s, err := r.env.js.Stream(ctx, r.q.Stream()); err == nil {
		if si, err := s.Info(ctx); err == nil {
			info = fmt.Sprintf("; job stream %+v", si.State)
		}
	}
	return fmt.Errorf("%d of %d polls done (%+v); %d firings returned; queue %+v%s: %w", st.OK, total, st, r.fires.Load(), d, info, err)
}

// check verifies that every poll stored its three events, once.
func (r *rig) check(ctx context.Context, total int64) error {
	want := uint64(total) * uint64(len(benchPaths))
	got, err := r.env.streamMsgs(ctx, events.StreamName(r.prefix))
	if err != nil {
		return err
	}
	st := r.pub.Stats()
	if got != want || st.Published != want || st.Duplicates != 0 || st.Failed != 0 {
		return fmt.Errorf("events: stream holds %d, publisher stored %d (%d duplicates, %d failed), want %d",
			got, st.Published, st.Duplicates, st.Failed, want)
	}
	return nil
}
