package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/datadir"
	"github.com/smartcar-poller/smartcar-poller/internal/kvlock"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// embeddedConfig writes the README's embedded configuration (empty nats.url
// and redis.url, no redirect URI) with a fast schedule, and points the
// process's SMARTCAR_* variables at sim with its credentials.
func embeddedConfig(t *testing.T, sim *smartcartest.Server) (cfgPath, dataDir string) {
	t.Helper()
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	cfgPath = filepath.Join(dir, "poller.yaml")
	writeFile(t, cfgPath, fmt.Sprintf(`nats: { url: "", subject_prefix: smartcar }
redis: { url: "" }
data_dir: %s
smartcar: { rate_limit: { requests_per_minute: 600, burst: 20 } }
workers: { concurrency: 4, shutdown_grace: 5s }
http: { listen: "127.0.0.1:0" }
log: { level: info, format: json }
schedules:
  - { name: fast, cron: "@every 1s", paths: [/odometer], vehicles: all, emit: always }
`, dataDir))
	for _, kv := range append(simEnv(sim), smartcar.EnvRedirectURI+"=", smartcar.EnvClientID+"="+sim.ClientID,
		"SMARTCAR_CLIENT_SECRET="+sim.ClientSecret) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return cfgPath, dataDir
}

// runningDaemon is `run` in this process.
type runningDaemon struct {
	stop   context.CancelFunc
	done   chan int
	stderr testserver.Buffer
}

func startDaemon(t *testing.T, cfgPath string) *runningDaemon {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	d := &runningDaemon{stop: cancel, done: make(chan int, 1)}
	go func() { d.done <- run(ctx, []string{"run", "--config", cfgPath}, new(bytes.Buffer), &d.stderr) }()
	t.Cleanup(func() {
		cancel()
		<-d.done
	})
	return d
}

// waitRunning waits for the daemon's "running" line.
func (d *runningDaemon) waitRunning(t *testing.T) {
	t.Helper()
	waitUntil(t, 60*time.Second, "the daemon to run", func() bool {
		select {
		case code := <-d.done:
			t.Fatalf("daemon exited with %d\n%s", code, d.stderr.String())
		default:
		}
		return strings.Contains(d.stderr.String(), "smartcar-poller running")
	})
}

