package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/smartcar-poller/smartcar-poller/inbox"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// servers are the shared nats-server 2.9 and an embedded 2.15.
var servers = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"shared", func(t *testing.T) string { testserver.NATS(t).Close(); return testserver.NATSURL() }},
	{"embedded", func(t *testing.T) string { return testserver.EmbeddedNATS(t).ClientURL() }},
}

func forEachServer(t *testing.T, f func(t *testing.T, url string)) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) { f(t, s.url(t)) })
	}
}

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

// fast makes retries and pulls quick enough for tests.
var fast = inbox.Config{
	FetchWait:     200 * time.Millisecond,
	ShutdownGrace: 300 * time.Millisecond,
	Backoff:       func(attempt int) time.Duration { return time.Duration(attempt) * 50 * time.Millisecond },
}

// newInbox opens an inbox with a unique prefix on js (cfg.Prefix filled in
// when empty) and deletes its stream when the test ends.
func newInbox(t *testing.T, js jetstream.JetStream, cfg inbox.Config) (*inbox.Inbox, inbox.Config) {
	t.Helper()
	if cfg.Prefix == "" {
		cfg.Prefix = testserver.Unique("ib")
	}
	if cfg.Logger == nil {
		cfg.Logger = testserver.Logger(t)
	}
	b, err := inbox.New(t.Context(), js, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, inbox.StreamName(cfg.Prefix)); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete stream: %v", err)
		}
	})
	return b, cfg
}

// consumer runs Consume in the background until stop.
type consumer struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func startConsume(t *testing.T, b *inbox.Inbox, concurrency int, h inbox.Handler) *consumer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.err = b.Consume(ctx, concurrency, h)
	}()
	t.Cleanup(func() { c.stop(t) })
	return c
}

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

// handled is what a test handler saw: the deliveries, in the order they came.
type handled struct {
	mu   sync.Mutex
	seen []inbox.Delivery
	c    chan inbox.Delivery
}

func newHandled() *handled { return &handled{c: make(chan inbox.Delivery, 1000)} }

func (h *handled) add(d inbox.Delivery) {
	h.mu.Lock()
	h.seen = append(h.seen, d)
	h.mu.Unlock()
	h.c <- d
}

// next waits for the next delivery a handler saw.
func (h *handled) next(t *testing.T) inbox.Delivery {
	t.Helper()
	select {
	case d := <-h.c:
		return d
	case <-time.After(20 * time.Second):
		t.Fatal("no delivery handled within 20s")
		return inbox.Delivery{}
	}
}

