package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/kvcredentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/rediscredentials"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/inbox"
	"github.com/smartcar-poller/smartcar-poller/internal/datadir"
	"github.com/smartcar-poller/smartcar-poller/internal/kvlock"
	"github.com/smartcar-poller/smartcar-poller/limiter"
	"github.com/smartcar-poller/smartcar-poller/marks"
	"github.com/smartcar-poller/smartcar-poller/onboard"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// App is the wired daemon: connections, stores and the running parts.
type App struct {
	cfg *config.Config
	log *slog.Logger

	ns  *natsserver.Server // embedded NATS, nil when nats.url is set or the daemon's is used
	nc  *nats.Conn
	js  jetstream.JetStream
	rdb redis.UniversalClient // nil when the embedded stores are used
	kv  *kvregistry.Store     // the embedded registry when its mirror runs

	// dirLock is data_dir's lock while this process runs the embedded NATS server.
	dirLock *datadir.Lock
	// replica is the one-replica lock of the embedded token store on an external NATS.
	replica *kvlock.Lock

	natsClosed chan struct{} // closed by the NATS client once the connection is closed

	keys   *credentials.Keyring // encrypts the stored token pairs; nil: plaintext (tokens.allow_plaintext)
	grants credentials.Store    // v2 grants
	tokens *credentials.Manager
	reg    registry.Store // the vehicle registry
	marks  onboard.Marks  // Connect states and webhook event ids
	queue  *queue.Queue
	pub    *events.Publisher
	api    *smartcar.Client    // API v2, and the user and vehicles of a grant at Connect
	app    *smartcar.AppClient // API v3 as the application: one token for every worker of the process
	auth   *smartcar.AuthClient
	worker *worker.Worker
	polls  *registry.PollRecorder // last-poll times, written in the background
	sched  *scheduler.Scheduler

	onboard *onboard.Handler // nil unless connect or webhooks are enabled
	inbox   *inbox.Inbox     // webhook deliveries awaiting processing; nil unless the daemon takes webhooks
	metrics *observer

	ready func(context.Context) error
}

// openOptions adjust Open for the demo and tests.
type openOptions struct {
	// clientOpts are extra smartcar client options (the demo points them at the simulator).
	clientOpts []smartcar.ClientOption
	authOpts   []smartcar.AuthOption
	// appOrigins are the application client's origins (IAM, API v3,
	// Management v3; empty ones come from the SMARTCAR_* variables) and,
	// when set, its HTTP client.
	appOrigins smartcar.AppClientOptions
	// connectOnly opens only what connect needs (no worker, no scheduler):
	// a command, not a daemon.
	connectOnly bool
	// storeOnly (with connectOnly) opens NATS and the token store only, and
	// no Smartcar client: for commands that never call Smartcar (vehicles,
	// tokens rotate-key), which need no credentials.
	storeOnly bool
	// command names this process in data_dir's holder record (default "run").
	command string
	// lockWait bounds the wait for data_dir held by a command (default dataDirWait).
	lockWait time.Duration
	// replicaLock sets the one-replica lock's TTL and wait (tests).
	replicaLock kvlock.Config
}

