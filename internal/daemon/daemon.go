package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/inbox"
	"github.com/smartcar-poller/smartcar-poller/internal/datadir"
	"github.com/smartcar-poller/smartcar-poller/internal/kvlock"
	"github.com/smartcar-poller/smartcar-poller/onboard"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// Daemon is the wired daemon: connections, stores and the running parts.
type Daemon struct {
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
}

// Options adjust Open for the commands, the demo, tests and benchmarks.
type Options struct {
	// ClientOpts are extra smartcar client options (the demo points them at the simulator).
	ClientOpts []smartcar.ClientOption
	AuthOpts   []smartcar.AuthOption
	// AppOrigins are the application client's origins (IAM, API v3,
	// Management v3; empty ones come from the SMARTCAR_* variables) and,
	// when set, its HTTP client.
	AppOrigins smartcar.AppClientOptions
	// Transport, when set, replaces the HTTP transport to Smartcar (see
	// smartcarTransport): the benchmarks speak cleartext HTTP/2 to the
	// simulator.
	Transport http.RoundTripper
	// ConnectOnly opens only what connect needs (no worker, no scheduler):
	// a command, not a daemon.
	ConnectOnly bool
	// StoreOnly (with ConnectOnly) opens NATS and the token store only, and
	// no Smartcar client: for commands that never call Smartcar (vehicles,
	// tokens rotate-key), which need no credentials.
	StoreOnly bool
	// Command names this process in data_dir's holder record (default "run").
	Command string
	// LockWait bounds the wait for data_dir held by a command (default dataDirWait).
	LockWait time.Duration
	// ReplicaLock sets the one-replica lock's TTL and wait (tests).
	ReplicaLock kvlock.Config
	// Observer receives the worker's calls, data ages and limiter waits
	// (the metrics); nil: none.
	Observer worker.Observer
}

// Open connects to (or starts) NATS and the token store and builds every
// part. Close releases what it opened, also when Run was never called.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, o Options) (_ *Daemon, err error) {
	a := &Daemon{cfg: cfg, log: log}
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
	if err := a.openStore(ctx, !o.ConnectOnly); err != nil {
		return nil, err
	}
	if o.StoreOnly {
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

	var tr http.RoundTripper = smartcarTransport(cfg.Workers.Concurrency)
	if o.Transport != nil {
		tr = o.Transport
	}
	hc := &http.Client{Transport: tr, Timeout: cfg.Smartcar.Timeout}
	clientOpts := append([]smartcar.ClientOption{
		smartcar.WithUnitSystem(smartcar.UnitSystem(cfg.Smartcar.UnitSystem)),
		smartcar.WithHTTPClient(hc),
	}, o.ClientOpts...)
	a.api = smartcar.NewClient(clientOpts...)
	lim, err := a.rateLimiter()
	if err != nil {
		return nil, err
	}
	appOrigins := o.AppOrigins
	appOrigins.BeforeRetry = lim.Wait // a 401's retry is a call of its own: under the same budget
	if a.app, err = appClient(cfg, appOrigins, hc); err != nil {
		return nil, err
	}
	if a.auth, err = authClient(cfg, append([]smartcar.AuthOption{smartcar.WithClient(a.api)}, o.AuthOpts...)...); err != nil {
		return nil, err
	}
	a.tokens = credentials.NewManager(a.grants, a.auth, credentials.ManagerConfig{OnReauth: a.grantRejected}, log)
	if !o.ConnectOnly {
		if err := a.openInbox(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Connect.Enabled || cfg.Webhooks.Enabled {
		if a.onboard, err = a.onboarding(); err != nil {
			return nil, err
		}
	}
	if o.ConnectOnly {
		return a, nil
	}

	a.polls = registry.NewPollRecorder(a.reg, 0, log)
	policies, err := AdaptivePolicies(cfg)
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
		Observer:  o.Observer,
		Plans:     a.reg, // billed calls, adaptive schedules' plans
	}); err != nil {
		return nil, err
	}
	if a.sched, err = scheduler.New(scheduler.Config{Schedules: Schedules(cfg), Plans: a.reg}, log, a.schedulerVehicles(), a.queue); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return a, nil
}