func streamMsgs(t *testing.T, js jetstream.JetStream, cfg inbox.Config) uint64 {
	t.Helper()
	s, err := js.Stream(t.Context(), inbox.StreamName(cfg.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// eventually polls cond (server-side state) every 20 ms until it holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestInbox_Put stores each id once: a put again within the duplicate
// window is not stored, even after the first was processed and left the
// work queue (Smartcar's retries of a delivery already answered).
func TestInbox_Put(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		_, js := connect(t, url)
		b, cfg := newInbox(t, js, fast)
		ctx := t.Context()
		for i, tc := range []struct {
			id   string
			body string
			dup  bool
		}{{"e1", "one", false}, {"e2", "two", false}, {"e1", "one again", true}} {
			dup, err := b.Put(ctx, tc.id, []byte(tc.body))
			if err != nil || dup != tc.dup {
				t.Fatalf("put %d (%s) = %v, %v; want %v, nil", i, tc.id, dup, err, tc.dup)
			}
		}
		if _, err := b.Put(ctx, "", []byte("x")); err == nil {
			t.Error("Put with an empty id: no error")
		}
		if n := streamMsgs(t, js, cfg); n != 2 {
			t.Fatalf("%d deliveries stored, want 2", n)
		}
		h := newHandled()
		c := startConsume(t, b, 2, func(_ context.Context, d inbox.Delivery) error { h.add(d); return nil })
		got := map[string]string{}
		for range 2 {
			d := h.next(t)
			got[d.ID] = string(d.Body)
			if d.Attempt != 1 || d.Received.IsZero() || d.Sequence == 0 {
				t.Errorf("delivery %+v: want attempt 1, a receive time and a sequence", d)
			}
		}
		if want := map[string]string{"e1": "one", "e2": "two"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("handled %v, want %v", got, want)
		}
		eventually(t, "the work queue to empty", func() bool { return streamMsgs(t, js, cfg) == 0 })
		if dup, err := b.Put(ctx, "e2", []byte("two, retried")); err != nil || !dup {
			t.Errorf("put e2 after it was processed = %v, %v; want a duplicate", dup, err)
		}
		if err := c.stop(t); err != nil {
			t.Errorf("Consume: %v", err)
		}
		if n := streamMsgs(t, js, cfg); n != 0 {
			t.Errorf("%d deliveries stored after the retry, want 0", n)
		}
		if s := b.Stats(); s.Stored != 2 || s.Duplicates != 2 || s.PutErrors != 0 || s.Processed != 2 || s.Deliveries != 2 {
			t.Errorf("stats %+v, want 2 stored, 2 duplicates, no put error, 2 processed", s)
		}
	})
}

// TestInbox_Put_full: a full inbox refuses new deliveries and keeps those
// it holds.
func TestInbox_Put_full(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		_, js := connect(t, url)
		cfg := fast
		cfg.MaxMessages = 2
		b, cfg := newInbox(t, js, cfg)
		for _, id := range []string{"a", "b"} {
			if _, err := b.Put(t.Context(), id, []byte(id)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.Put(t.Context(), "c", []byte("c")); err == nil {
			t.Error("Put into a full inbox: no error")
		}
		if n := streamMsgs(t, js, cfg); n != 2 {
			t.Errorf("%d deliveries stored, want the first 2", n)
		}
	})
}

// TestInbox_Consume_retries: a failing or panicking handler gets the
// delivery again after the backoff, with the attempt counted, until it
// succeeds; the other deliveries go on meanwhile.
func TestInbox_Consume_retries(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		_, js := connect(t, url)
		var (
			mu      sync.Mutex
			backoff []int
		)
		cfg := fast
		cfg.Backoff = func(attempt int) time.Duration {
			mu.Lock()
			backoff = append(backoff, attempt)
			mu.Unlock()
			return 100 * time.Millisecond
		}
		b, cfg := newInbox(t, js, cfg)
		h := newHandled()
		startConsume(t, b, 2, func(_ context.Context, d inbox.Delivery) error {
			h.add(d)
			switch {
			case d.ID == "flaky" && d.Attempt == 1:
				return errors.New("store unavailable")
			case d.ID == "flaky" && d.Attempt == 2:
				panic("bug")
			}
			return nil
		})
		for _, id := range []string{"flaky", "fine"} {
			if _, err := b.Put(t.Context(), id, []byte(id)); err != nil {
				t.Fatal(err)
			}
		}
		attempts := map[string][]int{}
		for range 4 {
			d := h.next(t)
			attempts[d.ID] = append(attempts[d.ID], d.Attempt)
		}
		if want := map[string][]int{"flaky": {1, 2, 3}, "fine": {1}}; fmt.Sprint(attempts) != fmt.Sprint(want) {
			t.Errorf("attempts %v, want %v", attempts, want)
		}
		eventually(t, "the work queue to empty", func() bool { return streamMsgs(t, js, cfg) == 0 })
		mu.Lock()
		if fmt.Sprint(backoff) != "[1 2]" {
			t.Errorf("backoff asked after attempts %v, want [1 2]", backoff)
		}
		mu.Unlock()
		// The last ack is counted once the server confirmed it.
		eventually(t, "both deliveries counted processed", func() bool { return b.Stats().Processed == 2 })
		if s := b.Stats(); s.Failures != 2 || s.Processed != 2 || s.Deliveries != 4 || !s.Consuming {
			t.Errorf("stats %+v, want 2 failures, 2 processed, 4 deliveries, consuming", s)
		}
	})
}

