package reliability

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// full reports whether the long variants run (FAULTS=full, set by make faults).
func full() bool { return os.Getenv("FAULTS") == "full" }

// wires are the Smartcar APIs a scenario runs on: API v3 (the default) in
// the normal run, v3 and v2 with FAULTS=full.
func wires() []string {
	if full() {
		return []string{config.APIV3, config.APIV2}
	}
	return []string{config.APIV3}
}

// forEachWire runs scenario as a parallel subtest per API of wires() (or
// of apis when given).
func forEachWire(t *testing.T, scenario func(t *testing.T, api string), apis ...string) {
	if len(apis) == 0 {
		apis = wires()
	}
	for _, api := range apis {
		t.Run(api, func(t *testing.T) {
			t.Parallel()
			scenario(t, api)
		})
	}
}

// newSim is the simulator of a scenario: its options, application tokens
// that live an hour of real time as on Smartcar (the scenarios run the
// simulated clock 60 times as fast), and closed at the end.
func newSim(t *testing.T, opts ...smartcartest.Option) *smartcartest.Server {
	t.Helper()
	sim := smartcartest.NewServer(append(opts, smartcartest.WithAppTokenLifetime(60*time.Hour))...)
	t.Cleanup(sim.Close)
	return sim
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds smartcar-poller once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("RELIABILITY_BIN"); p != "" {
			binPath = p // a prebuilt binary, e.g. while the tree is being edited
			return
		}
		binDir, buildErr = os.MkdirTemp("", "reliability-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "smartcar-poller")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/smartcar-poller").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// natsServer is a nats-server process with JetStream file storage that a
// test can kill -9 and start again on the same port and store.
type natsServer struct {
	URL  string
	port int
	dir  string
	cmd  *exec.Cmd
	log  *testserver.Buffer
}

func startNATS(t *testing.T) *natsServer {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nats-server"); serr != nil {
			testserver.Unavailable(t, "nats-server binary not found")
		}
		bin = "/usr/sbin/nats-server"
	}
	port := testserver.FreePort(t)
	ns := &natsServer{URL: fmt.Sprintf("nats://127.0.0.1:%d", port), port: port, dir: t.TempDir(), log: &testserver.Buffer{}}
	ns.start(t, bin)
	t.Cleanup(ns.kill)
	return ns
}

