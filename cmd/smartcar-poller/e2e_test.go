package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// buildBinary compiles the command into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "smartcar-poller")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr testserver.Buffer
}

func command(bin string, env []string, args ...string) *proc {
	p := &proc{cmd: exec.Command(bin, args...)}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	return p
}

func (p *proc) run(t *testing.T) int {
	t.Helper()
	err := p.cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// TestBinary_EndToEnd builds smartcar-poller and drives it as a user would:
// validate a config, connect a grant, run the daemon, read its events from
// NATS and its probes over HTTP, list the vehicles, stop it with SIGTERM.
func TestBinary_EndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	nc := testserver.NATS(t)
	testserver.Redis(t)
	sim := smartcartest.NewServer(smartcartest.WithSeed(11), smartcartest.WithVehicles(2), smartcartest.WithTimeScale(60))
	defer sim.Close()
	bin := buildBinary(t)
	dir := t.TempDir()
	prefix := testserver.Unique("e2e")
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	cfgPath := filepath.Join(dir, "poller.yaml")
	writeFile(t, cfgPath, fmt.Sprintf(`# end-to-end test configuration
nats: { url: %q, subject_prefix: %s }
redis: { url: "redis://%s", key_prefix: "%s:" }
tokens: { encryption_key_file: %q }
data_dir: %s
smartcar:
  rate_limit: { requests_per_minute: 600, burst: 20 }
workers: { concurrency: 4, shutdown_grace: 5s }
http: { listen: %q }
schedules:
  - { name: fast, cron: "@every 1s", paths: [/odometer, /location], vehicles: all, emit: always }
`, testserver.NATSURL(), prefix, testserver.RedisAddr(), prefix, testKeyFile(t), dir, httpAddr))
	env := append([]string{
		"SMARTCAR_CLIENT_ID=" + sim.ClientID, "SMARTCAR_CLIENT_SECRET=" + sim.ClientSecret,
		"SMARTCAR_REDIRECT_URI=" + sim.RedirectURI,
	}, simEnv(sim)...)
	t.Cleanup(func() {
		ctx := context.Background()
		rdb := testserver.Redis(t)
		if keys, _ := rdb.Keys(ctx, prefix+":*").Result(); len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		js, _ := jetstream.New(nc)
		for name := range js.StreamNames(ctx).Name() {
			if strings.Contains(name, strings.ToUpper(prefix)) {
				_ = js.DeleteStream(ctx, name)
			}
		}
	})

	// config validate: good and bad files.
	p := command(bin, env, "config", "validate", cfgPath)
	if code := p.run(t); code != 0 || !strings.Contains(p.stdout.String(), "fast") {
		t.Fatalf("config validate = %d\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
	}
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "nats: { url: \"\" }\nschedules:\n  - { name: x, cron: \"*/61 * * * *\", paths: [/odometer] }\n")
	p = command(bin, env, "config", "validate", bad)
	if code := p.run(t); code != 1 || !strings.Contains(p.stderr.String(), "bad.yaml:3: schedules[0].cron") {
		t.Errorf("config validate bad.yaml = %d, stderr %q; want 1 and bad.yaml:3: schedules[0].cron", code, p.stderr.String())
	}

	// connect with a refresh token the simulator issued.
	grant := sim.Connect(nil, nil)
	p = command(bin, env, "connect", "--config", cfgPath, "--refresh-token", grant.RefreshToken, "--tags", "e2e")
	if code := p.run(t); code != 0 || !strings.Contains(p.stdout.String(), "connected 2 vehicle(s)") {
		t.Fatalf("connect = %d\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
	}

	// run, while counting the events on NATS.
	var mu sync.Mutex
	count := map[string]int{}
	sub, err := nc.Subscribe(prefix+".vehicles.*.odometer", func(m *nats.Msg) {
		ev, err := events.Parse(m.Data)
		if err != nil {
			t.Errorf("bad event: %v", err)
			return
		}
		mu.Lock()
		count[ev.Subject]++
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	daemon := command(bin, env, "run", "--config", cfgPath)
	if err := daemon.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.cmd.Wait() }()
	defer func() { _ = daemon.cmd.Process.Kill() }()

	deadline := time.After(30 * time.Second)
	for ready := false; !ready; {
		select {
		case err := <-exited:
			t.Fatalf("daemon exited early: %v\n%s", err, daemon.stderr.String())
		case <-deadline:
			t.Fatalf("fewer than 3 odometer events per vehicle after 30s: %v\n%s", count, daemon.stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
		mu.Lock()
		ready = len(count) == 2 && count[grantVehicle(sim, 0)] >= 3 && count[grantVehicle(sim, 1)] >= 3
		mu.Unlock()
	}
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ready", "/metrics": "smartcar_poller_polls_total"} {
		body := httpGet(t, "http://"+httpAddr+path)
		if !strings.Contains(body, want) {
			t.Errorf("GET %s = %q, want it to contain %q", path, body, want)
		}
	}

	// SIGTERM: a clean exit within the grace period.
	if err := daemon.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("daemon exit after SIGTERM: %v\n%s", err, daemon.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("daemon still running 20s after SIGTERM\n%s", daemon.stderr.String())
	}
	logs := daemon.stderr.String()
	for name, secret := range map[string]string{"client secret": sim.ClientSecret, "refresh token": grant.RefreshToken, "access token": grant.AccessToken} {
		if strings.Contains(logs, secret) || strings.Contains(p.stdout.String()+p.stderr.String(), secret) {
			t.Errorf("the %s appears in the output", name)
		}
	}

	// vehicles list shows both vehicles with their grant, tag and status.
	p = command(bin, env, "vehicles", "list", "--config", cfgPath)
	if code := p.run(t); code != 0 {
		t.Fatalf("vehicles list = %d: %s", code, p.stderr.String())
	}
	out := p.stdout.String()
	for i := range 2 {
		id := grantVehicle(sim, i)
		if !strings.Contains(out, id) {
			t.Errorf("vehicles list lacks %s:\n%s", id, out)
		}
	}
	if strings.Count(out, "connected") != 2 || strings.Count(out, "e2e") != 2 {
		t.Errorf("vehicles list should show 2 connected vehicles tagged e2e:\n%s", out)
	}
}

func grantVehicle(sim *smartcartest.Server, i int) string { return sim.Vehicles()[i].ID }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s %s", url, resp.Status, b)
	}
	return string(b)
}
