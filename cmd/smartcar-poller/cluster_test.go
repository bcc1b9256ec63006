package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/credentials/kvcredentials"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestCluster_ThreeNATSServers runs the daemon on a 3-node NATS cluster
// (in-process, JetStream on each node) named by a nats.url list, with the
// embedded token store: every stream and bucket it creates is replicated on
// 3 nodes, polls become events, and polling goes on when the node the daemon
// is connected to stops.
func TestCluster_ThreeNATSServers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node NATS cluster")
	}
	cl := testserver.StartNATSCluster(t, 3)
	sim := smartcartest.NewServer(smartcartest.WithSeed(21), smartcartest.WithVehicles(2),
		smartcartest.WithVehicleRateLimit(1000, time.Millisecond), smartcartest.WithTimeScale(60))
	defer sim.Close()

	// The configuration a user would write: the servers as a list, no
	// replicas (3 by default with several servers), no Redis, a key (the
	// token store is on the cluster, not under data_dir).
	prefix := testserver.Unique("cl")
	var servers strings.Builder
	for _, u := range cl.URLs() {
		fmt.Fprintf(&servers, "\n    - %s", u)
	}
	file := fmt.Sprintf(`nats:
  url:%s
  subject_prefix: %s
tokens: {encryption_key_file: %q}
data_dir: %s
smartcar:
  client_id: %s
  client_secret: %s
  redirect_uri: %s
  rate_limit: {requests_per_minute: 6000, burst: 100}
workers: {concurrency: 4, shutdown_grace: 5s}
http: {listen: ""}
schedules:
  - {name: fast, cron: "@every 1s", paths: [/odometer], vehicles: all, emit: always}
`, servers.String(), prefix, testKeyFile(t), t.TempDir(), sim.ClientID, sim.ClientSecret, sim.RedirectURI)
	cfg, err := config.Parse("cluster.yaml", []byte(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NATS.Replicas != 3 || cfg.Redis.Mode() != config.RedisEmbedded {
		t.Fatalf("nats.replicas %d, redis %s; want 3 and embedded", cfg.NATS.Replicas, cfg.Redis.Mode())
	}

	ctx := t.Context()
	app, err := open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	grant := sim.Connect(nil, nil)
	access, err := app.Auth().ExchangeRefreshToken(ctx, grant.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	vehicles, err := app.connectGrant(ctx, access, nil)
	if err != nil || len(vehicles) != 2 {
		t.Fatalf("connect: %v, %d vehicles; want 2", vehicles, len(vehicles))
	}

	// Every stream and bucket: 3 replicas, placed on the 3 nodes.
	grants, locks := kvcredentials.Buckets(prefix)
	registry, _ := kvregistry.Buckets(prefix)
	names := []string{events.StreamName(prefix), queue.StreamName(prefix), "KV_" + queue.FailuresBucket(prefix),
		"KV_" + events.LatestBucket(prefix), "KV_" + grants, "KV_" + registry, "KV_" + locks}
	for _, name := range names {
		info := streamInfo(t, app.JetStream(), name)
		if info.Config.Replicas != 3 || info.Cluster == nil || info.Cluster.Leader == "" || len(info.Cluster.Replicas) != 2 {
			t.Errorf("stream %s: replicas %d, cluster %+v; want 3 on 3 nodes", name, info.Config.Replicas, info.Cluster)
		}
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	before := waitOdometers(t, app.JetStream(), prefix, vehicles, nil, 2, 15*time.Second)

	// Stop the node the daemon talks to; the other two keep a quorum.
	gone := app.NATS().ConnectedServerName()
	node := cl.Server(gone)
	if node == nil {
		t.Fatalf("daemon connected to %q, not a cluster node", gone)
	}
	cl.Stop(node)
	t.Logf("stopped %s (JetStream meta leader now %v)", gone, cl.Leader())

	waitOdometers(t, app.JetStream(), prefix, vehicles, before, 3, 25*time.Second)
	if now := app.NATS().ConnectedServerName(); now == gone || now == "" {
		t.Errorf("daemon connected to %q after %s stopped", now, gone)
	}
	info := streamInfo(t, app.JetStream(), queue.StreamName(prefix))
	if info.Cluster == nil || info.Cluster.Leader == gone || info.Cluster.Leader == "" {
		t.Errorf("job stream cluster %+v: want a leader other than %s", info.Cluster, gone)
	}
}

// streamInfo returns the stream's info, retrying while a leader is elected.
func streamInfo(t *testing.T, js jetstream.JetStream, name string) *jetstream.StreamInfo {
	t.Helper()
	var err error
	for range 50 {
		var s jetstream.Stream
		if s, err = js.Stream(t.Context(), name); err == nil {
			var info *jetstream.StreamInfo
			if info, err = s.Info(t.Context()); err == nil {
				return info
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("stream %s: %v", name, err)
	return nil
}

// waitOdometers waits until the events stream holds at least more odometer
// events of each vehicle than before (nil: none) and returns the counts.
func waitOdometers(t *testing.T, js jetstream.JetStream, prefix string, vehicles []string, before map[string]uint64, more uint64, timeout time.Duration) map[string]uint64 {
	t.Helper()
	var got map[string]uint64
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		got = map[string]uint64{}
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		s, err := js.Stream(ctx, events.StreamName(prefix))
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = s.Info(ctx, jetstream.WithSubjectFilter(prefix+".vehicles.*.odometer")); err == nil {
				for subject, n := range info.State.Subjects {
					got[strings.Split(subject, ".")[2]] = n
				}
			}
		}
		cancel()
		if err == nil && !slices.ContainsFunc(vehicles, func(v string) bool { return got[v] < before[v]+more }) {
			return got
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("after %s: odometer events per vehicle %v, want %d more than %v", timeout, got, more, before)
	return nil
}
