package events

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultMaxPending is the default bound on publishes awaiting their ack.
const DefaultMaxPending = 512

// maxReportedErrors bounds the per-event errors joined into Publish's error.
const maxReportedErrors = 5

// PublisherConfig configures a Publisher. Zero values take defaults: Prefix
// DefaultPrefix, MaxPending DefaultMaxPending.
type PublisherConfig struct {
	Prefix string
	// MaxPending bounds the publishes (events and latest-state updates)
	// awaiting their JetStream ack, across all concurrent Publish calls.
	// When it is reached Publish waits for acks; it never fails for it.
	MaxPending int
}

// Publisher publishes events into the events stream and keeps the
// latest-state bucket up to date. It is safe for concurrent use.
type Publisher struct {
	*Latest

	js     jetstream.JetStream
	prefix string
	stream string
	kvPre  string // subject prefix of the latest bucket: $KV.<bucket>.
	kvName string // stream behind the latest bucket: KV_<bucket>
	slots  chan struct{}

	published  atomic.Uint64
	duplicates atomic.Uint64
	failed     atomic.Uint64
}

// PublisherStats are a Publisher's counters since it was made.
type PublisherStats struct {
	Published  uint64 // events stored for the first time
	Duplicates uint64 // events the stream already held (same id)
	Failed     uint64 // events not stored
}

// NewPublisher returns a Publisher for the stream and bucket that
// EnsureStream made for cfg.Prefix. js must use the default JetStream API
// prefix (no domain): latest-state updates are published straight to the
// bucket's subjects so that they pipeline with the events.
func NewPublisher(js jetstream.JetStream, cfg PublisherConfig) (*Publisher, error) {
	prefix := cmp.Or(cfg.Prefix, DefaultPrefix)
	if err := ValidatePrefix(prefix); err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	if cfg.MaxPending < 0 {
		return nil, fmt.Errorf("new publisher: negative max pending %d", cfg.MaxPending)
	}
	if o := js.Options(); o.Domain != "" || o.APIPrefix != "" {
		return nil, errors.New("new publisher: jetstream domains and api prefixes are not supported")
	}
	latest, err := NewLatest(js, prefix)
	if err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	return &Publisher{
		Latest: latest,
		js:     js,
		prefix: prefix,
		stream: StreamName(prefix),
		kvPre:  "$KV." + latest.bucket + ".",
		kvName: "KV_" + latest.bucket,
		slots:  make(chan struct{}, cmp.Or(cfg.MaxPending, DefaultMaxPending)),
	}, nil
}

// Stats returns the publisher's counters, for metrics.
func (p *Publisher) Stats() PublisherStats {
	return PublisherStats{
		Published:  p.published.Load(),
		Duplicates: p.duplicates.Load(),
		Failed:     p.failed.Load(),
	}
}

// outgoing is one message Publish sends: an event, or the latest-state
// update that follows its ack.
type outgoing struct {
	ev     int // index into the events
	latest bool
}

// inflight is an outgoing message awaiting its ack.
type inflight struct {
	outgoing
	fut jetstream.PubAckFuture
}

// prepared is an event checked and encoded for publishing.
type prepared struct {
	ev      Event
	subject string
	key     string
	raw     []byte
}

// Publish stores evs in the events stream with Nats-Msg-Id = event id and
// waits until every one is acknowledged, or ctx is done. Publishes are
// pipelined up to MaxPending at a time (waiting, not failing, when the window
// is full). After an event is acked its JSON is put into the latest-state
// bucket; an event the stream already held (a duplicate id) is not an error
// and replaces the bucket's entry only if that is older. Invalid events are
// rejected before anything is sent. The error names the events that failed.
// Unless js has an async ack timeout, a lost ack makes Publish wait until ctx
// is done, so give ctx a deadline.
func (p *Publisher) Publish(ctx context.Context, evs ...Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish %d events: %w", len(evs), err)
	}
	items := make([]prepared, len(evs))
	for i, ev := range evs {
		it, err := p.prepare(ev)
		if err != nil {
			return fmt.Errorf("publish event %d of %d: %w", i+1, len(evs), err)
		}
		items[i] = it
	}
	return p.send(ctx, items)
}

