package queue_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
)

// fast makes redeliveries and pulls quick enough for tests.
var fast = queue.Config{
	FetchWait:     200 * time.Millisecond,
	ShutdownGrace: 500 * time.Millisecond,
	Backoff:       func(attempt int) time.Duration { return time.Duration(attempt) * 100 * time.Millisecond },
}

// margin absorbs clock granularity when checking that a delay was honoured.
const margin = 50 * time.Millisecond

func TestQueue_Consume_outcomes(t *testing.T) {
	errBoom := errors.New("boom")
	forEachServer(t, func(t *testing.T, url string) {
		t.Run("ack", func(t *testing.T) {
			q, js, cfg := newQueue(t, url, fast)
			rec := newRecorder()
			startConsume(t, q, 2, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
				rec.record(j, d)
				return nil
			})
			want := jobs("s", 3, tick)
			if _, err := q.Enqueue(t.Context(), want...); err != nil {
				t.Fatal(err)
			}
			got := map[string]queue.PollJob{}
			for range 3 {
				c := rec.next(t, 10*time.Second)
				if c.d.Deliveries != 1 || c.d.Failures != 0 || c.d.Panics != 0 || c.d.MaxPanics != queue.DefaultMaxPanics {
					t.Errorf("job %s: Delivery = %+v, want the first delivery, no failures, MaxPanics %d", c.job.ID, c.d, queue.DefaultMaxPanics)
				}
				if c.d.Enqueued.IsZero() || c.d.Sequence == 0 {
					t.Errorf("job %s: Delivery = %+v, want enqueue time and sequence", c.job.ID, c.d)
				}
				got[c.job.ID] = c.job
			}
			for _, j := range want {
				if diff := cmp.Diff(j, got[j.ID]); diff != "" {
					t.Errorf("job %s (-want +got):\n%s", j.ID, diff)
				}
			}
			eventually(t, 5*time.Second, "stream empty after acks", func() bool { return streamMsgs(t, js, cfg.Prefix) == 0 })
		})

		t.Run("snooze", func(t *testing.T) {
			const delay = time.Second
			q, js, cfg := newQueue(t, url, fast)
			rec := newRecorder()
			var nakked atomic.Int64 // when attempt 1 returned
			startConsume(t, q, 2, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
				rec.record(j, d)
				if d.Deliveries == 1 {
					defer func() { nakked.Store(time.Now().UnixNano()) }()
					return queue.Snooze(delay, errors.New("retry after"))
				}
				return nil
			})
			if _, err := q.Enqueue(t.Context(), jobs("s", 1, tick)...); err != nil {
				t.Fatal(err)
			}
			first := rec.next(t, 10*time.Second)
			second := rec.next(t, 10*time.Second)
			if first.d.Deliveries != 1 || second.d.Deliveries != 2 {
				t.Errorf("deliveries = %d, %d, want 1, 2 (a snooze still counts a delivery)", first.d.Deliveries, second.d.Deliveries)
			}
			if second.d.Failures != 0 {
				t.Errorf("failures after a snooze = %d, want 0", second.d.Failures)
			}
			if !second.d.Enqueued.Equal(first.d.Enqueued) || second.d.Sequence != first.d.Sequence {
				t.Errorf("redelivery metadata %+v differs from first %+v", second.d, first.d)
			}
			// Not redelivered before the delay: measured from the Nak, and
			// from the stream's own timestamp of the job.
			if gap := second.at.Sub(time.Unix(0, nakked.Load())); gap < delay-margin {
				t.Errorf("redelivered %s after the snooze, want at least %s", gap, delay)
			}
			if gap := second.at.Sub(second.d.Enqueued); gap < delay-margin {
				t.Errorf("redelivered %s after enqueue (metadata timestamp), want at least %s", gap, delay)
			}
			eventually(t, 5*time.Second, "stream empty", func() bool { return streamMsgs(t, js, cfg.Prefix) == 0 })
		})

		t.Run("drop", func(t *testing.T) {
			q, js, cfg := newQueue(t, url, fast)
			var calls atomic.Int32
			startConsume(t, q, 2, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
				calls.Add(1)
				return queue.Drop(errBoom)
			})
			if _, err := q.Enqueue(t.Context(), jobs("s", 1, tick)...); err != nil {
				t.Fatal(err)
			}
			// A terminated job leaves the work queue, so it cannot come back.
			eventually(t, 10*time.Second, "dropped job removed", func() bool { return calls.Load() == 1 && streamMsgs(t, js, cfg.Prefix) == 0 })
			// The consumer's counts follow the stream's a moment later.
			var d queue.Depth
			eventually(t, 10*time.Second, "nothing pending", func() bool {
				var err error
				d, err = q.Depth(t.Context())
				return err == nil && d == (queue.Depth{Waiting: d.Waiting})
			})
			if got := calls.Load(); got != 1 {
				t.Errorf("handler called %d times, want 1", got)
			}
		})

		t.Run("retry with backoff", func(t *testing.T) {
			q, js, cfg := newQueue(t, url, fast)
			rec := newRecorder()
			startConsume(t, q, 2, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
				rec.record(j, d)
				if d.Failures < 2 {
					return errBoom
				}
				return nil
			})
			if _, err := q.Enqueue(t.Context(), jobs("s", 1, tick)...); err != nil {
				t.Fatal(err)
			}
			var calls []call
			for range 3 {
				calls = append(calls, rec.next(t, 10*time.Second))
			}
			for i, c := range calls {
				if c.d.Deliveries != i+1 || c.d.Failures != i {
					t.Errorf("call %d: deliveries %d, failures %d; want %d and %d", i, c.d.Deliveries, c.d.Failures, i+1, i)
				}
				if i > 0 {
					if gap, want := c.at.Sub(calls[i-1].at), fast.Backoff(i); gap < want-margin {
						t.Errorf("call %d came %s after call %d, want at least Backoff(%d) = %s", i, gap, i-1, i, want)
					}
				}
			}
			eventually(t, 5*time.Second, "stream empty", func() bool { return streamMsgs(t, js, cfg.Prefix) == 0 })
			// The count of an acked job is deleted.
			if _, err := failuresOf(t, js, cfg.Prefix, calls[0].d.Sequence); !errors.Is(err, jetstream.ErrKeyNotFound) {
				t.Errorf("failure count after the ack: %v, want none", err)
			}
		})

		t.Run("panic is a failure", func(t *testing.T) {
			cfg := fast
			logs := &testserver.Buffer{}
			cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
			q, js, cfg := newQueue(t, url, cfg)
			rec := newRecorder()
			startConsume(t, q, 1, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
				rec.record(j, d)
				if d.Deliveries == 1 {
					panicInHandler()
				}
				return nil
			})
			if _, err := q.Enqueue(t.Context(), jobs("s", 1, tick)...); err != nil {
				t.Fatal(err)
			}
			a, b := rec.next(t, 10*time.Second), rec.next(t, 10*time.Second)
			if b.d.Deliveries != 2 || b.d.Failures != 1 || b.d.Panics != 1 {
				t.Errorf("after a panic: delivery %d, failures %d, panics %d; want 2, 1, 1", b.d.Deliveries, b.d.Failures, b.d.Panics)
			}
			if gap, want := b.at.Sub(a.at), fast.Backoff(1); gap < want-margin {
				t.Errorf("redelivered %s after the panic, want at least Backoff(1) = %s", gap, want)
			}
			eventually(t, 5*time.Second, "stream empty", func() bool { return streamMsgs(t, js, cfg.Prefix) == 0 })
			// The stack is logged once, with the frame that panicked.
			recs := logRecords(t, logs, "job handler panicked")
			if len(recs) != 1 {
				t.Fatalf("logged %d panics, want 1:\n%s", len(recs), logs)
			}
			if st, _ := recs[0]["stack"].(string); !strings.Contains(st, "panicInHandler") || recs[0]["panic"] != "handler bug" {
				t.Errorf("panic record %v: want the value and a stack through panicInHandler", recs[0])
			}
		})

		t.Run("panics terminate a job", func(t *testing.T) {
			cfg := fast
			cfg.MaxPanics = 2
			logs := &testserver.Buffer{}
			cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
			q, js, cfg := newQueue(t, url, cfg)
			rec := newRecorder()
			startConsume(t, q, 1, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
				rec.record(j, d)
				panicInHandler()
				return nil
			})
			if _, err := q.Enqueue(t.Context(), jobs("s", 1, tick)...); err != nil {
				t.Fatal(err)
			}
			var seq uint64
			for i := range 2 {
				c := rec.next(t, 10*time.Second)
				if c.d.Panics != i || c.d.MaxPanics != 2 {
					t.Errorf("delivery %d: panics %d, MaxPanics %d; want %d, 2", i+1, c.d.Panics, c.d.MaxPanics, i)
				}
				seq = c.d.Sequence
			}
			eventually(t, 5*time.Second, "job terminated", func() bool { return streamMsgs(t, js, cfg.Prefix) == 0 })
			if n := len(logRecords(t, logs, "job handler panicked")); n != 2 {
				t.Errorf("logged %d stacks, want one per panic (2)", n)
			}
			if n := len(logRecords(t, logs, "job terminated: its handler panicked too often")); n != 1 {
				t.Errorf("logged %d terminations, want 1", n)
			}
			if _, err := failuresOf(t, js, cfg.Prefix, seq); !errors.Is(err, jetstream.ErrKeyNotFound) {
				t.Errorf("failure count after the term: %v, want none", err)
			}
			select {
			case c := <-rec.ch:
				t.Errorf("delivered again after %d panics: %+v", c.d.Panics, c.d)
			default:
			}
		})

		t.Run("malformed body is terminated", func(t *testing.T) {
			q, js, cfg := newQueue(t, url, fast)
			rec := newRecorder()
			startConsume(t, q, 1, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
				rec.record(j, d)
				return nil
			})
			for _, body := range []string{"not json", `{"id":"x"}`, `{"vehicle_id":"v1"}`} {
				if _, err := js.Publish(t.Context(), cfg.Prefix+".jobs.bad", []byte(body)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := q.Enqueue(t.Context(), jobs("s", 1, tick)...); err != nil {
				t.Fatal(err)
			}
			if c := rec.next(t, 10*time.Second); c.job.ID != "s/v0/1772368200" {
				t.Errorf("handler got job %q, want only the valid one", c.job.ID)
			}
			eventually(t, 5*time.Second, "stream empty", func() bool { return streamMsgs(t, js, cfg.Prefix) == 0 })
			select {
			case c := <-rec.ch:
				t.Errorf("handler called again with %+v", c.job)
			default:
			}
		})
	})
}