func (ns *natsServer) start(t *testing.T, bin string) {
	t.Helper()
	ns.cmd = exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(ns.port), "-js", "-sd", ns.dir)
	ns.cmd.Stdout, ns.cmd.Stderr = ns.log, ns.log
	if err := ns.cmd.Start(); err != nil {
		t.Fatalf("start nats-server: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		nc, err := nats.Connect(ns.URL, nats.Timeout(time.Second))
		if err == nil {
			js, _ := jetstream.New(nc)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_, err = js.AccountInfo(ctx)
			cancel()
			nc.Close()
			if err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server on %s not ready after 20s: %v\n%s", ns.URL, err, ns.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill stops the server with SIGKILL and waits for it.
func (ns *natsServer) kill() {
	if ns.cmd != nil && ns.cmd.Process != nil {
		_ = ns.cmd.Process.Kill()
		_ = ns.cmd.Wait()
		ns.cmd = nil
	}
}

// restart kills the server, leaves it down for outage, and starts it again
// on the same port and store.
func (ns *natsServer) restart(t *testing.T, outage time.Duration) {
	t.Helper()
	bin := ns.cmd.Path
	ns.kill()
	time.Sleep(outage) // the length of the outage, not a synchronisation
	ns.start(t, bin)
}

// setup is what one fault test runs on: its own Redis (AOF on) and NATS, the
// simulator, a grant connected through the binary, and the daemon's settings.
type setup struct {
	t      *testing.T
	bin    string
	redis  *testserver.RedisServer
	nats   *natsServer
	sim    *smartcartest.Server
	prefix string
	dir    string
	env    []string
	opts   options
	// Vehicles are the connected vehicles' ids.
	Vehicles []string
	nc       *nats.Conn
	js       jetstream.JetStream
	runs     int // run processes started: each may fetch one application token
}

// options are the daemon settings a scenario varies.
type options struct {
	// API is smartcar.api (default v3). The schedule asks for Paths: on v3
	// as their signals.
	API           string
	Concurrency   int
	AckWait       time.Duration
	ShutdownGrace time.Duration
	Timeout       time.Duration
	Cron          string
	Paths         []string
	RedisArgs     []string
}

func (o options) withDefaults() options {
	if o.API == "" {
		o.API = config.APIV3
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	if o.AckWait == 0 {
		o.AckWait = 5 * time.Second
	}
	if o.ShutdownGrace == 0 {
		o.ShutdownGrace = 3 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Cron == "" {
		o.Cron = "@every 1s"
	}
	if o.Paths == nil {
		o.Paths = []string{"/odometer", "/location"}
	}
	if o.RedisArgs == nil {
		o.RedisArgs = []string{"--appendonly", "yes"}
	}
	return o
}

func newSetup(t *testing.T, sim *smartcartest.Server, o options) *setup {
	t.Helper()
	o = o.withDefaults()
	s := &setup{t: t, bin: binary(t), sim: sim, opts: o, dir: t.TempDir(), prefix: testserver.Unique("rel")}
	s.redis = testserver.StartRedis(t, o.RedisArgs...)
	s.nats = startNATS(t)
	nc, err := nats.Connect(s.nats.URL, nats.MaxReconnects(-1), nats.ReconnectWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	s.nc = nc
	if s.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	or := sim.Origins()
	s.env = []string{
		"SMARTCAR_CLIENT_ID=" + sim.ClientID, "SMARTCAR_CLIENT_SECRET=" + sim.ClientSecret,
		"SMARTCAR_REDIRECT_URI=" + sim.RedirectURI,
		"SMARTCAR_API_ORIGIN=" + or.API, "SMARTCAR_AUTH_ORIGIN=" + or.Auth,
		"SMARTCAR_CONNECT_ORIGIN=" + or.Connect, "SMARTCAR_MANAGEMENT_API_ORIGIN=" + or.Management,
		// API v3: the application token, the vehicle API, Management v3.
		"SMARTCAR_IAM_ORIGIN=" + or.IAM, "SMARTCAR_API_V3_ORIGIN=" + or.APIV3,
		"SMARTCAR_MANAGEMENT_API_V3_ORIGIN=" + or.ManagementV3,
		// Every process's tokens.encryption_key_env (Redis needs a key).
		"SMARTCAR_POLLER_TOKEN_KEY=" + strings.Repeat("a5", 32), // 32 bytes in hex
	}
	return s
}

// config writes a configuration file for one process and returns its path.
// cron "" uses the scenario's schedule; drain replicas pass "@yearly".
func (s *setup) config(name, cron, httpAddr string) string {
	s.t.Helper()
	o := s.opts
	if cron == "" {
		cron = o.Cron
	}
	path := filepath.Join(s.dir, name+".yaml")
	what := "paths: [" + strings.Join(o.Paths, ", ") + "]"
	if o.API == config.APIV3 {
		var signals []string
		for _, p := range o.Paths {
			sig, _ := normalize.SignalForPath(p)
			signals = append(signals, string(sig))
		}
		what = "signals: [" + strings.Join(signals, ", ") + "]"
	}
	body := fmt.Sprintf(`# reliability test %s
nats: { url: %q, subject_prefix: %s }
redis: { url: "redis://%s", key_prefix: "%s:" }
tokens: { encryption_key_env: SMARTCAR_POLLER_TOKEN_KEY }
data_dir: %s
log: { level: info, format: json }
smartcar:
  api: %s
  timeout: %s
  rate_limit: { requests_per_minute: 60000, burst: 1000 }
workers: { concurrency: %d, ack_wait: %s, shutdown_grace: %s }
http: { listen: %q }
schedules:
  - { name: tick, cron: %q, %s, vehicles: all, emit: always }
`, name, s.nats.URL, s.prefix, s.redis.Addr, s.prefix, filepath.Join(s.dir, name), o.API, o.Timeout, o.Concurrency,
		o.AckWait, o.ShutdownGrace, httpAddr, cron, what)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		s.t.Fatal(err)
	}
	return path
}

// connect connects every vehicle of every simulated user with the binary's
// connect command.
func (s *setup) connect() {
	s.t.Helper()
	cfg := s.config("connect", "", "")
	for _, u := range s.sim.Users() {
		tok, ok := s.sim.ConnectUser(u, nil, nil)
		if !ok {
			s.t.Fatalf("connect user %s", u)
		}
		cmd := exec.Command(s.bin, "connect", "--config", cfg, "--refresh-token", tok.RefreshToken)
		cmd.Env = append(os.Environ(), s.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			s.t.Fatalf("connect: %v\n%s", err, out)
		}
	}
	for _, v := range s.sim.Vehicles() {
		s.Vehicles = append(s.Vehicles, v.ID)
	}
}

// replica is one smartcar-poller run process.
type replica struct {
	name   string
	http   string
	cmd    *exec.Cmd
	logs   *testserver.Buffer
	exited chan struct{}
	err    error
}

// callPath is the path of a fault on a vehicle's poll: the batch (v2), or
// the /signals call (v3).
func (s *setup) callPath() string {
	if s.opts.API == config.APIV2 {
		return "/batch"
	}
	return "/v3/vehicles/x/signals"
}

// start runs a replica; cron "" uses the scenario's schedule.
func (s *setup) start(name, cron string) *replica {
	s.t.Helper()
	s.runs++
	addr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(s.t))
	r := &replica{name: name, http: addr, logs: &testserver.Buffer{}, exited: make(chan struct{})}
	r.cmd = exec.Command(s.bin, "run", "--config", s.config(name, cron, addr))
	r.cmd.Env = append(os.Environ(), s.env...)
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	if err := r.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	go func() {
		r.err = r.cmd.Wait()
		close(r.exited)
	}()
	r.waitReady(s.t)
	s.t.Cleanup(func() {
		r.kill()
		if os.Getenv("RELIABILITY_LOGS") != "" {
			s.t.Logf("logs of replica %s:\n%s", r.name, r.logs.String())
		} else if s.t.Failed() {
			s.t.Logf("logs of replica %s:\n%s", r.name, tail(r.logs.String(), 60))
		}
	})
	return r
}

// waitReady waits until the replica answers /readyz, so that its signal
// handlers are installed and it is connected.
func (r *replica) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r.alive(t)
		resp, err := http.Get("http://" + r.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			r.kill()
			t.Fatalf("replica %s not ready after 30s: %v\n%s", r.name, err, tail(r.logs.String(), 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL and waits for the process.
func (r *replica) kill() {
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
}

// term sends SIGTERM and returns how long the process took to exit; it fails
// the test if the process is still running after limit.
func (r *replica) term(t *testing.T, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.exited:
	case <-time.After(limit):
		t.Fatalf("replica %s still running %s after SIGTERM\n%s", r.name, limit, tail(r.logs.String(), 40))
	}
	if r.err != nil {
		t.Errorf("replica %s exit after SIGTERM: %v\n%s", r.name, r.err, tail(r.logs.String(), 40))
	}
	return time.Since(start)
}

// alive fails the test if the replica exited.
func (r *replica) alive(t *testing.T) {
	t.Helper()
	select {
	case <-r.exited:
		t.Fatalf("replica %s exited: %v\n%s", r.name, r.err, tail(r.logs.String(), 40))
	default:
	}
}

// logged counts the replica's log records whose message starts with msg.
func (r *replica) logged(msg string) int {
	return strings.Count(r.logs.String(), `"msg":"`+msg)
}

// firings sums, over replicas, the scheduler's firings that failed and were
// retried, and those abandoned with jobs not enqueued, from their logs.
func firings(rs ...*replica) string {
	var retried, abandoned int
	for _, r := range rs {
		retried += r.logged("firing failed; retrying")
		abandoned += r.logged("firing abandoned")
	}
	return " firings_retried=" + itoa(retried) + " firings_abandoned=" + itoa(abandoned)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
