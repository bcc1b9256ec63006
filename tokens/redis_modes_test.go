package tokens_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/tokens"
)

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

// TestRedisStore_sentinel runs the Store suite through Sentinel (a primary,
// a replica and one Sentinel, each its own redis-server process), then stops
// the primary: the Sentinel promotes the replica and the store follows it,
// with the grant written before.
func TestRedisStore_sentinel(t *testing.T) {
	primary := testserver.StartRedis(t)
	host, port, _ := net.SplitHostPort(primary.Addr)
	replica := testserver.StartRedis(t, "--replicaof", host, port)
	waitInfo(t, primary.Client(t), "replication", "connected_slaves:1")
	sentinel := testserver.StartRedisSentinel(t, "poller", primary)
	rdb := universalClient(t, &redis.UniversalOptions{MasterName: "poller", Addrs: []string{sentinel.Addr}})
	if _, ok := rdb.(*redis.Client); !ok {
		t.Fatalf("client %T, want the Sentinel-backed *redis.Client", rdb)
	}

	runStoreSuite(t, func(t *testing.T) tokens.Store { return tokens.NewRedisStore(rdb, uniquePrefix()) })

	t.Run("failover", func(t *testing.T) {
		ctx := testCtx(t)
		s := tokens.NewRedisStore(rdb, uniquePrefix())
		g := tokens.Grant{ID: "g-failover", Access: access(1)}
		if err := s.CreateGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
		if n, err := primary.Client(t).Wait(ctx, 1, 5*time.Second).Result(); err != nil || n != 1 {
			t.Fatalf("WAIT for the replica: %d, %v", n, err)
		}
		sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr})
		defer sc.Close()
		if err := waitUntil(10*time.Second, func() bool {
			r, err := sc.Replicas(ctx, "poller").Result()
			return err == nil && len(r) == 1
		}); err != nil {
			t.Fatal("the Sentinel does not know the replica")
		}

		primary.Kill()
		var got tokens.Grant
		err := waitUntil(30*time.Second, func() bool {
			var err error
			got, err = s.GetGrant(ctx, g.ID)
			return err == nil
		})
		if err != nil {
			t.Fatalf("no grant through the Sentinel 30s after the primary stopped")
		}
		if got.Access.RefreshToken != g.Access.RefreshToken {
			t.Errorf("grant after failover has refresh token %q, want %q", got.Access.RefreshToken, g.Access.RefreshToken)
		}
		waitInfo(t, replica.Client(t), "replication", "role:master")
		got.Access.RefreshToken = "after-failover"
		if _, err := s.UpdateGrant(ctx, got, got.Version); err != nil {
			t.Errorf("update on the promoted replica: %v", err)
		}
	})
}

// TestRedisStore_cluster runs the Store suite on a 3-master Redis Cluster
// with a hash-tagged prefix, and shows why the prefix needs the tag.
func TestRedisStore_cluster(t *testing.T) {
	nodes := testserver.StartRedisCluster(t, 3)
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.Addr
	}
	rdb := universalClient(t, &redis.UniversalOptions{Addrs: addrs})
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("client %T, want *redis.ClusterClient", rdb)
	}

	runStoreSuite(t, func(t *testing.T) tokens.Store {
		return tokens.NewRedisStore(rdb, "{"+testserver.Unique("tok")+"}:")
	})

	t.Run("prefix_without_hash_tag", func(t *testing.T) {
		ctx := testCtx(t)
		s := tokens.NewRedisStore(rdb, "nohashtag:") // its vehicles and vehicle_state keys hash to different slots
		v := tokens.Vehicle{ID: "v1", GrantID: "g1", Status: tokens.StatusConnected}
		err := s.PutVehicle(ctx, v) // a MULTI over both keys
		if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
			t.Errorf("PutVehicle without a hash tag: %v, want a CROSSSLOT error", err)
		}
		err = s.SetStatus(ctx, "v1", tokens.StatusDisabled, "test") // a script over both keys
		if err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
			t.Errorf("SetStatus without a hash tag: %v, want a CROSSSLOT error", err)
		}
	})
}

func waitInfo(t *testing.T, c *redis.Client, section, want string) {
	t.Helper()
	var info string
	if err := waitUntil(15*time.Second, func() bool {
		info, _ = c.Info(context.Background(), section).Result()
		return strings.Contains(info, want)
	}); err != nil {
		t.Fatalf("INFO %s never showed %s:\n%s", section, want, info)
	}
}

func waitUntil(timeout time.Duration, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}