// panicInHandler is the frame the panic tests look for in the logged stack.
func panicInHandler() { panic("handler bug") }

// A job that is snoozed several times and then fails still gets its whole
// retry budget: snoozes are not failures. The handler gives up (Drop) on its
// third failure, as a worker with max attempts 3 does.
func TestQueue_Consume_snoozesAreNotFailures(t *testing.T) {
	const snoozes, maxAttempts = 4, 3
	forEachServer(t, func(t *testing.T, url string) {
		q, js, cfg := newQueue(t, url, fast)
		rec := newRecorder()
		startConsume(t, q, 1, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
			rec.record(j, d)
			switch {
			case d.Deliveries <= snoozes:
				return queue.Snooze(10*time.Millisecond, errors.New("held"))
			case d.Failures+1 >= maxAttempts:
				return queue.Drop(errors.New("out of attempts"))
			}
			return errors.New("transient")
		})
		if _, err := q.Enqueue(t.Context(), jobs("s", 1, tick)...); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "job dropped", func() bool { return streamMsgs(t, js, cfg.Prefix) == 0 })
		var got []int
		for len(rec.ch) > 0 {
			got = append(got, (<-rec.ch).d.Failures)
		}
		if want := []int{0, 0, 0, 0, 0, 1, 2}; !slices.Equal(got, want) {
			t.Errorf("failures seen by each delivery = %v, want %v", got, want)
		}
	})
}

