package kvlock_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/smartcar-poller/smartcar-poller/internal/kvlock"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// servers are the shared nats-server 2.9 and an embedded 2.15.
var servers = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"shared", func(t *testing.T) string { testserver.NATS(t).Close(); return testserver.NATSURL() }},
	{"embedded", func(t *testing.T) string { return testserver.EmbeddedNATS(t).ClientURL() }},
}

// connect opens a connection of its own (closed at the end of the test).
func connect(t *testing.T, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// testTTL is long enough that a heartbeat (every TTL/3) is not missed on a
// loaded machine, and short enough to wait for an expiry.
const testTTL = 3 * time.Second

// waitLog is a slog handler that reports each message on a channel.
type waitLog struct{ msgs chan string }

func newWaitLog() waitLog { return waitLog{make(chan string, 16)} }

func (w waitLog) Enabled(context.Context, slog.Level) bool { return true }
func (w waitLog) Handle(_ context.Context, r slog.Record) error {
	select {
	case w.msgs <- r.Message:
	default:
	}
	return nil
}
func (w waitLog) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w waitLog) WithGroup(string) slog.Handler      { return w }

// TestLock runs the lock's rules against nats-server 2.9 and 2.15.
func TestLock(t *testing.T) {
	for _, s := range servers {
		t.Run(s.name, func(t *testing.T) {
			url := s.url(t)
			for _, tc := range []struct {
				name string
				f    func(t *testing.T, url string, cfg kvlock.Config)
			}{
				{"second_holder_fails", testSecondHolderFails},
				{"released_lock_is_taken_at_once", testReleased},
				{"crashed_holder_expires", testCrashed},
				{"taken_key_is_lost", testTaken},
			} {
				t.Run(tc.name, func(t *testing.T) {
					cfg := kvlock.Config{Bucket: testserver.Unique("LOCK"), TTL: testTTL}
					t.Cleanup(func() {
						nc, err := nats.Connect(url)
						if err != nil {
							return
						}
						defer nc.Close()
						js, _ := jetstream.New(nc)
						_ = js.DeleteKeyValue(context.Background(), cfg.Bucket)
					})
					tc.f(t, url, cfg)
				})
			}
		})
	}
}

func acquire(t *testing.T, js jetstream.JetStream, cfg kvlock.Config, holder string) *kvlock.Lock {
	t.Helper()
	cfg.Holder = holder
	l, err := kvlock.Acquire(t.Context(), js, cfg, testserver.Logger(t))
	if err != nil {
		t.Fatalf("Acquire(%s): %v", holder, err)
	}
	return l
}

func testSecondHolderFails(t *testing.T, url string, cfg kvlock.Config) {
	_, js := connect(t, url)
	a := acquire(t, js, cfg, "replica-a pid 1")
	defer a.Release(context.Background())

	cfg.Holder, cfg.Wait = "replica-b pid 2", 500*time.Millisecond
	log := newWaitLog()
	b, err := kvlock.Acquire(t.Context(), js, cfg, slog.New(log))
	if err == nil {
		b.Release(context.Background())
		t.Fatal("a second holder got the lock")
	}
	var he *kvlock.HeldError
	if !errors.As(err, &he) || !errors.Is(err, kvlock.ErrHeld) || he.Holder.Holder != "replica-a pid 1" {
		t.Fatalf("err = %v, want a *HeldError naming replica-a", err)
	}
	if want := "lock " + cfg.Bucket + " is held by replica-a pid 1, since "; !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to contain %q", err, want)
	}
	if msg := <-log.msgs; !strings.HasPrefix(msg, "waiting for the lock") {
		t.Errorf("logged %q, want that it waits", msg)
	}
	if err := a.Err(); err != nil {
		t.Errorf("the holder's lock: %v", err)
	}
}

func testReleased(t *testing.T, url string, cfg kvlock.Config) {
	_, js := connect(t, url)
	a := acquire(t, js, cfg, "old")
	log := newWaitLog()
	got := make(chan error, 1)
	go func() {
		cfg.Holder, cfg.Wait = "new", time.Minute
		b, err := kvlock.Acquire(t.Context(), js, cfg, slog.New(log))
		if err == nil {
			err = b.Release(context.Background())
		}
		got <- err
	}()
	<-log.msgs // the new one waits
	start := time.Now()
	if err := a.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("after a clean release: %v", err)
	}
	// Not the TTL: the release deleted the key.
	if d := time.Since(start); d >= testTTL {
		t.Errorf("took %s after the release, want less than the TTL %s", d, testTTL)
	}
}

func testCrashed(t *testing.T, url string, cfg kvlock.Config) {
	ncA, jsA := connect(t, url)
	a := acquire(t, jsA, cfg, "crashed")
	ncA.Close() // the process is gone: no heartbeat, no release

	_, js := connect(t, url)
	cfg.Wait = 4 * testTTL
	b := acquire(t, js, cfg, "next")
	if err := b.Release(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The crashed holder, had it lived on, would know it lost the lock.
	select {
	case <-a.Lost():
	case <-time.After(4 * testTTL):
		t.Fatal("the holder without NATS still thinks it holds the lock")
	}
	if err := a.Release(context.Background()); !errors.Is(err, kvlock.ErrLost) {
		t.Errorf("Release of a lost lock = %v, want ErrLost", err)
	}
}

func testTaken(t *testing.T, url string, cfg kvlock.Config) {
	_, js := connect(t, url)
	a := acquire(t, js, cfg, "a")
	kv, err := js.KeyValue(t.Context(), cfg.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	// Someone removed the key (an operator, or it expired while NATS was
	// slow) and another process took the lock.
	if err := kv.Purge(t.Context(), "holder"); err != nil {
		t.Fatal(err)
	}
	b := acquire(t, js, cfg, "b")
	defer b.Release(context.Background())
	select {
	case <-a.Lost():
	case <-time.After(4 * testTTL):
		t.Fatal("the first holder did not notice the lock was taken")
	}
	if err := a.Err(); !errors.Is(err, kvlock.ErrLost) || !strings.Contains(err.Error(), "expired or taken") {
		t.Errorf("Err = %v, want ErrLost: expired or taken", err)
	}
	_ = a.Release(context.Background())
	// b's key survived a's last attempts.
	if e, err := kv.Get(t.Context(), "holder"); err != nil || !strings.Contains(string(e.Value()), `"holder":"b"`) {
		t.Errorf("key after a lost it: %v", err)
	}
}
