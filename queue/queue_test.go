package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// server names a NATS server the queue tests run against.
type server struct {
	name string
	url  func(t *testing.T) string
}

// servers are the shared nats-server 2.9 and an embedded 2.15.
var servers = []server{
	{"shared", func(t *testing.T) string { testserver.NATS(t).Close(); return testserver.NATSURL() }},
	{"embedded", func(t *testing.T) string { return testserver.EmbeddedNATS(t).ClientURL() }},
}

// forEachServer runs f as a subtest per server.
func forEachServer(t *testing.T, f func(t *testing.T, url string)) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) { f(t, s.url(t)) })
	}
}

// connect opens a connection closed at the end of the test.
func connect(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		testserver.Unavailable(t, "nats at %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// newQueue creates a queue with a unique prefix on url and deletes its
// stream when the test ends. cfg.Prefix is filled in when empty.
func newQueue(t *testing.T, url string, cfg queue.Config) (*queue.Queue, jetstream.JetStream, queue.Config) {
	t.Helper()
	_, js := connect(t, url)
	if cfg.Prefix == "" {
		cfg.Prefix = testserver.Unique("qt")
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	q, err := queue.New(t.Context(), js, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := js.DeleteStream(ctx, queue.StreamName(cfg.Prefix))
		if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream: %v", err)
		}
		err = js.DeleteKeyValue(ctx, queue.FailuresBucket(cfg.Prefix))
		if err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
			t.Errorf("delete failures bucket: %v", err)
		}
	})
	return q, js, cfg
}

// testLogger logs through t.Log when -v is given.
func testLogger(t *testing.T) *slog.Logger { return testserver.Logger(t) }

// jobs returns n jobs for vehicles v0..v(n-1) at tick.
func jobs(schedule string, n int, tick time.Time) []queue.PollJob {
	out := make([]queue.PollJob, n)
	for i := range out {
		vid := fmt.Sprintf("v%d", i)
		out[i] = queue.PollJob{
			ID:        queue.JobID(schedule, vid, tick),
			Schedule:  schedule,
			VehicleID: vid,
			Paths:     []string{"/odometer", "/location"},
			Tick:      tick,
			Emit:      "always",
		}
	}
	return out
}

// eventually polls cond every 20 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// streamMsgs returns the number of messages in the queue's stream.
func streamMsgs(t *testing.T, js jetstream.JetStream, prefix string) uint64 {
	t.Helper()
	s, err := js.Stream(t.Context(), queue.StreamName(prefix))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// consumer runs Consume in the background.
type consumer struct {
	cancel   context.CancelFunc
	done     chan struct{}
	err      error
	returned time.Time
}

func startConsume(t *testing.T, q *queue.Queue, concurrency int, h queue.Handler) *consumer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.err = q.Consume(ctx, concurrency, h)
		c.returned = time.Now()
	}()
	t.Cleanup(func() { c.stop(t) })
	return c
}

// stop cancels Consume and waits for it to return.
func (c *consumer) stop(t *testing.T) error {
	t.Helper()
	c.cancel()
	select {
	case <-c.done:
		return c.err
	case <-time.After(30 * time.Second):
		t.Fatal("Consume did not return within 30s of cancel")
		return nil
	}
}

// recorder records handler calls.
type recorder struct {
	mu    sync.Mutex
	calls []call
	ch    chan call
}

type call struct {
	job queue.PollJob
	d   queue.Delivery
	at  time.Time
}

func newRecorder() *recorder { return &recorder{ch: make(chan call, 1000)} }

func (r *recorder) record(job queue.PollJob, d queue.Delivery) {
	c := call{job: job, d: d, at: time.Now()}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	r.ch <- c
}

// next waits for the next call.
func (r *recorder) next(t *testing.T, timeout time.Duration) call {
	t.Helper()
	select {
	case c := <-r.ch:
		return c
	case <-time.After(timeout):
		t.Fatalf("no handler call within %s", timeout)
		return call{}
	}
}

// failuresOf reads a job's entry in the failures bucket.
func failuresOf(t *testing.T, js jetstream.JetStream, prefix string, seq uint64) (map[string]any, error) {
	t.Helper()
	kv, err := js.KeyValue(t.Context(), queue.FailuresBucket(prefix))
	if err != nil {
		t.Fatalf("failures bucket: %v", err)
	}
	e, err := kv.Get(t.Context(), strconv.FormatUint(seq, 10))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(e.Value(), &m); err != nil {
		t.Fatalf("failures of job %d: %v", seq, err)
	}
	return m, nil
}

// logRecords returns the JSON log records in logs whose message is msg.
func logRecords(t *testing.T, logs *testserver.Buffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(logs.String()) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// connectB is connect for benchmarks.
func connectB(b *testing.B, url string) (*nats.Conn, jetstream.JetStream) {
	b.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	return nc, js
}
