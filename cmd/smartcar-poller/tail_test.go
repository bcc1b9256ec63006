package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

// TestTail_credentials runs `tail` against a NATS server that requires a
// user and password, named as a server list: it must use nats.user and
// nats.password as the daemon does, and print what is published.
func TestTail_credentials(t *testing.T) {
	s := testserver.StartNATS(t, &natsserver.Options{Username: "poller", Password: "tail-pw-1"})
	cfgPath := filepath.Join(t.TempDir(), "poller.yaml")
	writeFile(t, cfgPath, fmt.Sprintf("nats:\n  url: [%s]\n  subject_prefix: tl\n  user: poller\n  password: tail-pw-1\n"+
		"smartcar: {mode: simulated}\nschedules: [{name: s, cron: '@hourly', paths: [/odometer]}]\n", s.ClientURL()))

	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr testserver.Buffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"tail", "--config", cfgPath}, &stdout, &stderr) }()
	defer func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("tail exit code %d\nstderr: %s", code, stderr.String())
		}
	}()

	nc, err := nats.Connect(s.ClientURL(), nats.UserInfo("poller", "tail-pw-1"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	ev := `{"specversion":"1.0","type":"com.smartcar-poller.odometer","subject":"v1","data":{"distance_km":12}}`
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "distance_km") {
		if time.Now().After(deadline) {
			t.Fatalf("tail printed nothing in 10s\nstdout: %s\nstderr: %s", stdout.String(), stderr.String())
		}
		if strings.Contains(stderr.String(), "tailing") {
			_ = nc.Publish("tl.vehicles.v1.odometer", []byte(ev))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
