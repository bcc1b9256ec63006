package queue_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"

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
				if c.d.Attempt != 1 {
					t.Errorf("job %s: Attempt = %d, want 1", c.job.ID, c.d.Attempt)
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
				if d.Attempt == 1 {
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
			if first.d.Attempt != 1 || second.d.Attempt != 2 {
				t.Errorf("attempts = %d, %d, want 1, 2 (a snooze still counts a delivery)", first.d.Attempt, second.d.Attempt)
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
			d, err := q.Depth(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if d != (queue.Depth{Waiting: d.Waiting}) {
				t.Errorf("Depth() = %+v, want nothing pending", d)
			}
			if got := calls.Load(); got != 1 {
				t.Errorf("handler called %d times, want 1", got)
			}
		})

		t.Run("retry with backoff", func(t *testing.T) {
			q, js, cfg := newQueue(t, url, fast)
			rec := newRecorder()
			startConsume(t, q, 2, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
				rec.record(j, d)
				if d.Attempt < 3 {
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
				if c.d.Attempt != i+1 {
					t.Errorf("call %d: Attempt = %d, want %d", i, c.d.Attempt, i+1)
				}
				if i > 0 {
					if gap, want := c.at.Sub(calls[i-1].at), fast.Backoff(i); gap < want-margin {
						t.Errorf("attempt %d came %s after attempt %d, want at least Backoff(%d) = %s", i+1, gap, i, i, want)
					}
				}
			}
			eventually(t, 5*time.Second, "stream empty", func() bool { return streamMsgs(t, js, cfg.Prefix) == 0 })
		})

		t.Run("panic is a failure", func(t *testing.T) {
			q, js, cfg := newQueue(t, url, fast)
			rec := newRecorder()
			startConsume(t, q, 1, func(ctx context.Context, j queue.PollJob, d queue.Delivery) error {
				rec.record(j, d)
				if d.Attempt == 1 {
					panic("handler bug")
				}
				return nil
			})
			if _, err := q.Enqueue(t.Context(), jobs("s", 1, tick)...); err != nil {
				t.Fatal(err)
			}
			if a, b := rec.next(t, 10*time.Second), rec.next(t, 10*time.Second); a.d.Attempt != 1 || b.d.Attempt != 2 {
				t.Errorf("attempts = %d, %d, want 1, 2", a.d.Attempt, b.d.Attempt)
			}
			eventually(t, 5*time.Second, "stream empty", func() bool { return streamMsgs(t, js, cfg.Prefix) == 0 })
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
		if got.job.ID != long.ID || got.d.Attempt != 2 {
			t.Errorf("second consumer got %s attempt %d, want %s attempt 2", got.job.ID, got.d.Attempt, long.ID)
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
		if got.d.Attempt != 2 {
			t.Errorf("redelivered with Attempt %d, want 2", got.d.Attempt)
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
			if d.Attempt == 1 {
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
			t.Errorf("job redelivered (attempt %d) while its handler was running", c.d.Attempt)
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
		if got := rec.next(t, 5*time.Second); got.d.Attempt != 2 {
			t.Errorf("second consumer got attempt %d, want 2 (delivered to A, handed back)", got.d.Attempt)
		}
	})
}