// The failure count is shared: a job that failed on one replica comes to
// another with its failures, and snoozes there do not add to them.
func TestQueue_Consume_failuresAcrossReplicas(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		q, js, cfg := newQueue(t, url, fast)
		if _, err := q.Enqueue(t.Context(), jobs("s", 1, tick)...); err != nil {
			t.Fatal(err)
		}
		recA := newRecorder()
		a := startConsume(t, q, 1, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
			recA.record(j, d)
			return errors.New("transient")
		})
		first := recA.next(t, 10*time.Second)
		// Consume returns once the failure is counted and the job naked.
		if err := a.stop(t); err != nil {
			t.Fatal(err)
		}
		if c, err := failuresOf(t, js, cfg.Prefix, first.d.Sequence); err != nil || c["failures"] != 1.0 {
			t.Errorf("failures bucket after one failure: %v, %v; want failures 1", c, err)
		}

		q2, _, _ := newQueue(t, url, cfg)
		recB := newRecorder()
		startConsume(t, q2, 1, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
			recB.record(j, d)
			if d.Deliveries < 4 {
				return queue.Snooze(10*time.Millisecond, errors.New("held"))
			}
			return nil
		})
		for i := range 3 {
			c := recB.next(t, 10*time.Second)
			if c.d.Deliveries != i+2 || c.d.Failures != 1 || c.d.Panics != 0 {
				t.Errorf("replica B, call %d: delivery %d, failures %d, panics %d; want %d, 1, 0",
					i, c.d.Deliveries, c.d.Failures, c.d.Panics, i+2)
			}
		}
		eventually(t, 5*time.Second, "stream empty", func() bool { return streamMsgs(t, js, cfg.Prefix) == 0 })
		if _, err := failuresOf(t, js, cfg.Prefix, first.d.Sequence); !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Errorf("failure count after the ack: %v, want none", err)
		}
	})
}