// open connects to (or starts) NATS and the token store and builds every part.
func open(ctx context.Context, cfg *config.Config, log *slog.Logger, o openOptions) (_ *App, err error) {
	a := &App{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	// Before any connection: a missing key is a configuration error.
	if a.keys, err = tokenKeyring(cfg, log); err != nil {
		return nil, err
	}
	if err := a.openNATS(ctx, o); err != nil {
		return nil, err
	}
	if err := a.lockReplica(ctx, o); err != nil {
		return nil, err
	}
	if err := a.openStore(ctx, !o.connectOnly); err != nil {
		return nil, err
	}
	if o.storeOnly {
		return a, nil
	}
	prefix := cfg.NATS.SubjectPrefix
	replicas := max(cfg.NATS.Replicas, 1)
	if err := events.EnsureStream(ctx, a.js, events.StreamConfig{
		Prefix: prefix, MaxAge: cfg.NATS.EventsMaxAge, Replicas: replicas, Storage: jetstream.FileStorage,
	}); err != nil {
		return nil, fmt.Errorf("events stream: %w", err)
	}
	if a.pub, err = events.NewPublisher(a.js, events.PublisherConfig{Prefix: prefix}); err != nil {
		return nil, fmt.Errorf("events publisher: %w", err)
	}
	if a.queue, err = queue.New(ctx, a.js, queue.Config{
		Prefix:        prefix,
		Replicas:      replicas,
		Storage:       jetstream.FileStorage,
		AckWait:       cfg.Workers.AckWait,
		ShutdownGrace: cfg.Workers.ShutdownGrace,
		Logger:        log,
	}); err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}

	hc := &http.Client{Transport: smartcarTransport(cfg.Workers.Concurrency), Timeout: cfg.Smartcar.Timeout}
	clientOpts := append([]smartcar.ClientOption{
		smartcar.WithUnitSystem(smartcar.UnitSystem(cfg.Smartcar.UnitSystem)),
		smartcar.WithHTTPClient(hc),
	}, o.clientOpts...)
	a.api = smartcar.NewClient(clientOpts...)
	if a.app, err = appClient(cfg, o.appOrigins, hc); err != nil {
		return nil, err
	}
	if a.auth, err = authClient(cfg, append([]smartcar.AuthOption{smartcar.WithClient(a.api)}, o.authOpts...)...); err != nil {
		return nil, err
	}
	a.tokens = credentials.NewManager(a.grants, a.auth, credentials.ManagerConfig{OnReauth: a.grantRejected}, log)
	a.ready = a.readiness
	if !o.connectOnly {
		if err := a.openInbox(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Connect.Enabled || cfg.Webhooks.Enabled {
		if a.onboard, err = a.onboarding(); err != nil {
			return nil, err
		}
	}
	if o.connectOnly {
		return a, nil
	}

	a.polls = registry.NewPollRecorder(a.reg, 0, log)
	lim, err := a.rateLimiter()
	if err != nil {
		return nil, err
	}
	a.metrics = newObserver(cfg)
	policies, err := adaptivePolicies(cfg)
	if err != nil {
		return nil, err
	}
	if a.worker, err = worker.New(worker.Config{
		Policies:    policies,
		UnitSystem:  smartcar.UnitSystem(cfg.Smartcar.UnitSystem),
		MaxAttempts: cfg.Workers.MaxAttempts,
		// The lease must outlive a call to Smartcar: calls stop at 90% of it.
		LeaseTTL: max(cfg.Smartcar.Timeout*5/4, 10*time.Second),
	}, log, worker.Deps{
		Tokens:    a.tokens, // API v2 jobs
		API:       a.api,
		V3:        appSignals{a.app}, // API v3 jobs
		Latest:    a.pub,
		Registry:  a.polls.Recording(a.reg),
		Publisher: a.pub,
		Changes:   a.pub,
		Enqueuer:  a.queue,
		Limiter:   lim,
		Observer:  a.metrics,
		Plans:     a.reg, // billed calls, adaptive schedules' plans
	}); err != nil {
		return nil, err
	}
	if a.sched, err = scheduler.New(scheduler.Config{Schedules: schedules(cfg), Plans: a.reg}, log, a.schedulerVehicles(), a.queue); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return a, nil
}

// smartcarTransport is the HTTP transport to Smartcar. Over HTTPS it
// negotiates HTTP/2, where the calls in flight share a few connections; when
// the origin speaks only HTTP/1.1 each call in flight needs a connection, so
// as many as there are workers are kept open (http.DefaultTransport keeps 2
// idle per host and would open and close one for most calls).
func smartcarTransport(concurrency int) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(concurrency, 2)
	tr.MaxIdleConns = max(concurrency, tr.MaxIdleConns)
	return tr
}

// rateLimiter is the app-wide budget smartcar.rate_limit: the per-process
// limiter, then (with Redis) the GCRA bucket all replicas share. The embedded
// KV token store means a single replica, so the local limiter is the budget.
func (a *App) rateLimiter() (worker.Limiter, error) {
	rl := a.cfg.Smartcar.RateLimit
	if rl.RequestsPerMinute <= 0 {
		return rate.NewLimiter(rate.Inf, 1), nil
	}
	local := rate.NewLimiter(rate.Limit(rl.RequestsPerMinute/60), max(rl.Burst, 1))
	if a.rdb == nil {
		return local, nil
	}
	shared, err := limiter.NewShared(a.rdb, a.cfg.Redis.KeyPrefix, limiter.Limit{PerMinute: rl.RequestsPerMinute, Burst: max(rl.Burst, 1)})
	if err != nil {
		return nil, fmt.Errorf("rate limiter: %w", err)
	}
	return limiter.Chain{local, shared}, nil
}

// The worker takes a poll's lease, hold and vehicle in one StartPoll (2
// Redis round trips per poll with the release, none on the embedded store)
// and the grant's token from the manager's cache; onboarding stores grants,
// registers vehicles and keeps its marks. Every backend implements these.
var (
	_ worker.Registry  = registry.Store(nil)
	_ worker.Tokens    = (*credentials.Manager)(nil)
	_ onboard.Grants   = (*credentials.Manager)(nil)
	_ onboard.Registry = registry.Store(nil)
	_ onboard.Marks    = (*marks.Redis)(nil)
	_ onboard.Marks    = (*marks.KV)(nil)
)

// grantRejected is the credentials manager's OnReauth: Smartcar rejected
// the grant's refresh token, so none of its vehicles is polled until the
// user reconnects.
func (a *App) grantRejected(ctx context.Context, grantID, reason string) error {
	n, err := registry.SetGrantStatus(ctx, a.reg, grantID, events.StatusNeedsReauth, reason)
	a.log.WarnContext(ctx, "vehicles of a rejected grant need reauthentication", "grant_id", grantID, "vehicles", n)
	return err
}

// appClient is the Smartcar application client of cfg (API v3): one per
// process, so its workers share one application token, which it renews
// before it expires and once on a 401. origins holds the origins (empty:
// from the SMARTCAR_* variables) and may hold the HTTP client; else hc
// sends its requests.
func appClient(cfg *config.Config, origins smartcar.AppClientOptions, hc *http.Client) (*smartcar.AppClient, error) {
	o := origins
	o.ClientID, o.ClientSecret = cfg.Smartcar.ClientID, cfg.Smartcar.ClientSecret.Reveal()
	if o.HTTPClient == nil {
		o.HTTPClient = hc
	}
	app, err := smartcar.NewAppClient(&o)
	if err != nil {
		return nil, fmt.Errorf("smartcar app client: %w", err)
	}
	return app, nil
}

// authClient is the Smartcar auth client of cfg. A redirect URI is needed
// only by connect --code and /connect (config requires it with
// connect.enabled).
func authClient(cfg *config.Config, extra ...smartcar.AuthOption) (*smartcar.AuthClient, error) {
	a, err := smartcar.NewAuthClient(append([]smartcar.AuthOption{
		smartcar.WithClientID(cfg.Smartcar.ClientID),
		smartcar.WithClientSecret(cfg.Smartcar.ClientSecret.Reveal()),
		smartcar.WithRedirectURI(cfg.Smartcar.RedirectURI),
		smartcar.WithoutRedirectURI(),
		smartcar.WithMode(string(cfg.Smartcar.Mode)),
	}, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("smartcar auth client: %w", err)
	}
	return a, nil
}

func (a *App) openNATS(ctx context.Context, o openOptions) error {
	url := a.cfg.NATS.URL
	secOpts, err := natsSecurityOptions(a.cfg.NATS)
	if err != nil {
		return err
	}
	if url == "" {
		if url, secOpts, err = a.embeddedNATS(ctx, o); err != nil {
			return err
		}
	}
	a.natsClosed = make(chan struct{})
	nc, err := nats.Connect(url, append(secOpts,
		nats.Name("smartcar-poller"),
		nats.ClosedHandler(func(*nats.Conn) { close(a.natsClosed) }),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				a.log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { a.log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }),
	)...)
	if err != nil {
		return fmt.Errorf("connect nats: %w", err)
	}
	a.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	a.js = js
	return nil
}

// openStore opens the credentials (token pairs encrypted at rest with
// a.keys), the vehicle registry and the marks. With the embedded ones and
// daemon set (a process that polls: the data_dir lock or the one-replica
// lock keeps any other out), the registry keeps vehicles and holds in
// memory and its poll leases in the process.
func (a *App) openStore(ctx context.Context, daemon bool) error {
	if a.cfg.Redis.Mode() == config.RedisEmbedded {
		// On a NATS cluster the stores are replicated like the streams.
		prefix, replicas := a.cfg.NATS.SubjectPrefix, max(a.cfg.NATS.Replicas, 1)
		grants, err := kvcredentials.Open(ctx, a.js, kvcredentials.Config{Prefix: prefix, Replicas: replicas, Keyring: a.keys})
		if err != nil {
			return fmt.Errorf("embedded token store: %w", err)
		}
		reg, err := kvregistry.Open(ctx, a.js, kvregistry.Config{Prefix: prefix, Replicas: replicas})
		if err != nil {
			return fmt.Errorf("embedded token store: %w", err)
		}
		if a.marks, err = marks.NewKV(a.js, marks.KVConfig{Prefix: prefix, Replicas: replicas}); err != nil {
			return fmt.Errorf("embedded token store: %w", err)
		}
		a.grants, a.reg = grants, reg
		if !daemon {
			return nil
		}
		// The daemon reads vehicles and holds on every poll and every tick:
		// from memory, not a round trip each; and it is the only process
		// polling, so a lease in the bucket would guard against nobody.
		if err := reg.StartMirror(ctx, a.log); err != nil {
			return fmt.Errorf("embedded token store: %w", err)
		}
		a.kv = reg
		a.reg = registry.LocalLeases(reg)
		return nil
	}
	var err error
	if a.rdb, err = redisClient(a.cfg.Redis); err != nil {
		return err
	}
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis (%s): %w", a.cfg.Redis.Mode(), err)
	}
	prefix := a.cfg.Redis.KeyPrefix
	a.grants = rediscredentials.New(a.rdb, prefix, a.keys)
	a.reg = redisregistry.New(a.rdb, prefix)
	a.marks = marks.NewRedis(a.rdb, prefix)
	return nil
}