func (p *Publisher) prepare(ev Event) (prepared, error) {
	s, ok := ev.Signal()
	if !ok {
		return prepared{}, fmt.Errorf("event %s: type %q: %w", ev.ID, ev.Type, ErrInvalidEvent)
	}
	if ev.ID == "" {
		return prepared{}, fmt.Errorf("%s event: missing id: %w", s, ErrInvalidEvent)
	}
	key, err := latestKey(ev)
	if err != nil {
		return prepared{}, fmt.Errorf("event %s: %w", ev.ID, err)
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return prepared{}, fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	// The key is <vehicle_id>.<topic>, the subject <prefix>.vehicles.<key>.
	return prepared{ev: ev, subject: p.prefix + ".vehicles." + key, key: key, raw: raw}, nil
}

// send runs the publish pipeline: one loop takes a window slot and sends the
// next message, or handles the oldest ack, whichever comes first. Waiting on
// the own oldest ack while slots are taken lets concurrent calls share the
// window without deadlock.
func (p *Publisher) send(ctx context.Context, items []prepared) error {
	queue := make([]outgoing, 0, 2*len(items))
	for i := range items {
		queue = append(queue, outgoing{ev: i})
	}
	var (
		next    int
		waiting []inflight
		held    int
		errs    []error
		failed  int
	)
	defer func() {
		for range held {
			<-p.slots
		}
	}()
	fail := func(err error) {
		failed++
		if len(errs) < maxReportedErrors {
			errs = append(errs, err)
		}
	}
	for next < len(queue) || len(waiting) > 0 {
		var slot chan struct{}
		if next < len(queue) {
			slot = p.slots
		}
		var (
			okc  <-chan *jetstream.PubAck
			errc <-chan error
		)
		if len(waiting) > 0 {
			okc, errc = waiting[0].fut.Ok(), waiting[0].fut.Err()
		}
		select {
		case slot <- struct{}{}:
			held++
			fut, err := p.sendOne(items, queue[next])
			if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
				// The JetStream context's own window is full (shared with
				// other users): give the slot back and try again.
				<-p.slots
				held--
				continue
			}
			if err != nil {
				<-p.slots
				held--
				unsent := len(items) - countSent(queue[:next])
				p.failed.Add(uint64(unsent))
				fail(fmt.Errorf("%s (%d events not sent): %w", p.describe(items, queue[next]), unsent, err))
				return p.result(len(items), failed, errs)
			}
			waiting = append(waiting, inflight{outgoing: queue[next], fut: fut})
			next++
		case ack := <-okc:
			done := waiting[0]
			waiting = waiting[1:]
			<-p.slots
			held--
			if err := p.acked(ctx, items, done.outgoing, ack, &queue); err != nil {
				fail(err)
			}
		case err := <-errc:
			done := waiting[0]
			waiting = waiting[1:]
			<-p.slots
			held--
			if !done.latest {
				p.failed.Add(1)
			}
			fail(fmt.Errorf("%s: %w", p.describe(items, done.outgoing), err))
		case <-ctx.Done():
			pending := len(waiting) + len(queue) - next
			fail(fmt.Errorf("%d messages unacknowledged: %w", pending, ctx.Err()))
			return p.result(len(items), failed, errs)
		}
	}
	return p.result(len(items), failed, errs)
}

func countSent(sent []outgoing) int {
	n := 0
	for _, o := range sent {
		if !o.latest {
			n++
		}
	}
	return n
}

func (p *Publisher) sendOne(items []prepared, o outgoing) (jetstream.PubAckFuture, error) {
	it := items[o.ev]
	if o.latest {
		m := &nats.Msg{Subject: p.kvPre + it.key, Data: it.raw}
		return p.js.PublishMsgAsync(m, jetstream.WithExpectStream(p.kvName))
	}
	m := &nats.Msg{Subject: it.subject, Data: it.raw, Header: nats.Header{"Content-Type": {"application/cloudevents+json"}}}
	return p.js.PublishMsgAsync(m, jetstream.WithMsgID(it.ev.ID), jetstream.WithExpectStream(p.stream))
}

// acked handles the ack of o: count it and queue the latest-state update of
// a fresh event, or repair the bucket for a duplicate.
func (p *Publisher) acked(ctx context.Context, items []prepared, o outgoing, ack *jetstream.PubAck, queue *[]outgoing) error {
	if o.latest {
		return nil
	}
	if !ack.Duplicate {
		p.published.Add(1)
		*queue = append(*queue, outgoing{ev: o.ev, latest: true})
		return nil
	}
	p.duplicates.Add(1)
	it := items[o.ev]
	if err := p.putIfNewer(ctx, it.ev, it.key, it.raw); err != nil {
		return fmt.Errorf("latest of duplicate event %s: %w", it.ev.ID, err)
	}
	return nil
}

func (p *Publisher) describe(items []prepared, o outgoing) string {
	it := items[o.ev]
	if o.latest {
		return fmt.Sprintf("put latest %s (event %s)", it.key, it.ev.ID)
	}
	return fmt.Sprintf("publish event %s to %s", it.ev.ID, it.subject)
}

func (p *Publisher) result(total, failed int, errs []error) error {
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("publish %d events: %d failed (first %d shown): %w", total, failed, len(errs), errors.Join(errs...))
}
