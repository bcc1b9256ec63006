package redisregistry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
	"github.com/smartcar-poller/smartcar-poller/registry/registrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestStore runs the conformance suite on the shared Redis.
func TestStore(t *testing.T) {
	rdb := testserver.Redis(t)
	newStore := func(t *testing.T) registry.Store {
		return redisregistry.New(rdb, testserver.RedisPrefix(t, rdb, "regt"))
	}
	registrytest.Run(t, newStore)
}

// TestStore_keys checks the keys the daemon has always used, so a store of
// an earlier version reads the same data and its replicas exclude ours.
func TestStore_keys(t *testing.T) {
	ctx := t.Context()
	rdb := testserver.Redis(t)
	prefix := testserver.RedisPrefix(t, rdb, "regk")
	s := redisregistry.New(rdb, prefix)
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	if err := s.PutVehicle(ctx, registry.Vehicle{ID: "v1", GrantID: "g1", Tags: []string{"a"}, Status: events.StatusDisabled,
		Reason: "why", LastPoll: at, ConnectedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetHold(ctx, "v1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchWebhook(ctx, "v1", at); err != nil {
		t.Fatal(err)
	}
	p, err := s.StartPoll(ctx, "v1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Unlock(ctx) }()
	for key, want := range map[string]string{
		"vehicles":      `{"grant_id":"g1","tags":["a"],"connected_at":"2026-05-01T08:00:00Z"}`,
		"vehicle_state": fmt.Sprintf("disabled|%020d|why", at.UnixNano()),
		"webhooks":      fmt.Sprint(at.UnixNano()),
	} {
		if got, err := rdb.HGet(ctx, prefix+key, "v1").Result(); err != nil || got != want {
			t.Errorf("HGET %s v1 = %q, %v; want %q", key, got, err, want)
		}
	}
	for _, key := range []string{"hold:v1", "lock:poll:v1"} {
		if n, err := rdb.Exists(ctx, prefix+key).Result(); err != nil || n != 1 {
			t.Errorf("key %s: exists %d, %v; want it", key, n, err)
		}
	}
	// A lease an earlier version took (its Lock("poll:v2")) keeps us off.
	if err := s.PutVehicle(ctx, registry.Vehicle{ID: "v2", GrantID: "g1"}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, prefix+"lock:poll:v2", "their-owner", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartPoll(ctx, "v2", time.Minute); !errors.Is(err, registry.ErrLeased) {
		t.Errorf("StartPoll under an earlier version's lease err = %v, want ErrLeased", err)
	}
}

// universalClient opens the client config.Redis's settings select (as cmd
// does) and closes it when the test ends.
func universalClient(t *testing.T, opt *redis.UniversalOptions) redis.UniversalClient {
	t.Helper()
	rdb := redis.NewUniversalClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("ping: %v", err)
	}
	return rdb
}

// TestStore_sentinel runs the suite through Sentinel (a primary, a replica
// and one Sentinel, each its own redis-server process).
func TestStore_sentinel(t *testing.T) {
	primary := testserver.StartRedis(t)
	testserver.StartRedisReplica(t, primary)
	sentinel := testserver.StartRedisSentinel(t, "poller", primary)
	rdb := universalClient(t, &redis.UniversalOptions{MasterName: "poller", Addrs: []string{sentinel.Addr}})
	if _, ok := rdb.(*redis.Client); !ok {
		t.Fatalf("client %T, want the Sentinel-backed *redis.Client", rdb)
	}
	newStore := func(t *testing.T) registry.Store { return redisregistry.New(rdb, testserver.Unique("regt")+":") }
	registrytest.Run(t, newStore)
}

// TestStore_cluster runs the suite on a 3-master Redis Cluster with a
// hash-tagged prefix, and shows why the prefix needs the tag.
func TestStore_cluster(t *testing.T) {
	nodes := testserver.StartRedisCluster(t, 3)
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.Addr
	}
	rdb := universalClient(t, &redis.UniversalOptions{Addrs: addrs})
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("client %T, want *redis.ClusterClient", rdb)
	}
	newStore := func(t *testing.T) registry.Store {
		return redisregistry.New(rdb, "{"+testserver.Unique("reg")+"}:")
	}
	registrytest.Run(t, newStore)

	t.Run("prefix_without_hash_tag", func(t *testing.T) {
		ctx := t.Context()
		s := redisregistry.New(rdb, "nohashtag:") // its vehicles and vehicle_state keys hash to different slots
		v := registry.Vehicle{ID: "v1", GrantID: "g1", Status: events.StatusConnected}
		err := s.PutVehicle(ctx, v) // a MULTI over both keys
		if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
			t.Errorf("PutVehicle without a hash tag: %v, want a CROSSSLOT error", err)
		}
		err = s.SetStatus(ctx, "v1", events.StatusDisabled, "test") // a script over both keys
		if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
			t.Errorf("SetStatus without a hash tag: %v, want a CROSSSLOT error", err)
		}
	})
}