func TestQueue_Consume_concurrencyBound(t *testing.T) {
	const concurrency, n = 4, 120
	forEachServer(t, func(t *testing.T, url string) {
		q, js, cfg := newQueue(t, url, fast)
		if _, err := q.Enqueue(t.Context(), jobs("s", n, tick)...); err != nil {
			t.Fatal(err)
		}
		var inFlight, maxInFlight, done atomic.Int32
		gate := make(chan struct{})
		startConsume(t, q, concurrency, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
			cur := inFlight.Add(1)
			defer inFlight.Add(-1)
			for {
				m := maxInFlight.Load()
				if cur <= m || maxInFlight.CompareAndSwap(m, cur) {
					break
				}
			}
			<-gate // held until the bound has been reached once
			done.Add(1)
			return nil
		})
		eventually(t, 10*time.Second, "all slots busy", func() bool { return inFlight.Load() >= concurrency })
		close(gate)
		eventually(t, 20*time.Second, "all jobs handled", func() bool { return done.Load() == n })
		if got := maxInFlight.Load(); got != concurrency {
			t.Errorf("max in flight = %d, want exactly %d", got, concurrency)
		}
		eventually(t, 5*time.Second, "stream empty", func() bool { return streamMsgs(t, js, cfg.Prefix) == 0 })
	})
}

func TestQueue_Consume_shutdown(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		q, js, cfg := newQueue(t, url, fast)
		short, long := jobs("short", 1, tick)[0], jobs("long", 1, tick)[0]
		if _, err := q.Enqueue(t.Context(), short, long); err != nil {
			t.Fatal(err)
		}
		var started sync.WaitGroup
		started.Add(2)
		release := make(chan struct{})
		var exited atomic.Int32
		var longSawCancel atomic.Bool
		c := startConsume(t, q, 2, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
			defer exited.Add(1)
			started.Done()
			if j.Schedule == "short" {
				<-release // finishes within the grace
				return nil
			}
			<-ctx.Done() // outlives the grace
			longSawCancel.Store(true)
			return ctx.Err()
		})
		started.Wait()
		c.cancel()
		close(release)
		if err := c.stop(t); err != nil {
			t.Errorf("Consume = %v, want nil after shutdown", err)
		}
		if got := exited.Load(); got != 2 {
			t.Errorf("%d handlers had exited when Consume returned, want 2", got)
		}
		if !longSawCancel.Load() {
			t.Error("the long handler's context was not cancelled after the grace")
		}

		// Another replica takes the handed-back job at once; the short one
		// was acked and does not come back.
		q2, _, _ := newQueue(t, url, cfg)
		rec := newRecorder()
		startConsume(t, q2, 2, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
			rec.record(j, d)
			return nil
		})
		got := rec.next(t, 5*time.Second)
		if got.job.ID != long.ID || got.d.Deliveries != 2 || got.d.Failures != 0 {
			t.Errorf("second consumer got %s delivery %d, failures %d; want %s delivery 2, no failure (a hand-back is none)",
				got.job.ID, got.d.Deliveries, got.d.Failures, long.ID)
		}
		eventually(t, 5*time.Second, "stream empty", func() bool { return streamMsgs(t, js, cfg.Prefix) == 0 })
		select {
		case c := <-rec.ch:
			t.Errorf("second consumer also got %s", c.job.ID)
		default:
		}
	})
}

