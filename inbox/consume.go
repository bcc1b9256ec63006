package inbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Delivery is one stored delivery handed to a handler.
type Delivery struct {
	// ID is the id it was put with (a webhook's eventId).
	ID string
	// Body is the body as it was put.
	Body []byte
	// Received is when the stream stored it.
	Received time.Time
	// Attempt is 1 the first time it is handed to a handler, then counts
	// every redelivery (after a failure, an ack timeout or a hand-back).
	Attempt int
	// Sequence is its stream sequence.
	Sequence uint64
}

// Handler processes one delivery: nil acks it (it leaves the stream); an
// error, or a panic, redelivers it after Config.Backoff(d.Attempt). ctx
// ends at AckWait/2, or when Consume gives up waiting at shutdown.
type Handler func(ctx context.Context, d Delivery) error

// Consume runs at most concurrency handlers at a time on the stored
// deliveries until ctx is cancelled. Each handler slot pulls one delivery
// at a time, so none waits in a client buffer while its ack timer runs.
//
// When ctx is cancelled Consume stops pulling, hands back what pulls
// already sent still bring, lets running handlers finish for up to
// Config.ShutdownGrace, then cancels their context and hands their
// deliveries back (Nak). It returns nil after a shutdown, once every
// goroutine it started has exited, or an error if the NATS connection
// closes.
func (b *Inbox) Consume(ctx context.Context, concurrency int, h Handler) error {
	if concurrency < 1 {
		return fmt.Errorf("consume: concurrency %d: want at least 1", concurrency)
	}
	nc := b.js.Conn()
	closed := nc.StatusChanged(nats.CLOSED)
	defer nc.RemoveStatusListener(closed)
	if nc.IsClosed() {
		return fmt.Errorf("consume: %w", nats.ErrConnectionClosed)
	}
	pullCtx, stopPulling := context.WithCancel(ctx)
	defer stopPulling()
	hctx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()
	r := &run{b: b, h: h, hctx: hctx, log: b.cfg.Logger.With("component", "inbox", "consumer", ConsumerName(b.cfg.Prefix))}
	var workers sync.WaitGroup
	for range concurrency {
		workers.Go(func() { r.serve(pullCtx) })
	}
	b.st.consuming.Add(1)
	var err error
	select {
	case <-ctx.Done():
	case <-closed:
		err = fmt.Errorf("consume: %w", nats.ErrConnectionClosed)
	}
	b.st.consuming.Add(-1)
	stopPulling()

	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	grace := time.NewTimer(b.cfg.ShutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		r.log.Warn("shutdown grace over, handing back deliveries in progress", "grace", b.cfg.ShutdownGrace)
		cancelHandlers()
		<-done
	}
	// Acks and hand-backs are buffered: make sure the server has them.
	if ferr := nc.FlushTimeout(b.cfg.FetchWait); ferr != nil && !nc.IsClosed() {
		r.log.Warn("flush acks", "err", ferr)
	}
	return err
}

// run is the state of one Consume call.
type run struct {
	b    *Inbox
	h    Handler
	hctx context.Context // handlers' context, cancelled after the grace
	log  *slog.Logger
}

// serve pulls and handles one delivery at a time until ctx is done.
func (r *run) serve(ctx context.Context) {
	for ctx.Err() == nil {
		batch, err := r.b.consumer.Fetch(1, jetstream.FetchMaxWait(r.b.cfg.FetchWait))
		if err == nil {
			for msg := range batch.Messages() {
				if ctx.Err() != nil {
					r.settle(msg, "hand back", msg.Nak())
					continue
				}
				r.handle(msg)
			}
			err = batch.Error()
		}
		if err != nil && !errors.Is(err, nats.ErrTimeout) {
			r.b.st.pullErrors.Add(1)
			if errors.Is(err, nats.ErrConnectionClosed) {
				return // Consume sees the close and returns it
			}
			r.log.WarnContext(ctx, "pull deliveries", "err", err)
			pause(ctx, min(r.b.cfg.FetchWait, time.Second))
		}
	}
}

// handle runs the handler for one delivery and settles it.
func (r *run) handle(msg jetstream.Msg) {
	meta, err := msg.Metadata()
	if err != nil {
		r.log.Error("delivery without metadata, terminating", "subject", msg.Subject(), "err", err)
		r.settle(msg, "term", msg.Term())
		return
	}
	d := Delivery{
		ID:       msg.Headers().Get(jetstream.MsgIDHeader),
		Body:     msg.Data(),
		Received: meta.Timestamp,
		Attempt:  int(meta.NumDelivered),
		Sequence: meta.Sequence.Stream,
	}
	r.b.st.deliveries.Add(1)
	log := r.log.With("delivery_id", d.ID, "seq", d.Sequence, "attempt", d.Attempt)
	err = r.call(d)
	switch {
	case err == nil:
		actx, cancel := context.WithTimeout(context.WithoutCancel(r.hctx), r.b.cfg.FetchWait)
		if err := msg.DoubleAck(actx); err != nil {
			// Not acked: it comes back after AckWait and is processed again.
			log.Warn("ack delivery", "err", err)
		} else {
			r.b.st.processed.Add(1)
		}
		cancel()
	case r.hctx.Err() != nil:
		log.Warn("delivery handed back at shutdown", "err", err)
		r.settle(msg, "hand back", msg.Nak())
	default:
		r.b.st.failures.Add(1)
		delay := r.b.cfg.Backoff(d.Attempt)
		var p *panicError
		if errors.As(err, &p) {
			log.Error("delivery handler panicked", "panic", fmt.Sprint(p.value), "stack", string(p.stack), "retry_in", delay)
		} else {
			log.Warn("delivery failed", "retry_in", delay, "err", err)
		}
		r.settle(msg, "nak", msg.NakWithDelay(delay))
	}
}

// call runs the handler with its deadline, turning a panic into an error.
func (r *run) call(d Delivery) (err error) {
	ctx, cancel := context.WithTimeout(r.hctx, r.b.cfg.AckWait/2)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return r.h(ctx, d)
}

func (r *run) settle(msg jetstream.Msg, action string, err error) {
	if err != nil {
		r.log.Warn(action+" delivery", "subject", msg.Subject(), "err", err)
	}
}

// panicError is a handler's panic, with the stack where it happened.
type panicError struct {
	value any
	stack []byte
}

func (e *panicError) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// pause waits d or until ctx is done.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