// TestInbox_Consume_shutdown: a handler still running when the grace ends
// has its context cancelled and its delivery handed back; the next
// consumer (a restarted daemon) processes it.
func TestInbox_Consume_shutdown(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		_, js := connect(t, url)
		b, cfg := newInbox(t, js, fast)
		started := make(chan struct{})
		c := startConsume(t, b, 1, func(ctx context.Context, d inbox.Delivery) error {
			close(started)
			<-ctx.Done() // stuck until the grace is over
			return ctx.Err()
		})
		if _, err := b.Put(t.Context(), "slow", []byte("x")); err != nil {
			t.Fatal(err)
		}
		<-started
		if err := c.stop(t); err != nil {
			t.Errorf("Consume after shutdown = %v, want nil", err)
		}
		if n := streamMsgs(t, js, cfg); n != 1 {
			t.Fatalf("%d deliveries stored after the hand-back, want 1", n)
		}
		again, _ := newInbox(t, js, cfg)
		h := newHandled()
		startConsume(t, again, 1, func(_ context.Context, d inbox.Delivery) error { h.add(d); return nil })
		if d := h.next(t); d.ID != "slow" || d.Attempt != 2 {
			t.Errorf("after the restart: %s attempt %d, want slow attempt 2", d.ID, d.Attempt)
		}
		eventually(t, "the work queue to empty", func() bool { return streamMsgs(t, js, cfg) == 0 })
	})
}

// TestInbox_Consume_crash: a process that dies while it processes a
// delivery (its connection gone, no ack, no hand-back) loses nothing: after
// the ack wait another consumer gets the delivery.
func TestInbox_Consume_crash(t *testing.T) {
	forEachServer(t, func(t *testing.T, url string) {
		_, js2 := connect(t, url)
		cfg := fast
		cfg.AckWait = time.Second
		b2, cfg := newInbox(t, js2, cfg) // deletes the stream at the end
		nc1, js1 := connect(t, url)
		b1, err := inbox.New(t.Context(), js1, cfg)
		if err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{})
		c := startConsume(t, b1, 1, func(ctx context.Context, _ inbox.Delivery) error {
			close(started)
			<-ctx.Done() // never finishes: the process dies first
			return ctx.Err()
		})
		if _, err := b1.Put(t.Context(), "in-flight", []byte("x")); err != nil {
			t.Fatal(err)
		}
		<-started
		nc1.Close() // the process dies
		select {
		case <-c.done:
			if !errors.Is(c.err, nats.ErrConnectionClosed) {
				t.Errorf("Consume after the connection closed = %v, want ErrConnectionClosed", c.err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Consume did not return after its connection closed")
		}

		h := newHandled()
		startConsume(t, b2, 1, func(_ context.Context, d inbox.Delivery) error { h.add(d); return nil })
		if d := h.next(t); d.ID != "in-flight" || d.Attempt != 2 {
			t.Errorf("after the crash: %s attempt %d, want in-flight attempt 2", d.ID, d.Attempt)
		}
		eventually(t, "the work queue to empty", func() bool { return streamMsgs(t, js2, cfg) == 0 })
	})
}

func TestConfig_invalid(t *testing.T) {
	_, js := connect(t, testserver.NATSURL())
	for _, cfg := range []inbox.Config{
		{Prefix: "a.b"},
		{Prefix: "a*"},
		{Prefix: strings.Repeat("p", 129)},
		{Replicas: -1},
		{MaxAge: time.Minute, Duplicates: time.Hour},
		{AckWait: time.Millisecond},
		{FetchWait: time.Millisecond},
		{MaxMessages: -1},
	} {
		if _, err := inbox.New(t.Context(), js, cfg); err == nil {
			t.Errorf("New(%+v): no error", cfg)
		}
	}
	b, _ := newInbox(t, js, inbox.Config{})
	if err := b.Consume(t.Context(), 0, nil); err == nil {
		t.Error("Consume with concurrency 0: no error")
	}
}

func TestDefaultBackoff(t *testing.T) {
	for attempt := 1; attempt <= 30; attempt++ {
		d := inbox.DefaultBackoff(attempt)
		if d < time.Second || d > 5*time.Minute {
			t.Fatalf("DefaultBackoff(%d) = %s, want within [1s, 5m]", attempt, d)
		}
		if attempt > 12 && d < 5*time.Minute*3/4 {
			t.Errorf("DefaultBackoff(%d) = %s, want near the 5m cap", attempt, d)
		}
	}
}
