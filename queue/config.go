package queue

import (
	"cmp"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/backoffn"
	"github.com/smartcar-poller/smartcar-poller/internal/natsname"
)

// Defaults for the zero fields of Config.
const (
	DefaultPrefix        = "smartcar"
	DefaultAckWait       = 6 * time.Minute // above Smartcar's 300 s request limit
	DefaultDuplicates    = 10 * time.Minute
	DefaultMaxPending    = 4096
	DefaultShutdownGrace = 20 * time.Second
	DefaultFetchWait     = 2 * time.Second
	DefaultMaxPanics     = 3
)

// Config configures a Queue. Zero fields take the defaults above.
type Config struct {
	// Prefix names the subjects (<prefix>.jobs.<vehicle_id>), the stream
	// <PREFIX>_JOBS and the consumer <PREFIX>_WORKERS; 1 to 128 characters
	// of [A-Za-z0-9_-].
	Prefix string
	// Replicas of the stream (default 1).
	Replicas int
	// Storage of the stream; the zero value is file storage.
	Storage jetstream.StorageType
	// AckWait is how long a delivered job may go without an ack or a
	// progress signal before JetStream redelivers it. Consume sends
	// InProgress every AckWait/3 while a handler runs.
	AckWait time.Duration
	// MaxDeliver caps deliveries per job; 0 means unlimited (-1), because
	// snoozes count as deliveries too. Give up in the handler instead, using
	// Delivery.Failures.
	MaxDeliver int
	// MaxPanics is how many times a job's handler may panic before the job
	// is terminated (default 3). Each panic's stack is logged, and counts as
	// a failure.
	MaxPanics int
	// MaxAckPending caps the jobs delivered but not yet acked across all
	// replicas, snoozed jobs included; 0 means unlimited (-1). When set it
	// must be at least the concurrency given to Consume.
	MaxAckPending int
	// Backoff gives the redelivery delay after a job's failures-th failure
	// (1-based; snoozes do not count). Default: DefaultBackoff.
	Backoff func(failures int) time.Duration
	// Duplicates is the stream's deduplication window (default 10 min).
	Duplicates time.Duration
	// MaxPending is the async publish window of Enqueue: at most this many
	// publishes wait for their ack at once (default 4096).
	MaxPending int
	// ShutdownGrace is how long in-flight handlers may run on after
	// Consume's context is cancelled before their context is cancelled and
	// their jobs are handed back (default 20 s).
	ShutdownGrace time.Duration
	// FetchWait is how long one pull request waits for jobs (default 2 s).
	// After Consume's context is cancelled, pulls already sent end within it.
	FetchWait time.Duration
	// Logger receives the consumer's logs; nil discards them.
	Logger *slog.Logger
}

// withDefaults returns cfg with zero fields set to defaults, or an error for
// values that cannot work.
func (cfg Config) withDefaults() (Config, error) {
	cfg.Prefix = cmp.Or(cfg.Prefix, DefaultPrefix)
	if err := natsname.CheckPrefix(cfg.Prefix); err != nil {
		return cfg, err
	}
	cfg.Replicas = cmp.Or(cfg.Replicas, 1)
	cfg.AckWait = cmp.Or(cfg.AckWait, DefaultAckWait)
	cfg.MaxDeliver = cmp.Or(cfg.MaxDeliver, -1)
	cfg.MaxPanics = cmp.Or(cfg.MaxPanics, DefaultMaxPanics)
	cfg.MaxAckPending = cmp.Or(cfg.MaxAckPending, -1)
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	cfg.Duplicates = cmp.Or(cfg.Duplicates, DefaultDuplicates)
	cfg.MaxPending = cmp.Or(cfg.MaxPending, DefaultMaxPending)
	cfg.ShutdownGrace = cmp.Or(cfg.ShutdownGrace, DefaultShutdownGrace)
	cfg.FetchWait = cmp.Or(cfg.FetchWait, DefaultFetchWait)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.Replicas < 1:
		return cfg, fmt.Errorf("replicas %d: want at least 1", cfg.Replicas)
	case cfg.AckWait < time.Second:
		return cfg, fmt.Errorf("ack wait %s: want at least 1s", cfg.AckWait)
	case cfg.MaxPanics < 1:
		return cfg, fmt.Errorf("max panics %d: want at least 1", cfg.MaxPanics)
	case cfg.MaxPending < 1:
		return cfg, fmt.Errorf("max pending %d: want at least 1", cfg.MaxPending)
	case cfg.ShutdownGrace < 0:
		return cfg, fmt.Errorf("shutdown grace %s: want >= 0", cfg.ShutdownGrace)
	case cfg.FetchWait < 100*time.Millisecond:
		return cfg, fmt.Errorf("fetch wait %s: want at least 100ms", cfg.FetchWait)
	case cfg.Duplicates < 0:
		return cfg, fmt.Errorf("duplicates window %s: want >= 0", cfg.Duplicates)
	}
	return cfg, nil
}

// StreamName returns the job stream's name for prefix: the prefix upper-cased,
// '-' replaced by '_', then "_JOBS".
func StreamName(prefix string) string { return upper(prefix) + "_JOBS" }

// ConsumerName returns the durable consumer's name for prefix.
func ConsumerName(prefix string) string { return upper(prefix) + "_WORKERS" }

// Subject returns the subject a vehicle's jobs are published on.
func Subject(prefix, vehicleID string) string { return prefix + ".jobs." + vehicleID }

func upper(prefix string) string {
	return strings.ToUpper(strings.ReplaceAll(cmp.Or(prefix, DefaultPrefix), "-", "_"))
}

// Bounds of DefaultBackoff.
const (
	minBackoff = 5 * time.Second
	maxBackoff = 10 * time.Minute
)

// DefaultBackoff doubles from 5 s per failure up to 10 min, with ±25 %
// jitter, and never leaves [5 s, 10 min]: the failures-th delay of a
// cenkalti/backoff exponential backoff. It depends on the count alone, not
// on state, because the count is shared by the replicas.
func DefaultBackoff(failures int) time.Duration {
	return backoffn.Delay(failures, minBackoff, maxBackoff)
}
