package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Handler processes one job. Its result decides what happens to the job:
// nil acks it; an error from Snooze redelivers it after the given delay; an
// error from Drop terminates it; any other error is a failure and redelivers
// it after Config.Backoff(d.Failures+1). A panic is a failure too, and the
// job is terminated once it has panicked Config.MaxPanics times. ctx is
// cancelled when Consume gives up waiting for the handler at shutdown.
type Handler func(ctx context.Context, job PollJob, d Delivery) error

// Delivery describes one delivery of a job.
type Delivery struct {
	// Deliveries is JetStream's delivery count of the job, starting at 1.
	// Snoozes, hand-backs at shutdown and ack timeouts count too, so it
	// says nothing about failures: give-up logic uses Failures.
	Deliveries int
	// Failures is how many earlier deliveries of the job failed: returned an
	// error other than a Snooze or a Drop, or panicked. Snoozes, hand-backs
	// at shutdown and ack timeouts do not count. The count lives in the KV
	// bucket FailuresBucket(prefix), so it holds when another replica gets
	// the job.
	Failures int
	// Panics is how many of those failures were panics.
	Panics int
	// MaxPanics is Config.MaxPanics: the job is terminated when its panics
	// reach it. A handler that recovers its own panics can treat the one
	// that makes Panics+1 reach MaxPanics as a permanent failure.
	MaxPanics int
	// Enqueued is when the job was stored in the stream. JetStream keeps no
	// first-delivery time, so this is the fixed point for give-up logic.
	Enqueued time.Time
	// Sequence is the job's stream sequence.
	Sequence uint64
}

// maxOpenFetches bounds the pull requests one Consume keeps open at once.
const maxOpenFetches = 4

// Consume runs handlers for jobs until ctx is cancelled, with at most
// concurrency handlers in flight. It only pulls as many jobs as it has free
// handler slots, so no job waits in a client buffer while its ack timer runs.
// While a handler runs, Consume tells JetStream every AckWait/3 that the job
// is in progress. A body that is not a PollJob is terminated and logged.
//
// When ctx is cancelled Consume stops pulling at once, hands back any job
// that arrives for a pull already sent, lets running handlers finish for up
// to Config.ShutdownGrace, then cancels their context and hands their jobs
// back (Nak) so another replica takes them. It returns nil after a shutdown,
// only once every handler goroutine has exited, or an error if the NATS
// connection closes.
func (q *Queue) Consume(ctx context.Context, concurrency int, h Handler) error {
	if concurrency < 1 {
		return fmt.Errorf("consume: concurrency %d: want at least 1", concurrency)
	}
	if q.cfg.MaxAckPending > 0 && concurrency > q.cfg.MaxAckPending {
		return fmt.Errorf("consume: concurrency %d above max ack pending %d", concurrency, q.cfg.MaxAckPending)
	}
	nc := q.js.Conn()
	closed := nc.StatusChanged(nats.CLOSED)
	defer nc.RemoveStatusListener(closed)
	if nc.IsClosed() {
		return fmt.Errorf("consume: %w", nats.ErrConnectionClosed)
	}

	hctx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()
	r := &run{
		q:        q,
		h:        h,
		log:      q.cfg.Logger.With("component", "queue", "consumer", ConsumerName(q.cfg.Prefix)),
		stopping: ctx.Done(),
		hctx:     hctx,
		slots:    make(chan struct{}, concurrency),
		work:     make(chan jetstream.Msg),
		running:  make(map[jetstream.Msg]struct{}, concurrency),
	}
	for range concurrency {
		r.workers.Go(r.serve)
	}
	stopBeat := make(chan struct{})
	var beat sync.WaitGroup
	beat.Go(func() { r.heartbeat(stopBeat) })

	q.st.consuming.Add(1)
	err := r.pull(ctx, closed, concurrency)
	q.st.consuming.Add(-1)

	// Stop: no new pulls. Pulls already sent end within FetchWait; what they
	// still bring is handed back once none of ours is open, so it goes to
	// another replica instead of back to us.
	deadline := time.Now().Add(q.cfg.ShutdownGrace)
	r.fetches.Wait()
	close(r.work)
	r.handBackLate()
	done := make(chan struct{})
	go func() { r.workers.Wait(); close(done) }()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		if n := r.active.Load(); n > 0 {
			r.log.Warn("shutdown grace over, handing back running jobs", "jobs", n, "grace", q.cfg.ShutdownGrace)
		}
		cancelHandlers()
		<-done
	}
	close(stopBeat)
	beat.Wait()
	// Acks and hand-backs are buffered; make sure the server has them.
	if err := nc.FlushTimeout(q.cfg.FetchWait); err != nil && !nc.IsClosed() {
		r.log.Warn("flush acks", "err", err)
	}
	return err
}

