// Package testserver gives tests real Redis and NATS servers: the shared ones
// on this machine (127.0.0.1:6379 and 127.0.0.1:4222), fresh in-process NATS
// servers, and fresh redis-server processes on free ports for tests that kill
// or restart a server.
//
// A test that cannot reach a server it needs is skipped, unless the
// environment variable REQUIRE_SERVICES is set (CI sets it), in which case it
// fails.
package testserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

// Default addresses of the shared servers; override with TEST_REDIS_ADDR and
// TEST_NATS_URL.
const (
	DefaultRedisAddr = "127.0.0.1:6379"
	DefaultNATSURL   = "nats://127.0.0.1:4222"
)

// Required reports whether missing servers must fail tests instead of skipping them.
func Required() bool { return os.Getenv("REQUIRE_SERVICES") != "" }

// Unavailable skips t, or fails it when REQUIRE_SERVICES is set.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("REQUIRE_SERVICES is set: %s", msg)
	}
	t.Skipf("skipping: %s (set REQUIRE_SERVICES=1 to fail instead)", msg)
}

// Unique returns a short random name with the given prefix, for keys,
// streams, subjects and buckets that must not collide between tests.
func Unique(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// RedisAddr returns the address of the shared Redis server.
func RedisAddr() string {
	if a := os.Getenv("TEST_REDIS_ADDR"); a != "" {
		return a
	}
	return DefaultRedisAddr
}

// NATSURL returns the URL of the shared NATS server.
func NATSURL() string {
	if u := os.Getenv("TEST_NATS_URL"); u != "" {
		return u
	}
	return DefaultNATSURL
}

// Redis connects to the shared Redis server. Keys the test writes should use a
// prefix from Unique; the client is closed when the test ends.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: RedisAddr()})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		Unavailable(t, "redis at %s: %v", RedisAddr(), err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// NATS connects to the shared NATS server (with JetStream). Streams the test
// creates need unique names and subjects; the connection is closed when the test ends.
func NATS(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(NATSURL(), nats.Timeout(2*time.Second))
	if err != nil {
		Unavailable(t, "nats at %s: %v", NATSURL(), err)
	}
	t.Cleanup(nc.Close)
	keepAccountDir(t, nc)
	return nc
}

// keepStream is a file-storage stream every test server holds so that the
// account's stream directory never empties.
//
// When a stream is deleted, nats-server removes its account's "streams"
// directory in a background goroutine if it is empty. A stream created at
// that moment fails with "error creating store for stream" (the server logs
// "could not create storage directory ... no such file or directory"): its
// MkdirAll raced the removal. Tests that create a stream, delete it in
// cleanup and create the next one hit that race whenever theirs was the
// account's only stream. With this stream in place the directory is never
// empty, so the server never removes it.
const keepStream = "TESTSERVER_KEEP"

// keepAccountDir creates keepStream on nc's server if it is missing.
func keepAccountDir(t testing.TB, nc *nats.Conn) {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        keepStream,
		Description: "keeps the account's stream directory from being removed under a concurrent create",
		Subjects:    []string{"testserver.keep"},
		Storage:     jetstream.FileStorage,
	}); err != nil {
		t.Fatalf("create %s: %v", keepStream, err)
	}
}

// EmbeddedNATS starts an in-process NATS server with JetStream on a free
// port, storing under a temporary directory, and stops it when the test ends.
func EmbeddedNATS(t testing.TB) *natsserver.Server {
	t.Helper()
	return EmbeddedNATSAt(t, t.TempDir(), -1)
}

// EmbeddedNATSAt starts an in-process NATS server with JetStream storing in
// dir and listening on port (-1 for a free one). Use it to restart a server on
// the same port and store.
func EmbeddedNATSAt(t testing.TB, dir string, port int) *natsserver.Server {
	t.Helper()
	s, err := natsserver.NewServer(&natsserver.Options{
		Host:      "127.0.0.1",
		Port:      port,
		JetStream: true,
		StoreDir:  dir,
		NoSigs:    true,
	})
	if err != nil {
		t.Fatalf("embedded nats: %v", err)
	}
	logs := &serverLog{t: t}
	s.SetLoggerV2(logs, false, false, false)
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		t.Fatal("embedded nats: not ready after 10s")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
		logs.stop()
	})
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatalf("embedded nats: %v", err)
	}
	defer nc.Close()
	keepAccountDir(t, nc)
	return s
}

// StartNATS starts an in-process nats-server with opts (authentication,
// TLS: what a test of the daemon's connection needs) on 127.0.0.1 and a
// free port, without logs or signal handlers, and stops it when the test
// ends.
func StartNATS(t testing.TB, opts *natsserver.Options) *natsserver.Server {
	t.Helper()
	opts.Host, opts.Port, opts.NoLog, opts.NoSigs = "127.0.0.1", -1, true, true
	s, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatalf("nats server: %v", err)
	}
	s.Start()
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	return s
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// RedisServer is a redis-server process owned by one test.
type RedisServer struct {
	Addr string
	Dir  string
	Args []string
	cmd  *exec.Cmd
}

// StartRedis starts a redis-server on a free port with its data in a
// temporary directory. Extra arguments (e.g. "--appendonly", "yes") are
// passed through. The server is killed when the test ends.
func StartRedis(t testing.TB, extra ...string) *RedisServer {
	t.Helper()
	return startRedis(t, func(rs *RedisServer, port int) []string {
		// A primary starts a replica's sync at once, not after Redis's
		// default five seconds of waiting for more replicas.
		return append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "",
			"--repl-diskless-sync-delay", "0",
			"--dir", rs.Dir, "--logfile", filepath.Join(rs.Dir, "redis.log")}, extra...)
	})
}

// startRedis starts a redis-server on a free port with the arguments args
// returns for it (rs.Dir is set).
func startRedis(t testing.TB, args func(rs *RedisServer, port int) []string) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		Unavailable(t, "redis-server binary not found")
	}
	port := FreePort(t)
	rs := &RedisServer{Addr: "127.0.0.1:" + strconv.Itoa(port), Dir: t.TempDir()}
	rs.Args = args(rs, port)
	t.Cleanup(rs.Kill)
	if err := rs.start(bin); err != nil {
		t.Fatal(err)
	}
	return rs
}

func (rs *RedisServer) start(bin string) error {
	rs.cmd = exec.Command(bin, rs.Args...)
	if err := rs.cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server: %w", err)
	}
	c := redis.NewClient(&redis.Options{Addr: rs.Addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on %s not ready after 10s", rs.Addr)
}

// Kill stops the server with SIGKILL and waits for it.
func (rs *RedisServer) Kill() {
	if rs.cmd != nil && rs.cmd.Process != nil {
		_ = rs.cmd.Process.Kill()
		_ = rs.cmd.Wait()
		rs.cmd = nil
	}
}

// Restart kills the server and starts it again on the same port and directory.
func (rs *RedisServer) Restart(t testing.TB) {
	t.Helper()
	rs.Kill()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.start(bin); err != nil {
		t.Fatal(err)
	}
}

// Client returns a client for this server, closed when the test ends.
func (rs *RedisServer) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: rs.Addr})
	t.Cleanup(func() { _ = c.Close() })
	return c
}
