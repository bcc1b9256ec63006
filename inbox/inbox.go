package inbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/backoffn"
	"github.com/smartcar-poller/smartcar-poller/internal/natsname"
)

// Defaults for the zero fields of Config.
const (
	DefaultPrefix        = "smartcar"
	DefaultMaxAge        = 7 * 24 * time.Hour
	DefaultMaxMessages   = 1_000_000
	DefaultDuplicates    = 20 * time.Minute // above Smartcar's retries of one delivery (25 s, 50 s, 100 s)
	DefaultAckWait       = time.Minute
	DefaultShutdownGrace = 10 * time.Second
	DefaultFetchWait     = 2 * time.Second
)

// Config configures an Inbox. Zero fields take the defaults above.
type Config struct {
	// Prefix names the subject <prefix>.webhooks, the stream
	// <PREFIX>_WEBHOOKS and the consumer <PREFIX>_WEBHOOK_PROCESSORS;
	// 1 to 128 characters of [A-Za-z0-9_-].
	Prefix string
	// Replicas of the stream (default 1).
	Replicas int
	// Storage of the stream; the zero value is file storage.
	Storage jetstream.StorageType
	// MaxAge is how long a delivery may wait for a successful processing
	// before the stream drops it (default 7 days).
	MaxAge time.Duration
	// MaxMessages bounds the deliveries waiting; when it is reached Put
	// fails (the sender retries later) and nothing stored is dropped
	// (default 1,000,000).
	MaxMessages int64
	// Duplicates is the stream's deduplication window: a delivery put again
	// with the same id within it is not stored twice (default 20 min).
	Duplicates time.Duration
	// AckWait is how long a delivery may stay in processing before
	// JetStream hands it to a handler again (default 1 min); a handler's
	// context ends at half of it, so that does not happen to a live one.
	AckWait time.Duration
	// Backoff gives the delay before the next attempt after the attempt-th
	// failed one (default DefaultBackoff).
	Backoff func(attempt int) time.Duration
	// ShutdownGrace is how long running handlers may go on after Consume's
	// context is cancelled before their context is cancelled and their
	// deliveries are handed back (default 10 s).
	ShutdownGrace time.Duration
	// FetchWait is how long one pull waits for a delivery (default 2 s);
	// after Consume's context is cancelled, pulls already sent end within it.
	FetchWait time.Duration
	// Logger receives the consumer's logs; nil discards them.
	Logger *slog.Logger
}

func (cfg Config) withDefaults() (Config, error) {
	cfg.Prefix = cmp.Or(cfg.Prefix, DefaultPrefix)
	if err := natsname.CheckPrefix(cfg.Prefix); err != nil {
		return cfg, err
	}
	cfg.Replicas = cmp.Or(cfg.Replicas, 1)
	cfg.MaxAge = cmp.Or(cfg.MaxAge, DefaultMaxAge)
	cfg.MaxMessages = cmp.Or(cfg.MaxMessages, DefaultMaxMessages)
	cfg.Duplicates = cmp.Or(cfg.Duplicates, DefaultDuplicates)
	cfg.AckWait = cmp.Or(cfg.AckWait, DefaultAckWait)
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	cfg.ShutdownGrace = cmp.Or(cfg.ShutdownGrace, DefaultShutdownGrace)
	cfg.FetchWait = cmp.Or(cfg.FetchWait, DefaultFetchWait)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case cfg.Replicas < 1:
		return cfg, fmt.Errorf("replicas %d: want at least 1", cfg.Replicas)
	case cfg.MaxAge < 0, cfg.MaxMessages < 0, cfg.Duplicates < 0, cfg.ShutdownGrace < 0:
		return cfg, errors.New("negative max age, max messages, duplicates window or shutdown grace")
	case cfg.Duplicates > cfg.MaxAge:
		return cfg, fmt.Errorf("duplicates window %s above max age %s", cfg.Duplicates, cfg.MaxAge)
	case cfg.AckWait < time.Second:
		return cfg, fmt.Errorf("ack wait %s: want at least 1s", cfg.AckWait)
	case cfg.FetchWait < 100*time.Millisecond:
		return cfg, fmt.Errorf("fetch wait %s: want at least 100ms", cfg.FetchWait)
	}
	return cfg, nil
}