func TestQueue_Consume_killedConsumer(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		cfg := fast
		cfg.AckWait = time.Second
		q, _, cfg := newQueue(t, url, cfg)
		if _, err := q.Enqueue(t.Context(), jobs("s", 1, tick)...); err != nil {
			t.Fatal(err)
		}

		// Replica A on its own connection takes the job and dies mid-job.
		ncA, jsA := connect(t, url)
		qA, err := queue.New(t.Context(), jsA, cfg)
		if err != nil {
			t.Fatal(err)
		}
		took := make(chan time.Time, 1)
		a := startConsume(t, qA, 1, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
			took <- time.Now()
			<-ctx.Done()
			return ctx.Err()
		})
		var tookAt time.Time
		select {
		case tookAt = <-took:
		case <-time.After(10 * time.Second):
			t.Fatal("replica A got no job")
		}
		ncA.Close()

		// Replica B gets it again once the ack wait has run out.
		q2, _, _ := newQueue(t, url, cfg)
		rec := newRecorder()
		startConsume(t, q2, 1, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
			rec.record(j, d)
			return nil
		})
		got := rec.next(t, 10*time.Second)
		if got.d.Deliveries != 2 || got.d.Failures != 0 {
			t.Errorf("redelivered as delivery %d with %d failures, want delivery 2 and none", got.d.Deliveries, got.d.Failures)
		}
		if gap := got.at.Sub(tookAt); gap < cfg.AckWait-margin {
			t.Errorf("redelivered %s after A took it, want at least the ack wait %s", gap, cfg.AckWait)
		}
		if err := a.stop(t); !errors.Is(err, nats.ErrConnectionClosed) {
			t.Errorf("Consume on the closed connection = %v, want ErrConnectionClosed", err)
		}
	})
}

func TestQueue_Consume_invalid(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		q, _, _ := newQueue(t, url, queue.Config{MaxAckPending: 2})
		noop := func(context.Context, queue.PollJob, queue.Delivery) error { return nil }
		for _, n := range []int{0, -1, 3} {
			if err := q.Consume(t.Context(), n, noop); err == nil {
				t.Errorf("Consume(concurrency %d) = nil error, want one", n)
			}
		}
	})
}

func TestQueue_Consume_inProgress(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		cfg := fast
		cfg.AckWait = time.Second
		q, js, cfg := newQueue(t, url, cfg)
		rec := newRecorder()
		// Two slots: a redelivery during the long job would land in the
		// second one.
		startConsume(t, q, 2, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
			rec.record(j, d)
			if d.Deliveries == 1 {
				work := time.NewTimer(3 * cfg.AckWait) // a job longer than the ack wait
				defer work.Stop()
				<-work.C
			}
			return nil
		})
		if _, err := q.Enqueue(t.Context(), jobs("s", 1, tick)...); err != nil {
			t.Fatal(err)
		}
		rec.next(t, 10*time.Second)
		eventually(t, 10*time.Second, "stream empty", func() bool { return streamMsgs(t, js, cfg.Prefix) == 0 })
		select {
		case c := <-rec.ch:
			t.Errorf("job redelivered (delivery %d) while its handler was running", c.d.Deliveries)
		default:
		}
	})
}

func TestQueue_Consume_lateArrivalHandedBack(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		cfg := fast
		cfg.FetchWait = time.Second
		q, _, cfg := newQueue(t, url, cfg)
		var calls atomic.Int32
		a := startConsume(t, q, 2, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
			calls.Add(1)
			return nil
		})
		eventually(t, 5*time.Second, "a pull request waiting", func() bool {
			d, err := q.Depth(t.Context())
			return err == nil && d.Waiting > 0
		})
		a.cancel()
		// The job lands on the pull A sent before it stopped.
		if _, err := q.Enqueue(t.Context(), jobs("late", 1, tick)...); err != nil {
			t.Fatal(err)
		}
		if err := a.stop(t); err != nil {
			t.Fatalf("Consume = %v", err)
		}
		if got := calls.Load(); got != 0 {
			t.Errorf("stopped consumer ran %d handlers, want 0", got)
		}
		q2, _, _ := newQueue(t, url, cfg)
		rec := newRecorder()
		startConsume(t, q2, 1, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
			rec.record(j, d)
			return nil
		})
		// Well within the 6 min ack wait: A handed the job back.
		if got := rec.next(t, 5*time.Second); got.d.Deliveries != 2 || got.d.Failures != 0 {
			t.Errorf("second consumer got delivery %d with %d failures, want delivery 2 (delivered to A, handed back) and none", got.d.Deliveries, got.d.Failures)
		}
	})
}