// readinessTimeout bounds the server round trips of one readiness check.
const readinessTimeout = 2 * time.Second

// readiness checks NATS, the token store and, in the daemon, the job
// consumer: it must be pulling (not before Run started it, not after it
// stopped) and its durable consumer must answer (a deleted one does not,
// and nats-server 2.9 gives its pulls no error).
func (a *App) readiness(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readinessTimeout)
	defer cancel()
	if a.nc == nil || !a.nc.IsConnected() {
		return errors.New("nats not connected")
	}
	if a.rdb != nil {
		if err := a.rdb.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	if a.worker == nil {
		return nil // connect, vehicles, tail: nothing consumes
	}
	if !a.queue.Stats().Consuming {
		return errors.New("job consumer not running")
	}
	if _, err := a.queue.Depth(ctx); err != nil {
		return fmt.Errorf("job consumer: %w", err)
	}
	if a.inbox != nil && !a.inbox.Stats().Consuming {
		return errors.New("webhook consumer not running")
	}
	return nil
}

// Run runs the scheduler, the workers, the webhook consumer (with
// webhooks.enabled) and the HTTP endpoints until ctx is cancelled, then
// shuts them down in order: scheduling stops, the consumers stop pulling
// and in-flight jobs and webhook deliveries finish or go back to their
// streams.
func (a *App) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.sched.Run(gctx) })
	g.Go(func() error { return a.queue.Consume(gctx, a.cfg.Workers.Concurrency, a.worker.Handle) })
	g.Go(func() error { return a.polls.Run(gctx) })
	if a.inbox != nil {
		g.Go(func() error { return a.consumeWebhooks(gctx) })
	}
	if a.replica != nil {
		g.Go(func() error {
			select {
			case <-a.replica.Lost():
				return fmt.Errorf("embedded token store: %w", a.replica.Err())
			case <-gctx.Done():
				return nil
			}
		})
	}
	httpAddr := ""
	if a.cfg.HTTP.Listen != "" {
		srv, ln, err := a.httpServer()
		if err != nil {
			return err
		}
		httpAddr = ln.Addr().String() // the port, when http.listen asked for any
		g.Go(func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("http: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
	}
	a.log.Info("smartcar-poller running",
		"schedules", len(a.cfg.Schedules), "concurrency", a.cfg.Workers.Concurrency, "http", httpAddr)
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

func (a *App) httpServer() (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", a.cfg.HTTP.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("http listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.ready(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", a.metricsHandler())
	a.routeOnboarding(mux)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln, nil
}

// Close waits for token refreshes in flight, drains NATS (flushing pending
// publishes), closes Redis and stops the embedded server.
func (a *App) Close() {
	if a.dirLock != nil {
		// Commands arriving from now on wait for the lock, then open the store themselves.
		if err := a.dirLock.Unpublish(); err != nil {
			a.log.Warn("data_dir holder record", "err", err)
		}
	}
	if a.tokens != nil {
		// A refresh in flight must get to store the new pair: it is the only valid one.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		if err := a.tokens.Close(ctx); err != nil {
			a.log.Warn("token refreshes still in flight at shutdown", "err", err)
		}
		cancel()
	}
	if a.polls != nil {
		// Handlers that finished after the recorder's last round.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.polls.Flush(ctx); err != nil {
			a.log.Warn("last polls not recorded at shutdown", "err", err)
		}
		cancel()
	}
	if a.kv != nil {
		a.kv.Close() // the registry mirror's watches, before the connection drains
	}
	if a.replica != nil {
		// Deleting the key lets the next replica start at once.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.replica.Release(ctx); err != nil {
			a.log.Warn("replica lock", "err", err)
		}
		cancel()
	}
	if a.nc != nil {
		if err := a.nc.Drain(); err != nil {
			a.nc.Close()
		}
		select {
		case <-a.natsClosed:
		case <-time.After(10 * time.Second):
			a.nc.Close()
		}
	}
	if a.rdb != nil {
		_ = a.rdb.Close()
	}
	if a.ns != nil {
		a.ns.Shutdown()
		a.ns.WaitForShutdown()
	}
	if a.dirLock != nil {
		if err := a.dirLock.Unlock(); err != nil {
			a.log.Warn("data_dir lock", "err", err)
		}
	}
}

// schedules maps the config's schedules to the scheduler's: on API v2 a
// job carries the schedule's paths, on v3 its signals.
func schedules(cfg *config.Config) []scheduler.Schedule {
	out := make([]scheduler.Schedule, 0, len(cfg.Schedules))
	for _, s := range cfg.Schedules {
		var paths, signals []string
		if cfg.Smartcar.API == config.APIV2 {
			paths = s.V2Paths()
		} else {
			signals = s.V3Signals()
		}
		out = append(out, scheduler.Schedule{
			Name:    s.Name,
			Cron:    s.Cron,
			Paths:   paths,
			Signals: signals,
			Jitter:  s.Jitter,
			Emit:    string(s.Emit),
			// When: polling is the fallback for vehicles that send webhooks.
			WebhooksSilentFor: s.When.WebhooksSilentFor,
			Vehicles: scheduler.Selector{
				All: s.Vehicles.All, IDs: s.Vehicles.IDs, Tags: s.Vehicles.Tags,
			},
			Adaptive: s.Adaptive != nil,
		})
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