// StreamName returns the inbox stream's name for prefix: the prefix
// upper-cased, '-' replaced by '_', then "_WEBHOOKS".
func StreamName(prefix string) string { return upper(prefix) + "_WEBHOOKS" }

// ConsumerName returns the durable consumer's name for prefix.
func ConsumerName(prefix string) string { return upper(prefix) + "_WEBHOOK_PROCESSORS" }

// Subject returns the subject deliveries are stored on.
func Subject(prefix string) string { return cmp.Or(prefix, DefaultPrefix) + ".webhooks" }

func upper(prefix string) string {
	return strings.ToUpper(strings.ReplaceAll(cmp.Or(prefix, DefaultPrefix), "-", "_"))
}

// Bounds of DefaultBackoff.
const (
	minBackoff = time.Second
	maxBackoff = 5 * time.Minute
)

// DefaultBackoff doubles from 1 s per failed attempt up to 5 min, with
// ±25 % jitter: the attempt-th delay of a cenkalti/backoff exponential
// backoff, kept within [1 s, 5 min].
func DefaultBackoff(attempt int) time.Duration {
	return backoffn.Delay(attempt, minBackoff, maxBackoff)
}

// Inbox is the stream of stored deliveries and its durable consumer.
type Inbox struct {
	js       jetstream.JetStream
	cfg      Config
	stream   string
	subject  string
	consumer jetstream.Consumer
	st       stats
}

// New creates or updates the stream <PREFIX>_WEBHOOKS (work-queue retention,
// subject <prefix>.webhooks, discarding new deliveries when full) and its
// durable pull consumer <PREFIX>_WEBHOOK_PROCESSORS (explicit ack) and
// returns an Inbox using them. It is safe to call from every replica.
func New(ctx context.Context, js jetstream.JetStream, cfg Config) (*Inbox, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("inbox config: %w", err)
	}
	b := &Inbox{js: js, cfg: cfg, stream: StreamName(cfg.Prefix), subject: Subject(cfg.Prefix)}
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        b.stream,
		Description: "smartcar-poller webhook deliveries awaiting processing",
		Subjects:    []string{b.subject},
		Retention:   jetstream.WorkQueuePolicy,
		Discard:     jetstream.DiscardNew,
		MaxAge:      cfg.MaxAge,
		MaxMsgs:     cfg.MaxMessages,
		Duplicates:  cfg.Duplicates,
		Storage:     cfg.Storage,
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", b.stream, err)
	}
	name := ConsumerName(cfg.Prefix)
	b.consumer, err = js.CreateOrUpdateConsumer(ctx, b.stream, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "smartcar-poller webhook processing",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: -1,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s: %w", name, err)
	}
	return b, nil
}

// Stream returns the name of the inbox stream.
func (b *Inbox) Stream() string { return b.stream }

// Put stores a delivery's body under id and returns once JetStream has it:
// from then on it is processed even if this process dies. duplicate is true
// when the stream already held a delivery with that id (within the
// duplicate window): it is not stored twice. An error means it is not
// stored (the stream is full, JetStream is unavailable): the sender must
// retry.
func (b *Inbox) Put(ctx context.Context, id string, body []byte) (duplicate bool, err error) {
	if id == "" {
		return false, errors.New("put delivery: empty id")
	}
	m := &nats.Msg{Subject: b.subject, Data: body, Header: nats.Header{}}
	ack, err := b.js.PublishMsg(ctx, m, jetstream.WithMsgID(id), jetstream.WithExpectStream(b.stream))
	if err != nil {
		b.st.putErrors.Add(1)
		return false, fmt.Errorf("put delivery %s: %w", id, err)
	}
	if ack.Duplicate {
		b.st.duplicates.Add(1)
		return true, nil
	}
	b.st.stored.Add(1)
	return false, nil
}

// Depth is a snapshot of the inbox's backlog, shared by all replicas.
type Depth struct {
	// Pending is the number of deliveries not yet handed to a handler.
	Pending uint64
	// InProgress is the number handed out and not yet done, those waiting
	// for a retry included.
	InProgress int
}

// Depth reads the consumer's backlog from the server.
func (b *Inbox) Depth(ctx context.Context) (Depth, error) {
	info, err := b.consumer.Info(ctx)
	if err != nil {
		return Depth{}, fmt.Errorf("consumer info: %w", err)
	}
	return Depth{Pending: info.NumPending, InProgress: info.NumAckPending}, nil
}