// BenchmarkListVehicles lists n registered vehicles. The hgetall row is the
// baseline: one raw HGETALL of the registration hash, no decoding.
func BenchmarkListVehicles(b *testing.B) {
	rdb := testserver.Redis(b)
	for _, n := range []int{10_000, 100_000} {
		vs := make([]registry.Vehicle, n)
		at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
		for i := range vs {
			vs[i] = registry.Vehicle{ID: fmt.Sprintf("veh-%06d", i), GrantID: fmt.Sprintf("g%d", i%5000),
				UserID: fmt.Sprintf("g%d", i%5000), Tags: []string{"fleet"}, ConnectedAt: at, LastPoll: at}
		}
		prefix := testserver.RedisPrefix(b, rdb, "regb")
		s := redisregistry.New(rdb, prefix)
		registrytest.PutAll(b, s, vs)
		b.Run(fmt.Sprintf("hgetall/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if m, err := rdb.HGetAll(context.Background(), prefix+"vehicles").Result(); err != nil || len(m) != n {
					b.Fatalf("HGETALL: %d, %v", len(m), err)
				}
			}
		})
		b.Run(fmt.Sprintf("redis/n=%d", n), func(b *testing.B) {
			for b.Loop() {
				if got, err := s.ListVehicles(context.Background()); err != nil || len(got) != n {
					b.Fatalf("ListVehicles: %d, %v", len(got), err)
				}
			}
		})
	}
}

// TestStore_planKeys checks the Planner's keys as the package doc lists
// them, which the bench's bulk load writes too.
func TestStore_planKeys(t *testing.T) {
	ctx := t.Context()
	rdb := testserver.Redis(t)
	prefix := testserver.RedisPrefix(t, rdb, "regp")
	s := redisregistry.New(rdb, prefix)
	due := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := s.SetPlan(ctx, "adaptive", "v1", registry.Plan{State: []byte("st"), Due: due}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddCalls(ctx, "v1", due, 2); err != nil {
		t.Fatal(err)
	}
	if got, err := rdb.ZScore(ctx, prefix+"due:adaptive", "v1").Result(); err != nil || int64(got) != due.UnixMilli() {
		t.Errorf("ZSCORE due:adaptive v1 = %v, %v; want %d", got, err, due.UnixMilli())
	}
	for key, want := range map[string]string{"plans:adaptive": "st", "calls:2027-03": "2"} {
		if got, err := rdb.HGet(ctx, prefix+key, "v1").Result(); err != nil || got != want {
			t.Errorf("HGET %s v1 = %q, %v; want %q", key, got, err, want)
		}
	}
	if ttl, err := rdb.TTL(ctx, prefix+"calls:2027-03").Result(); err != nil || ttl < 69*24*time.Hour {
		t.Errorf("TTL calls:2027-03 = %v, %v; want about 70 days", ttl, err)
	}
	for key, want := range map[string]string{"plan_schedules": "adaptive", "call_months": "2027-03"} {
		if ok, err := rdb.SIsMember(ctx, prefix+key, want).Result(); err != nil || !ok {
			t.Errorf("SISMEMBER %s %s = %v, %v; want true", key, want, ok, err)
		}
	}
}
