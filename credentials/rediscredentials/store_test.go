package rediscredentials_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/credentialstest"
	"github.com/smartcar-poller/smartcar-poller/credentials/rediscredentials"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness opens stores under a prefix of their own on rdb.
func harness(rdb redis.UniversalClient) credentialstest.Harness {
	return credentialstest.Harness{Open: func(t *testing.T) (func(*credentials.Keyring) credentials.Store, credentialstest.Raw) {
		prefix := testserver.RedisPrefix(t, rdb, "credt")
		return func(k *credentials.Keyring) credentials.Store { return rediscredentials.New(rdb, prefix, k) },
			credentialstest.Raw{
				Get: func(t *testing.T, id string) []byte {
					b, err := rdb.HGet(t.Context(), prefix+"grant:"+id, "data").Bytes()
					if err != nil {
						t.Fatalf("raw get %s: %v", id, err)
					}
					return b
				},
				Set: func(t *testing.T, id string, b []byte) {
					if err := rdb.HSet(t.Context(), prefix+"grant:"+id, "data", b).Err(); err != nil {
						t.Fatalf("raw set %s: %v", id, err)
					}
				},
			}
	}}
}

// TestStore runs the conformance suite on the shared Redis.
func TestStore(t *testing.T) {
	credentialstest.Run(t, harness(testserver.Redis(t)))
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
// and one Sentinel, each its own redis-server process), then stops the
// primary: the Sentinel promotes the replica and the store follows it, with
// the grant written before.
func TestStore_sentinel(t *testing.T) {
	primary := testserver.StartRedis(t)
	replica := testserver.StartRedisReplica(t, primary)
	sentinel := testserver.StartRedisSentinel(t, "poller", primary)
	rdb := universalClient(t, &redis.UniversalOptions{MasterName: "poller", Addrs: []string{sentinel.Addr}})
	if _, ok := rdb.(*redis.Client); !ok {
		t.Fatalf("client %T, want the Sentinel-backed *redis.Client", rdb)
	}

	credentialstest.RunStore(t, func(t *testing.T) credentials.Store {
		return rediscredentials.New(rdb, testserver.Unique("credt")+":", nil)
	})

	t.Run("failover", func(t *testing.T) {
		ctx := t.Context()
		s := rediscredentials.New(rdb, testserver.Unique("credt")+":", nil)
		g := credentials.Grant{ID: "g-failover", Access: credentialstest.Access(1)}
		if err := s.CreateGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
		if n, err := primary.Client(t).Wait(ctx, 1, 5*time.Second).Result(); err != nil || n != 1 {
			t.Fatalf("WAIT for the replica: %d, %v", n, err)
		}
		sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr})
		defer sc.Close()
		if !waitUntil(10*time.Second, func() bool {
			r, err := sc.Replicas(ctx, "poller").Result()
			return err == nil && len(r) == 1
		}) {
			t.Fatal("the Sentinel does not know the replica")
		}

		primary.Kill()
		var got credentials.Grant
		if !waitUntil(30*time.Second, func() bool {
			var err error
			got, err = s.GetGrant(ctx, g.ID)
			return err == nil
		}) {
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

// TestStore_cluster runs the suite on a 3-master Redis Cluster with a
// hash-tagged prefix.
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
	credentialstest.RunStore(t, func(t *testing.T) credentials.Store {
		return rediscredentials.New(rdb, "{"+testserver.Unique("cred")+"}:", nil)
	})
}

func waitInfo(t *testing.T, c *redis.Client, section, want string) {
	t.Helper()
	var info string
	if !waitUntil(15*time.Second, func() bool {
		info, _ = c.Info(context.Background(), section).Result()
		return strings.Contains(info, want)
	}) {
		t.Fatalf("INFO %s never showed %s:\n%s", section, want, info)
	}
}

// waitUntil polls ok every 100 ms until it holds (true) or timeout passes.
func waitUntil(timeout time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond) // polling a server's state with a deadline
	}
	return true
}

// BenchmarkGetGrant reads one grant from Redis, in plaintext and encrypted.
func BenchmarkGetGrant(b *testing.B) {
	rdb := testserver.Redis(b)
	for _, bc := range []struct {
		name string
		keys *credentials.Keyring
	}{
		{"plaintext", nil},
		{"encrypted", credentialstest.Keyring(b, credentialstest.Key(1))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := rediscredentials.New(rdb, testserver.RedisPrefix(b, rdb, "credb"), bc.keys)
			ctx := context.Background()
			if err := s.CreateGrant(ctx, credentials.Grant{ID: "u1", Access: credentialstest.Access(1)}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.GetGrant(ctx, "u1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
