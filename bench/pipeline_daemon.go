package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/daemon"
)

// benchPaths is the API v2 schedule's batch: three paths, three events a
// poll; benchSignals are the same three as API v3 signals.
var (
	benchPaths   = []string{"/odometer", "/location", "/battery"}
	benchSignals = []string{"odometer", "location", "battery"}
)

const scheduleName = "bench"

// firstTick is the tick of the first firing; firing k is k hours later, so
// every firing has new job and event ids.
var firstTick = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func tickAt(k int) time.Time { return firstTick.Add(time.Duration(k) * time.Hour) }

// benchConfig is the daemon's configuration for a pipeline run: the
// embedded NATS server under dir (nats.url empty, as the daemon runs by
// default), the token store of -store, the simulator's credentials, limits
// off (as in the simulator), concurrency workers and one schedule over
// every vehicle whose cron never comes round in a run: the benchmark fires
// it itself.
func benchConfig(o options, sim *simulator, dir string, concurrency int) *config.Config {
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.NATS.SubjectPrefix = "bench"
	cfg.HTTP.Listen = ""
	cfg.Smartcar.API = o.API
	cfg.Smartcar.ClientID, cfg.Smartcar.ClientSecret = sim.clientID, config.Secret(sim.clientSecret)
	cfg.Smartcar.RedirectURI = sim.redirectURI
	cfg.Smartcar.RateLimit = config.RateLimit{}
	cfg.Smartcar.Timeout = apiTimeout
	cfg.Workers.Concurrency = concurrency
	cfg.Schedules = []config.Schedule{{Name: scheduleName, Cron: "@every 1h", Signals: benchSignals,
		Vehicles: config.Vehicles{All: true}, Emit: config.EmitAlways}}
	if o.Store == "redis" {
		cfg.Redis.URL = o.RedisURL
		cfg.Redis.KeyPrefix = fmt.Sprintf("smartcar-bench:%d:%d:", os.Getpid(), time.Now().UnixNano())
		cfg.Tokens.AllowPlaintext = true // a key file is the operator's; encryption is off the poll path
	}
	return cfg
}

// openDaemon opens the daemon of cfg (daemon.Open: what `smartcar-poller
// run` opens) pointed at the simulator. With http2 its transport to the
// simulator speaks cleartext HTTP/2, as the daemon speaks HTTP/2 over TLS
// to Smartcar; else it is the daemon's own.
func openDaemon(ctx context.Context, cfg *config.Config, sim *simulator, http2 bool, log *slog.Logger) (*daemon.Daemon, error) {
	o := sim.origins
	opts := daemon.Options{
		ClientOpts: smartcarOrigins(o),
		AppOrigins: appOrigins(o),
		Command:    "bench",
	}
	if http2 {
		opts.Transport = h2cTransport(cfg.Workers.Concurrency)
	}
	d, err := daemon.Open(ctx, cfg, log, opts)
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	return d, nil
}

// rig is the daemon's pipeline as cmd/smartcar-poller runs it, built by
// internal/daemon: scheduler → queue (JetStream work queue) → worker
// (registry, limiter, Smartcar client) → events publisher. Daemon.Run
// consumes; the benchmark fires the schedule (Scheduler.Fire).
type rig struct {
	d      *daemon.Daemon
	e      *natsEnv // the daemon's connection
	prefix string
	fires  int
}

func newRig(d *daemon.Daemon, prefix string) *rig {
	return &rig{d: d, e: &natsEnv{nc: d.NATS(), js: d.JetStream()}, prefix: prefix}
}

// progress is called while a run is under way with the polls done so far.
type progress func(now time.Time, done int64)

// run runs the daemon, fires ticks firings of the schedule and returns
// once total polls have published their events (the worker's OK count:
// Handle returns nil only after Publish was acked) and their last-poll
// times are written. Any failed, snoozed or dropped job fails the run:
// with limits off none should.
func (r *rig) run(ctx context.Context, ticks int, total int64, every time.Duration, onProgress progress) (time.Duration, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var runErr, fireErr error
	ran, fired := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ran)
		runErr = r.d.Run(cctx)
	}()
	start := time.Now()
	go func() {
		defer close(fired)
		for k := range ticks {
			fireErr = r.d.Scheduler().Fire(cctx, scheduleName, tickAt(k))
			r.fires++
			if fireErr != nil {
				return
			}
		}
	}()
	elapsed, err := r.wait(ctx, start, total, every, onProgress, fired, ran, &fireErr)
	if err == nil {
		// The last polls' writes belong to the run (the daemon writes them
		// every few seconds while it runs).
		if err = r.d.FlushPolls(ctx); err == nil {
			elapsed = time.Since(start)
		}
	}
	cancel()
	<-fired
	<-ran
	if err == nil && runErr != nil {
		err = fmt.Errorf("daemon: %w", runErr)
	}
	return elapsed, err
}

// wait polls the worker's counters until total polls are done, the firings
// fail or the daemon stops.
func (r *rig) wait(ctx context.Context, start time.Time, total int64, every time.Duration, onProgress progress,
	fired, ran <-chan struct{}, fireErr *error) (time.Duration, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case now := <-t.C:
			st := r.d.Worker().Stats().Snapshot()
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
		case <-ran:
			return 0, errors.New("daemon stopped early")
		case <-ctx.Done():
			return 0, r.stuck(ctx.Err(), total)
		}
	}
}

// stuck describes where a run that did not finish stopped.
func (r *rig) stuck(err error, total int64) error {
	st := r.d.Worker().Stats().Snapshot()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, derr := r.d.Queue().Depth(ctx)
	if derr != nil {
		return fmt.Errorf("%d of %d polls done (%+v); queue depth unknown: %v: %w", st.OK, total, st, derr, err)
	}
	return fmt.Errorf("%d of %d polls done (%+v); %d firings; queue %+v: %w", st.OK, total, st, r.fires, d, err)
}

// check verifies that every poll stored its three events, once.
func (r *rig) check(ctx context.Context, total int64) error {
	want := uint64(total) * uint64(len(benchPaths))
	got, err := r.e.streamMsgs(ctx, events.StreamName(r.prefix))
	if err != nil {
		return err
	}
	st := r.d.Publisher().Stats()
	if got != want || st.Published != want || st.Duplicates != 0 || st.Failed != 0 {
		return fmt.Errorf("events: stream holds %d, publisher stored %d (%d duplicates, %d failed), want %d",
			got, st.Published, st.Duplicates, st.Failed, want)
	}
	return nil
}

// h2cTransport is the daemon's transport to Smartcar (many idle
// connections kept) speaking cleartext HTTP/2 to the simulator.
func h2cTransport(conns int) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = max(conns, tr.MaxIdleConns)
	tr.MaxIdleConnsPerHost = max(conns, 2)
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	tr.Protocols = &p
	return tr
}
