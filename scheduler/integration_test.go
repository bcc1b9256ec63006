package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

// replicaQueue opens its own connection to url and a queue on prefix,
// deleting the stream when the test ends.
func replicaQueue(t *testing.T, url, prefix string) (*queue.Queue, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		testserver.Unavailable(t, "nats at %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	q, err := queue.New(t.Context(), js, queue.Config{Prefix: prefix, Storage: jetstream.MemoryStorage, FetchWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, queue.StreamName(prefix)); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream: %v", err)
		}
		if err := js.DeleteKeyValue(ctx, queue.FailuresBucket(prefix)); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			t.Errorf("delete failures bucket: %v", err)
		}
	})
	return q, js
}

// counting wraps a real Enqueuer and adds up its results.
type counting struct {
	scheduler.Enqueuer
	mu  sync.Mutex
	res queue.EnqueueResult
}

func (c *counting) Enqueue(ctx context.Context, jobs ...queue.PollJob) (queue.EnqueueResult, error) {
	res, err := c.Enqueuer.Enqueue(ctx, jobs...)
	c.mu.Lock()
	c.res.Enqueued += res.Enqueued
	c.res.Duplicates += res.Duplicates
	c.mu.Unlock()
	return res, err
}

// drain consumes every job in q and returns how often each id came.
func drain(t *testing.T, q *queue.Queue, want int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	var mu sync.Mutex
	all := make(chan struct{})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- q.Consume(ctx, 8, func(_ context.Context, j queue.PollJob, _ queue.Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			seen[j.ID]++
			if len(seen) == want {
				close(all)
			}
			return nil
		})
	}()
	select {
	case <-all:
	case <-time.After(20 * time.Second):
		t.Errorf("consumed %d distinct jobs in 20s, want %d", len(seen), want)
	}
	// Anything more (a copy) would arrive while the depth is checked.
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := q.Depth(t.Context())
		if err == nil && d.Pending == 0 && d.AckPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("queue not empty after consuming: %+v, %v", d, err)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Consume = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	return seen
}

func TestScheduler_twoReplicas(t *testing.T) {
	servers := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"shared", func(t *testing.T) string { testserver.NATS(t).Close(); return testserver.NATSURL() }},
		{"embedded", func(t *testing.T) string { return testserver.EmbeddedNATS(t).ClientURL() }},
	}
	const n = 500
	for _, srv := range servers {
		for _, jitter := range []time.Duration{0, time.Minute} {
			t.Run(fmt.Sprintf("%s/jitter=%s", srv.name, jitter), func(t *testing.T) {
				url := srv.url(t)
				prefix := testserver.Unique("st")
				reg := vehicles(n)
				sched := scheduler.Schedule{Name: "default", Cron: "*/30 * * * *", Paths: []string{"/odometer"},
					Vehicles: scheduler.Selector{All: true}, Jitter: jitter}
				var enqs []*counting
				var scheds []*scheduler.Scheduler
				for range 2 { // two replicas, each with its own connection
					q, _ := replicaQueue(t, url, prefix)
					c := &counting{Enqueuer: q}
					enqs = append(enqs, c)
					scheds = append(scheds, newScheduler(t, reg, c, sched))
				}
				// With a jitter, fire a tick a whole window late so every
				// group is due at once and the test does not wait.
				tick := time.Now().Truncate(time.Second).Add(-jitter)
				var wg sync.WaitGroup
				errs := make([]error, len(scheds))
				for i, s := range scheds {
					wg.Go(func() { errs[i] = s.Fire(t.Context(), "default", tick) })
				}
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("replica %d: Fire = %v", i, err)
					}
				}
				var total queue.EnqueueResult
				for _, c := range enqs {
					total.Enqueued += c.res.Enqueued
					total.Duplicates += c.res.Duplicates
				}
				if want := (queue.EnqueueResult{Enqueued: n, Duplicates: n}); total != want {
					t.Errorf("both replicas together: %+v, want %+v", total, want)
				}

				q, _ := replicaQueue(t, url, prefix)
				seen := drain(t, q, n)
				for _, v := range reg {
					if c := seen[queue.JobID("default", v.ID, tick)]; c != 1 {
						t.Errorf("vehicle %s: job consumed %d times, want once", v.ID, c)
					}
				}
				if len(seen) != n {
					t.Errorf("%d distinct jobs consumed, want %d", len(seen), n)
				}
			})
		}
	}
}

func TestScheduler_Run_realQueue(t *testing.T) {
	url := testserver.EmbeddedNATS(t).ClientURL()
	prefix := testserver.Unique("sr")
	q, _ := replicaQueue(t, url, prefix)
	s := newScheduler(t, vehicles(20), q, scheduler.Schedule{
		Name: "fast", Cron: "@every 1s", Paths: []string{"/odometer"}, Vehicles: scheduler.Selector{All: true},
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := q.Depth(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if d.Pending >= 40 { // two ticks of 20 vehicles
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d jobs enqueued by Run in 10s, want 40", d.Pending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

// stopOnEnqueue stops the scheduler when its first batch is handed over,
// then passes the batch on to the real queue.
type stopOnEnqueue struct {
	scheduler.Enqueuer
	stop context.CancelFunc
	once sync.Once
	done chan struct{}
	res  queue.EnqueueResult
	err  error
}

func (s *stopOnEnqueue) Enqueue(ctx context.Context, jobs ...queue.PollJob) (queue.EnqueueResult, error) {
	first := false
	s.once.Do(func() { first = true })
	if !first {
		return s.Enqueuer.Enqueue(ctx, jobs...)
	}
	s.stop() // SIGTERM while the firing hands its tick over
	s.res, s.err = s.Enqueuer.Enqueue(ctx, jobs...)
	close(s.done)
	return s.res, s.err
}

// TestScheduler_stopDuringFiring: a stop that comes while a firing hands
// its jobs to the queue does not cut the tick in two: the batch begun is
// enqueued whole.
func TestScheduler_stopDuringFiring(t *testing.T) {
	q, _ := replicaQueue(t, testserver.NATSURL(), testserver.Unique("stopfire"))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	enq := &stopOnEnqueue{Enqueuer: q, stop: cancel, done: make(chan struct{})}
	s := newScheduler(t, vehicles(20), enq, scheduler.Schedule{
		Name: "fast", Cron: "@every 1s", Paths: []string{"/odometer"}, Vehicles: scheduler.Selector{All: true},
	})
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-enq.done:
	case <-time.After(10 * time.Second):
		t.Fatal("no firing in 10 s")
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if enq.err != nil || enq.res.Enqueued != 20 {
		t.Errorf("the tick's batch after the stop: %d of 20 enqueued, %v; want all 20", enq.res.Enqueued, enq.err)
	}
}
