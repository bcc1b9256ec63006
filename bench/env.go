package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/kvcredentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/rediscredentials"
	"github.com/smartcar-poller/smartcar-poller/internal/daemon"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// natsEnv is a connection to a NATS server with JetStream: for the scale
// scenario, an embedded server of its own (file storage in a temporary
// directory, a free loopback port), as the daemon runs it when nats.url is
// empty; for the pipeline scenarios, the daemon's connection to its own.
type natsEnv struct {
	dir string
	ns  *natsserver.Server
	nc  *nats.Conn
	js  jetstream.JetStream
}

func startNATS() (*natsEnv, error) {
	dir, err := os.MkdirTemp("", "smartcar-poller-bench-")
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	return startNATSIn(dir)
}

// restart stops the server and starts a new one on the same store, as a
// daemon's restart does; e is closed either way.
func (e *natsEnv) restart() (*natsEnv, error) {
	e.stop()
	return startNATSIn(e.dir)
}

// startNATSIn starts the embedded server on the store in dir (removed if
// it fails).
func startNATSIn(dir string) (_ *natsEnv, err error) {
	e := &natsEnv{dir: dir}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	e.ns, err = natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: natsserver.RANDOM_PORT, JetStream: true, StoreDir: dir,
		NoSigs: true, NoLog: true,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	e.ns.Start()
	if !e.ns.ReadyForConnections(10 * time.Second) {
		return nil, errors.New("embedded nats: not ready after 10s")
	}
	e.nc, err = nats.Connect(e.ns.ClientURL(), nats.Name("smartcar-poller-bench"),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			fmt.Fprintf(os.Stderr, "bench: nats async error (subscription %q): %v\n", subject, err)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: nats disconnected: %v\n", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { fmt.Fprintln(os.Stderr, "bench: nats reconnected") }),
	)
	if err != nil {
		return nil, fmt.Errorf("connect nats: %w", err)
	}
	e.js, err = jetstream.New(e.nc)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return e, nil
}

// Close drains the connection, stops the server and removes its store.
func (e *natsEnv) Close() {
	e.stop()
	_ = os.RemoveAll(e.dir)
}

// stop drains the connection and stops the server, keeping its store.
func (e *natsEnv) stop() {
	if e.nc != nil {
		_ = e.nc.Drain()
		deadline := time.Now().Add(10 * time.Second)
		for !e.nc.IsClosed() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		e.nc.Close()
	}
	if e.ns != nil {
		e.ns.Shutdown()
		e.ns.WaitForShutdown()
	}
}

// streamMsgs returns the number of messages stored in a stream.
func (e *natsEnv) streamMsgs(ctx context.Context, stream string) (uint64, error) {
	s, err := e.js.Stream(ctx, stream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", stream, err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s info: %w", stream, err)
	}
	return info.State.Msgs, nil
}

// apiTimeout bounds one call to the simulator.
const apiTimeout = time.Minute

// newAPIClient returns the baseline's Smartcar API v2 client, pointed at
// the simulator, with the transport the daemon's has (h2cTransport with
// http2, else the daemon's own settings: conns connections kept idle).
func newAPIClient(sim *simulator, conns int, http2 bool) *smartcar.Client {
	return smartcar.NewClient(append(smartcarOrigins(sim.origins),
		smartcar.WithUnitSystem(smartcar.Metric),
		smartcar.WithHTTPClient(baselineHTTP(conns, http2)),
	)...)
}

// newAppClient returns the baseline's Smartcar application client (API
// v3), pointed at the simulator like newAPIClient's.
func newAppClient(sim *simulator, conns int, http2 bool) (*smartcar.AppClient, error) {
	o := appOrigins(sim.origins)
	o.ClientID, o.ClientSecret, o.HTTPClient = sim.clientID, sim.clientSecret, baselineHTTP(conns, http2)
	app, err := smartcar.NewAppClient(&o)
	if err != nil {
		return nil, fmt.Errorf("app client: %w", err)
	}
	return app, nil
}

func baselineHTTP(conns int, http2 bool) *http.Client {
	tr := h2cTransport(conns)
	if !http2 {
		tr.Protocols = nil
	}
	return &http.Client{Transport: tr, Timeout: apiTimeout}
}

// smartcarOrigins point a v2 client at the simulator.
func smartcarOrigins(o smartcartest.Origins) []smartcar.ClientOption {
	return []smartcar.ClientOption{
		smartcar.WithAPIOrigin(o.API), smartcar.WithAuthOrigin(o.Auth),
		smartcar.WithConnectOrigin(o.Connect), smartcar.WithManagementOrigin(o.Management),
	}
}

// appOrigins point an application client at the simulator.
func appOrigins(o smartcartest.Origins) smartcar.AppClientOptions {
	return smartcar.AppClientOptions{IAMOrigin: o.IAM, APIOrigin: o.APIV3, ManagementOrigin: o.ManagementV3}
}

// stores are the credentials and the vehicle registry of a run.
type stores struct {
	grants credentials.Store
	reg    registry.Store
}

