package testserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// StartRedisReplica starts a redis-server replicating primary and waits
// until its first sync has completed (master_link_status:up), so that what
// primary holds from then on reaches it by streaming, and WAIT can count it.
func StartRedisReplica(t testing.TB, primary *RedisServer) *RedisServer {
	t.Helper()
	host, port, err := net.SplitHostPort(primary.Addr)
	if err != nil {
		t.Fatal(err)
	}
	r := StartRedis(t, "--replicaof", host, port)
	c := r.Client(t)
	if err := waitFor(20*time.Second, func(ctx context.Context) error {
		info, err := c.Info(ctx, "replication").Result()
		if err == nil && !strings.Contains(info, "master_link_status:up") {
			err = fmt.Errorf("replica of %s not in sync", primary.Addr)
		}
		return err
	}); err != nil {
		t.Fatalf("replica on %s: %v", r.Addr, err)
	}
	return r
}

// StartRedisSentinel starts a Sentinel (redis-server --sentinel) on a free
// port that monitors master as masterName with a quorum of 1 and declares it
// down after one second, and waits until it reports the master. It is killed
// when the test ends. Replicas of master (StartRedisReplica) are found by the
// Sentinel itself.
func StartRedisSentinel(t testing.TB, masterName string, master *RedisServer) *RedisServer {
	t.Helper()
	host, port, err := net.SplitHostPort(master.Addr)
	if err != nil {
		t.Fatal(err)
	}
	s := startRedis(t, func(rs *RedisServer, p int) []string {
		// Sentinel rewrites its configuration file, so it gets its own.
		conf := filepath.Join(rs.Dir, "sentinel.conf")
		text := fmt.Sprintf("bind 127.0.0.1\nport %d\ndir %s\nlogfile %s\n"+
			"sentinel monitor %s %s %s 1\nsentinel down-after-milliseconds %[4]s 1000\nsentinel failover-timeout %[4]s 10000\n",
			p, rs.Dir, filepath.Join(rs.Dir, "sentinel.log"), masterName, host, port)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{conf, "--sentinel"}
	})
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	if err := waitFor(10*time.Second, func(ctx context.Context) error {
		addr, err := c.GetMasterAddrByName(ctx, masterName).Result()
		if err == nil && net.JoinHostPort(addr[0], addr[1]) != master.Addr {
			err = fmt.Errorf("master %v", addr)
		}
		return err
	}); err != nil {
		t.Fatalf("sentinel on %s: %v", s.Addr, err)
	}
	return s
}

// StartRedisCluster starts n redis-server nodes in cluster mode (masters,
// no replicas) on free ports, gives each an equal share of the 16384 hash
// slots, joins them and waits until every node reports cluster_state:ok.
// The nodes are killed when the test ends.
func StartRedisCluster(t testing.TB, n int) []*RedisServer {
	t.Helper()
	if n < 1 {
		t.Fatalf("redis cluster of %d nodes", n)
	}
	nodes := make([]*RedisServer, n)
	bus := make([]int, n)
	for i := range nodes {
		// The bus port defaults to port+10000, which may be taken or out of range.
		bus[i] = FreePort(t)
		nodes[i] = startRedis(t, func(rs *RedisServer, p int) []string {
			return []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(p), "--save", "",
				"--dir", rs.Dir, "--logfile", filepath.Join(rs.Dir, "redis.log"),
				"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-port", strconv.Itoa(bus[i])}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const slots = 16384
	for i, rs := range nodes {
		c := rs.Client(t)
		first, last := i*slots/n, (i+1)*slots/n-1
		if err := c.ClusterAddSlotsRange(ctx, first, last).Err(); err != nil {
			t.Fatalf("redis cluster: add slots to %s: %v", rs.Addr, err)
		}
		if i == 0 {
			continue
		}
		host, port, _ := net.SplitHostPort(rs.Addr)
		if err := nodes[0].Client(t).Do(ctx, "CLUSTER", "MEET", host, port, bus[i]).Err(); err != nil {
			t.Fatalf("redis cluster: meet %s: %v", rs.Addr, err)
		}
	}
	for _, rs := range nodes {
		c := rs.Client(t)
		if err := waitFor(20*time.Second, func(ctx context.Context) error {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && !strings.Contains(info, "cluster_state:ok") {
				err = fmt.Errorf("cluster_state not ok")
			}
			if err == nil {
				var nodes string
				nodes, err = c.ClusterNodes(ctx).Result()
				if err == nil && strings.Count(strings.TrimSpace(nodes), "\n")+1 != n {
					err = fmt.Errorf("knows %d nodes, want %d", strings.Count(strings.TrimSpace(nodes), "\n")+1, n)
				}
			}
			return err
		}); err != nil {
			t.Fatalf("redis cluster node %s: %v", rs.Addr, err)
		}
	}
	return nodes
}

// waitFor calls try every 50 ms until it returns nil or timeout passes,
// and returns its last error.
func waitFor(timeout time.Duration, try func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := try(ctx)
		cancel()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
