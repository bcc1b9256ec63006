package queue

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// Queue is the job stream and its durable pull consumer.
type Queue struct {
	js       jetstream.JetStream
	cfg      Config
	stream   string
	consumer jetstream.Consumer
	fails    failures
	st       stats
}

// New creates or updates the stream <PREFIX>_JOBS (work-queue retention,
// subjects <prefix>.jobs.>), the durable pull consumer <PREFIX>_WORKERS
// (explicit ack) and the KV bucket <PREFIX>_JOB_FAILURES (failed deliveries
// per job) and returns a Queue using them.
func New(ctx context.Context, js jetstream.JetStream, cfg Config) (*Queue, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("queue config: %w", err)
	}
	q := &Queue{js: js, cfg: cfg, stream: StreamName(cfg.Prefix)}
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        q.stream,
		Description: "smartcar-poller poll jobs",
		Subjects:    []string{cfg.Prefix + ".jobs.>"},
		Retention:   jetstream.WorkQueuePolicy,
		Storage:     cfg.Storage,
		Replicas:    cfg.Replicas,
		Duplicates:  cfg.Duplicates,
	})
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", q.stream, err)
	}
	name := ConsumerName(cfg.Prefix)
	q.consumer, err = js.CreateOrUpdateConsumer(ctx, q.stream, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "smartcar-poller workers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       cfg.AckWait,
		MaxDeliver:    cfg.MaxDeliver,
		MaxAckPending: cfg.MaxAckPending,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s: %w", name, err)
	}
	if q.fails, err = newFailures(ctx, js, cfg); err != nil {
		return nil, err
	}
	return q, nil
}

// Stream returns the name of the job stream.
func (q *Queue) Stream() string { return q.stream }

// Depth is a snapshot of the consumer's backlog, for metrics.
type Depth struct {
	// Pending is the number of jobs not yet delivered.
	Pending uint64
	// AckPending is the number of jobs delivered and not yet acked,
	// snoozed jobs included.
	AckPending int
	// Redelivered is the number of jobs delivered more than once and not yet
	// acked.
	Redelivered int
	// Waiting is the number of pull requests waiting for jobs.
	Waiting int
}

// Depth reads the consumer's backlog from the server.
func (q *Queue) Depth(ctx context.Context) (Depth, error) {
	info, err := q.consumer.Info(ctx)
	if err != nil {
		return Depth{}, fmt.Errorf("consumer info: %w", err)
	}
	return Depth{
		Pending:     info.NumPending,
		AckPending:  info.NumAckPending,
		Redelivered: info.NumRedelivered,
		Waiting:     info.NumWaiting,
	}, nil
}