// cli runs one command line in this process.
func cli(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(t.Context(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// odometers counts the odometer events of each vehicle seen on nc.
type odometers struct {
	mu sync.Mutex
	n  map[string]int
}

func (o *odometers) get(id string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.n[id]
}

func countOdometers(t *testing.T, nc *nats.Conn) *odometers {
	t.Helper()
	o := &odometers{n: map[string]int{}}
	sub, err := nc.Subscribe("smartcar.vehicles.*.odometer", func(m *nats.Msg) {
		ev, err := events.Parse(m.Data)
		if err != nil {
			t.Errorf("bad event: %v", err)
			return
		}
		o.mu.Lock()
		o.n[ev.Subject]++
		o.mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	return o
}

// TestEmbedded_CommandsBesideDaemon runs the daemon with the README's
// embedded configuration and the commands beside it, all in this process
// (the data_dir lock is per open file, so it works as between processes):
// the vehicles a command connects are polled by the running daemon at once,
// a removed one stops being polled, tail and vehicles list work without
// credentials, a second daemon fails at once naming the holder, and once the
// daemon stopped the commands open the store themselves.
func TestEmbedded_CommandsBesideDaemon(t *testing.T) {
	sim := smartcartest.NewServer(smartcartest.WithSeed(31), smartcartest.WithVehicles(2), smartcartest.WithTimeScale(60))
	defer sim.Close()
	cfgPath, dataDir := embeddedConfig(t, sim)
	d := startDaemon(t, cfgPath)
	d.waitRunning(t)

	// The log names the port http.listen's :0 got.
	m := regexp.MustCompile(`"msg":"smartcar-poller running".*"http":"(127\.0\.0\.1:[1-9][0-9]*)"`).FindStringSubmatch(d.stderr.String())
	if m == nil {
		t.Fatalf("no running line with the HTTP address in the log:\n%s", d.stderr.String())
	}
	if body := httpGet(t, "http://"+m[1]+"/healthz"); body != "ok\n" {
		t.Errorf("GET /healthz at the logged address = %q", body)
	}

	// The daemon publishes its server: loopback, token required.
	h, err := datadir.ReadHolder(dataDir)
	if err != nil || !h.Reachable() || h.PID != os.Getpid() || !strings.HasPrefix(h.NATSURL, "nats://127.0.0.1:") {
		t.Fatalf("holder record = %+v, %v; want this daemon's loopback URL", h, err)
	}
	if nc, err := nats.Connect(h.NATSURL); err == nil {
		nc.Close()
		t.Error("the daemon's server accepted a client without its token")
	}
	nc, err := nats.Connect(h.NATSURL, nats.Token(h.NATSToken))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	seen := countOdometers(t, nc)

	// A second daemon on the same data_dir fails at once, naming both.
	code, _, stderr := cli(t, "run", "--config", cfgPath)
	want := "data_dir " + dataDir + " is in use by pid " + strconv.Itoa(os.Getpid()) + " (smartcar-poller run, since "
	if code != 1 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "one daemon runs per data_dir") {
		t.Errorf("second run = %d, stderr %q; want 1 and %q", code, stderr, want)
	}

	// connect goes through the running daemon, which polls the new vehicles.
	grant := sim.Connect(nil, nil)
	code, stdout, stderr := cli(t, "connect", "--config", cfgPath, "--refresh-token", grant.RefreshToken)
	if code != 0 || !strings.Contains(stdout, "connected 2 vehicle(s)") {
		t.Fatalf("connect = %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	keep, removed := sim.Vehicles()[0].ID, sim.Vehicles()[1].ID
	waitUntil(t, 30*time.Second, "the running daemon to poll both new vehicles", func() bool {
		return seen.get(keep) >= 2 && seen.get(removed) >= 2
	})

	// Reading needs no Smartcar credentials.
	t.Setenv(smartcar.EnvClientID, "")
	t.Setenv("SMARTCAR_CLIENT_SECRET", "")
	code, stdout, stderr = cli(t, "vehicles", "list", "--config", cfgPath)
	if code != 0 || !strings.Contains(stdout, keep) || !strings.Contains(stdout, removed) {
		t.Fatalf("vehicles list = %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	tailOdometer(t, cfgPath, keep)

	// remove goes through the daemon too: it stops polling the vehicle.
	code, stdout, stderr = cli(t, "vehicles", "remove", "--config", cfgPath, removed)
	if code != 0 || stdout != "removed "+removed+"\n" {
		t.Fatalf("vehicles remove = %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	base := seen.get(keep)
	waitUntil(t, 30*time.Second, "3 more polls of the kept vehicle", func() bool { return seen.get(keep) >= base+3 })
	after := seen.get(removed) // a job enqueued before the removal may have finished since
	waitUntil(t, 30*time.Second, "3 more polls of the kept vehicle", func() bool { return seen.get(keep) >= base+6 })
	if got := seen.get(removed); got != after {
		t.Errorf("the removed vehicle was polled %d more times", got-after)
	}

	// The daemon stops cleanly and withdraws its record.
	d.stop()
	if code := <-d.done; code != 0 {
		t.Fatalf("daemon exit code %d\n%s", code, d.stderr.String())
	}
	d.done <- 0 // for the cleanup
	if _, err := os.Stat(filepath.Join(dataDir, datadir.HolderFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("holder record after the daemon stopped: %v", err)
	}

	// Without a daemon, a command opens the store itself and lets it go.
	code, stdout, stderr = cli(t, "vehicles", "list", "--config", cfgPath)
	if code != 0 || !strings.Contains(stdout, keep) || strings.Contains(stdout, removed) {
		t.Fatalf("vehicles list without a daemon = %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if _, held, err := datadir.Probe(dataDir); err != nil || held {
		t.Errorf("data_dir after the Command: held %v, %v; want free", held, err)
	}
	code, _, stderr = cli(t, "tail", "--config", cfgPath)
	if code != 1 || !strings.Contains(stderr, "no daemon is running on data_dir "+dataDir) {
		t.Errorf("tail without a daemon = %d, stderr %q", code, stderr)
	}
}

// tailOdometer runs tail on the embedded configuration until it prints an
// odometer event of vehicle.
func tailOdometer(t *testing.T, cfgPath, vehicle string) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr testserver.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"tail", "--config", cfgPath, "--vehicle", vehicle, "--signal", "odometer"}, &stdout, &stderr)
	}()
	waitUntil(t, 30*time.Second, "tail to print an odometer event", func() bool {
		select {
		case code := <-done:
			t.Fatalf("tail exited with %d\nstderr: %s", code, stderr.String())
		default:
		}
		return strings.Contains(stdout.String(), vehicle)
	})
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("tail exit code %d\nstderr: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "odometer") || !strings.Contains(stdout.String(), "distance_km") {
		t.Errorf("tail printed:\n%s", stdout.String())
	}
}

// TestEmbedded_DaemonWaitsForCommand starts the daemon while a command
// holds the data_dir: it waits for it, saying so, then runs.
func TestEmbedded_DaemonWaitsForCommand(t *testing.T) {
	sim := smartcartest.NewServer(smartcartest.WithSeed(32), smartcartest.WithVehicles(1))
	defer sim.Close()
	cfgPath, dataDir := embeddedConfig(t, sim)
	cmdLock, err := datadir.TryLock(dataDir, datadir.Holder{Command: "vehicles list"})
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfgPath)
	waitUntil(t, 30*time.Second, "the daemon to wait for the data_dir", func() bool {
		return strings.Contains(d.stderr.String(), "waiting for the data_dir")
	})
	if !strings.Contains(d.stderr.String(), "(smartcar-poller vehicles list, since") {
		t.Errorf("the daemon's log does not name the holder:\n%s", d.stderr.String())
	}
	if err := cmdLock.Unlock(); err != nil {
		t.Fatal(err)
	}
	d.waitRunning(t)
}

// TestReplicaLock_embeddedTokenStore runs the daemon with the embedded token
// store on an external NATS server (the machine's nats-server 2.9): a second
// replica fails clearly, and a new one starts once the first stopped.
func TestReplicaLock_embeddedTokenStore(t *testing.T) {
	sim := smartcartest.NewServer(smartcartest.WithSeed(33), smartcartest.WithVehicles(1))
	defer sim.Close()
	cfg := testConfig(t, sim)
	cfg.Redis.URL = "" // the token store in JetStream KV
	prefix := cfg.NATS.SubjectPrefix
	cleanupNames(t, nil, prefix)
	ctx := t.Context()

	first, err := open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	closeFirst := sync.OnceFunc(first.Close)
	defer closeFirst()

	o := simOptions(sim)
	o.ReplicaLock = kvlock.Config{Wait: 300 * time.Millisecond}
	second, err := open(ctx, cfg, testLogger(t), o)
	if err == nil {
		second.Close()
		t.Fatal("a second replica opened the embedded token store")
	}
	host, _ := os.Hostname()
	want := fmt.Sprintf("embedded token store: lock %s_REPLICA is held by %s pid %d, since ", strings.ToUpper(prefix), host, os.Getpid())
	if !errors.Is(err, kvlock.ErrHeld) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "it allows one replica") {
		t.Fatalf("second replica: %v\nwant ErrHeld and %q", err, want)
	}

	// A rolling restart: the first stops cleanly, the next starts at once.
	closeFirst()
	next, err := open(ctx, cfg, testLogger(t), o)
	if err != nil {
		t.Fatalf("after the first stopped: %v", err)
	}
	next.Close()
	// A command (connect, vehicles) is no replica: it takes no lock.
	cmd := simOptions(sim)
	cmd.ConnectOnly, cmd.ReplicaLock = true, kvlock.Config{Wait: 300 * time.Millisecond}
	next, err = open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	c, err := open(ctx, cfg, testLogger(t), cmd)
	if err != nil {
		t.Fatalf("a command beside the replica: %v", err)
	}
	c.Close()
}