// run is the state of one Consume call.
type run struct {
	q        *Queue
	h        Handler
	log      *slog.Logger
	stopping <-chan struct{} // closed when Consume's ctx is done
	hctx     context.Context // handlers' context, cancelled after the grace
	slots    chan struct{}   // one token per handler slot in use or reserved
	work     chan jetstream.Msg
	fetches  sync.WaitGroup
	workers  sync.WaitGroup

	active atomic.Int32 // handlers running

	mu      sync.Mutex
	late    []jetstream.Msg // arrived after stopping; handed back at the end
	running map[jetstream.Msg]struct{}
}

// pull reserves free slots and sends one pull request for them, until ctx is
// done or the connection closes.
func (r *run) pull(ctx context.Context, closed <-chan nats.Status, concurrency int) error {
	open := make(chan struct{}, maxOpenFetches)
	for {
		// Take a pull permit first, then every free slot: while we wait for
		// the permit, more slots free up and the next pull asks for more.
		select {
		case <-ctx.Done():
			return nil
		case <-closed:
			return fmt.Errorf("consume: %w", nats.ErrConnectionClosed)
		case open <- struct{}{}:
		}
		select {
		case <-ctx.Done():
			<-open
			return nil
		case <-closed:
			<-open
			return fmt.Errorf("consume: %w", nats.ErrConnectionClosed)
		case r.slots <- struct{}{}:
		}
		n := 1
	more:
		for n < concurrency {
			select {
			case r.slots <- struct{}{}:
				n++
			default:
				break more
			}
		}
		batch, err := r.q.consumer.Fetch(n, jetstream.FetchMaxWait(r.q.cfg.FetchWait))
		if err != nil {
			r.q.st.pulled(err)
			r.release(n)
			<-open
			if errors.Is(err, nats.ErrConnectionClosed) {
				return fmt.Errorf("consume: %w", err)
			}
			r.log.WarnContext(ctx, "pull jobs", "err", err)
			r.pause(ctx)
			continue
		}
		r.fetches.Go(func() {
			defer func() { <-open }()
			r.dispatch(ctx, batch, n)
		})
	}
}

// dispatch starts a handler for each job of batch; reserved slots that
// batch does not fill are released when it ends.
func (r *run) dispatch(ctx context.Context, batch jetstream.MessageBatch, reserved int) {
	got := 0
	for msg := range batch.Messages() {
		got++
		select {
		case <-r.stopping:
			r.mu.Lock()
			r.late = append(r.late, msg)
			r.mu.Unlock()
			r.release(1)
			continue
		default:
		}
		r.work <- msg // a slot is reserved, so a worker is free
	}
	err := batch.Error()
	r.q.st.pulled(err)
	if err != nil {
		r.log.WarnContext(ctx, "pull jobs", "err", err)
		r.pause(ctx) // keeps the slots reserved, so the next pull waits too
	}
	r.release(reserved - got)
}

// pause waits a little after a failed pull, or until ctx is done.
func (r *run) pause(ctx context.Context) {
	t := time.NewTimer(min(r.q.cfg.FetchWait, time.Second))
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// serve handles jobs until work is closed; each frees its slot when done.
func (r *run) serve() {
	for msg := range r.work {
		r.handle(msg)
		r.release(1)
	}
}

// heartbeat tells JetStream every AckWait/3 that each running job is in
// progress, until stop is closed.
func (r *run) heartbeat(stop <-chan struct{}) {
	t := time.NewTicker(r.q.cfg.AckWait / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			r.mu.Lock()
			for msg := range r.running {
				if err := msg.InProgress(); err != nil {
					r.log.Warn("signal job in progress", "subject", msg.Subject(), "err", err)
				}
			}
			r.mu.Unlock()
		}
	}
}

func (r *run) release(n int) {
	for range n {
		<-r.slots
	}
}

// handBackLate naks the jobs that arrived after Consume began to stop.
func (r *run) handBackLate() {
	r.mu.Lock()
	late := r.late
	r.late = nil
	r.mu.Unlock()
	if len(late) > 0 {
		r.log.Debug("handing back jobs that arrived while stopping", "jobs", len(late))
	}
	for _, msg := range late {
		if err := msg.Nak(); err != nil {
			r.log.Warn("hand back job", "subject", msg.Subject(), "err", err)
		}
	}
}
