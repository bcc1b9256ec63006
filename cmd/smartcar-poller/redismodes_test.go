package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestRedisModes runs the daemon with its token store, leases and shared
// rate limiter behind Redis Sentinel and on a Redis Cluster, configured by
// redis.addrs as a user would: a grant is connected and its vehicles polled.
// Under Sentinel the primary then stops, and polling goes on once the
// Sentinel has promoted the replica.
func TestRedisModes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis processes")
	}
	t.Run("sentinel", func(t *testing.T) {
		primary := testserver.StartRedis(t)
		replica := testserver.StartRedisReplica(t, primary)
		sentinel := testserver.StartRedisSentinel(t, "poller", primary)
		prefix := testserver.Unique("rs")
		app, vehicles := runRedisMode(t, prefix, fmt.Sprintf("  master_name: poller\n  addrs: [%s]\n  key_prefix: %q\n", sentinel.Addr, prefix+":"))
		if app.cfg.Redis.Mode() != config.RedisSentinel {
			t.Fatalf("mode %s, want sentinel", app.cfg.Redis.Mode())
		}
		before := waitOdometers(t, app.JetStream(), prefix, vehicles, nil, 2, 15*time.Second)

		// The replica must have what the primary has, and the Sentinel must know it.
		if err := primary.Client(t).Wait(t.Context(), 1, 5*time.Second).Err(); err != nil {
			t.Fatal(err)
		}
		sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr})
		defer sc.Close()
		deadline := time.Now().Add(10 * time.Second)
		for r, _ := sc.Replicas(t.Context(), "poller").Result(); len(r) != 1; r, _ = sc.Replicas(t.Context(), "poller").Result() {
			if time.Now().After(deadline) {
				t.Fatal("the Sentinel does not know the replica")
			}
			time.Sleep(100 * time.Millisecond)
		}
		primary.Kill()
		waitRole(t, replica.Client(t), "role:master")
		waitOdometers(t, app.JetStream(), prefix, vehicles, before, 3, 30*time.Second)
	})
	t.Run("cluster", func(t *testing.T) {
		nodes := testserver.StartRedisCluster(t, 3)
		addrs := make([]string, len(nodes))
		for i, n := range nodes {
			addrs[i] = n.Addr
		}
		prefix := testserver.Unique("rc")
		app, vehicles := runRedisMode(t, prefix, fmt.Sprintf("  addrs: [%s]\n  key_prefix: %q\n", strings.Join(addrs, ", "), "{"+prefix+"}:"))
		if app.cfg.Redis.Mode() != config.RedisCluster {
			t.Fatalf("mode %s, want cluster", app.cfg.Redis.Mode())
		}
		if _, ok := app.Redis().(*redis.ClusterClient); !ok {
			t.Fatalf("client %T, want *redis.ClusterClient", app.Redis())
		}
		waitOdometers(t, app.JetStream(), prefix, vehicles, nil, 3, 15*time.Second)
		// Everything the daemon keeps lives in one slot, on one node.
		keys := 0
		for _, n := range nodes {
			k, err := n.Client(t).Keys(t.Context(), "{"+prefix+"}:*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(k) > 0 && keys > 0 {
				t.Errorf("keys on more than one node: %q", k)
			}
			keys += len(k)
		}
		if keys == 0 {
			t.Error("no key under the prefix on any node")
		}
	})
}

// runRedisMode opens the daemon on a private NATS server with the given
// redis block, connects a simulated grant of 2 vehicles and runs the daemon
// until the test ends.
func runRedisMode(t *testing.T, prefix, redisBlock string) (*App, []string) {
	t.Helper()
	ns := testserver.EmbeddedNATS(t)
	sim := smartcartest.NewServer(smartcartest.WithSeed(31), smartcartest.WithVehicles(2),
		smartcartest.WithVehicleRateLimit(1000, time.Millisecond), smartcartest.WithTimeScale(60))
	t.Cleanup(sim.Close)
	file := fmt.Sprintf(`nats: {url: %q, subject_prefix: %s}
redis:
%stokens: {encryption_key_file: %q}
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
`, ns.ClientURL(), prefix, redisBlock, testKeyFile(t), t.TempDir(), sim.ClientID, sim.ClientSecret, sim.RedirectURI)
	cfg, err := config.Parse("redis.yaml", []byte(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	app, err := open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	access, err := app.Auth().ExchangeRefreshToken(ctx, sim.Connect(nil, nil).RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	vehicles, err := app.connectGrant(ctx, access, nil)
	if err != nil || len(vehicles) != 2 {
		t.Fatalf("connect: %v, %d vehicles; want 2", err, len(vehicles))
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return app, vehicles
}

func waitRole(t *testing.T, c *redis.Client, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		info, err := c.Info(t.Context(), "replication").Result()
		if err == nil && strings.Contains(info, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("INFO replication never showed %s (%v):\n%s", want, err, info)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