// openStore opens the credentials and the registry: JetStream KV buckets on
// the embedded server (the registry's mirror on, as the daemon runs it), or
// Redis under a key prefix unique to this process, whose keys the returned
// cleanup deletes.
func openStore(ctx context.Context, o options, js jetstream.JetStream) (stores, func(), error) {
	if o.Store == "kv" {
		grants, err := kvcredentials.Open(ctx, js, kvcredentials.Config{Prefix: "bench"})
		if err != nil {
			return stores{}, nil, fmt.Errorf("kv credentials: %w", err)
		}
		reg, err := kvregistry.Open(ctx, js, kvregistry.Config{Prefix: "bench"})
		if err != nil {
			return stores{}, nil, fmt.Errorf("kv registry: %w", err)
		}
		// As the daemon runs it: vehicles and holds read from memory.
		if err := reg.StartMirror(ctx, nil); err != nil {
			return stores{}, nil, fmt.Errorf("kv registry: %w", err)
		}
		return stores{grants: grants, reg: reg}, reg.Close, nil
	}
	rdb, prefix, cleanup, err := openRedis(ctx, o)
	if err != nil {
		return stores{}, nil, err
	}
	return stores{grants: rediscredentials.New(rdb, prefix, nil), reg: redisregistry.New(rdb, prefix)}, cleanup, nil
}

// openRedis connects to o.RedisURL and returns a unique key prefix, whose
// keys cleanup deletes before it closes the client.
func openRedis(ctx context.Context, o options) (*redis.Client, string, func(), error) {
	opt, err := redis.ParseURL(o.RedisURL)
	if err != nil {
		return nil, "", nil, fmt.Errorf("redis url: %w", err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, "", nil, fmt.Errorf("redis: %w", err)
	}
	prefix := fmt.Sprintf("smartcar-bench:%d:%d:", os.Getpid(), time.Now().UnixNano())
	cleanup := func() {
		deletePrefix(rdb, prefix)
		_ = rdb.Close()
	}
	return rdb, prefix, cleanup, nil
}

// deletePrefix deletes the keys under prefix.
func deletePrefix(rdb redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	it := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	var keys []string
	for it.Next(ctx) {
		keys = append(keys, it.Val())
		if len(keys) == 1000 {
			rdb.Unlink(ctx, keys...)
			keys = keys[:0]
		}
	}
	if len(keys) > 0 {
		rdb.Unlink(ctx, keys...)
	}
}

// newLogger logs to stderr at info level when verbose, else discards.
func newLogger(verbose bool) *slog.Logger {
	if !verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// scenario is what the pipeline and latency scenarios run on: the
// simulator, the daemon as internal/daemon wires it (with the embedded NATS
// server under a temporary data_dir and the -store token store), a fleet
// registered through the daemon's credentials manager and registry, and
// the Smartcar clients of the baseline loop.
type scenario struct {
	sim *simulator
	d   *daemon.Daemon
	e   *natsEnv            // the daemon's connection to its server
	api *smartcar.Client    // the baseline's API v2 client
	app *smartcar.AppClient // the baseline's API v3 client
	f   *fleet

	closers []func()
}

// openScenario starts everything for a scenario with the given fleet, the
// simulator's latency and conns workers (and connections to the
// simulator). Close stops it all.
func openScenario(ctx context.Context, o options, vehicles, users int, latency time.Duration, conns int, log *slog.Logger) (_ *scenario, err error) {
	s := &scenario{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.sim, err = startSimulator(ctx, o, vehicles, users, latency); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.sim.Close)
	dir, err := os.MkdirTemp("", "smartcar-poller-bench-")
	if err != nil {
		return nil, err
	}
	s.closers = append(s.closers, func() { _ = os.RemoveAll(dir) })
	cfg := benchConfig(o, s.sim, dir, conns)
	if s.d, err = openDaemon(ctx, cfg, s.sim, o.HTTP2, log); err != nil {
		return nil, err
	}
	s.closers = append(s.closers, s.d.Close)
	if rdb := s.d.Redis(); rdb != nil {
		s.closers = append(s.closers, func() { deletePrefix(rdb, cfg.Redis.KeyPrefix) })
	}
	s.e = &natsEnv{nc: s.d.NATS(), js: s.d.JetStream()}
	s.api = newAPIClient(s.sim, conns, o.HTTP2)
	if s.app, err = newAppClient(s.sim, conns, o.HTTP2); err != nil {
		return nil, err
	}
	if s.f, err = registerFleet(ctx, s.sim, s.d.Tokens(), s.d.Registry(), vehicles); err != nil {
		return nil, err
	}
	return s, nil
}

// Close stops what openScenario started, in reverse order.
func (s *scenario) Close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// inOrder runs the baseline and the measured part: the baseline first in odd
// runs, last in even ones, so neither always pays for a cold start.
func inOrder(runIndex int, baseline, measured func() error) error {
	order := []func() error{baseline, measured}
	if runIndex%2 == 0 {
		order[0], order[1] = order[1], order[0]
	}
	for _, m := range order {
		if err := m(); err != nil {
			return err
		}
	}
	return nil
}
