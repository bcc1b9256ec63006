package config

import (
	"fmt"
	"net"
	"regexp"
)

// RedisMode is how the daemon reaches its token store.
type RedisMode string

// The Redis modes, as Redis.Mode reports them.
const (
	RedisEmbedded RedisMode = "embedded" // no Redis: JetStream KV
	RedisSingle   RedisMode = "single"   // one server: redis.url or one address
	RedisSentinel RedisMode = "sentinel" // redis.master_name and the Sentinels' addresses
	RedisCluster  RedisMode = "cluster"  // several addresses, or redis.cluster
)

// Mode says which client the settings select, with go-redis's
// NewUniversalClient rules: MasterName means Sentinel, several Addrs (or
// Cluster) a Redis Cluster, else one server.
func (r Redis) Mode() RedisMode {
	switch {
	case len(r.Addrs) == 0 && r.URL == "":
		return RedisEmbedded
	case len(r.Addrs) == 0:
		return RedisSingle
	case r.MasterName != "":
		return RedisSentinel
	case len(r.Addrs) > 1 || r.Cluster:
		return RedisCluster
	}
	return RedisSingle
}

// hashTag matches a key prefix with a Redis Cluster hash tag: the first "{"
// followed, later, by a "}" with something in between.
var hashTag = regexp.MustCompile(`^[^{]*\{[^}]+\}`)

func (v *validator) redis(r Redis) {
	v.urls("redis.url", r.URL, "redis", "rediss", "unix")
	if r.URL != "" && len(r.Addrs) > 0 {
		v.fail("redis.addrs", "set redis.url or redis.addrs, not both")
	}
	for i, a := range r.Addrs {
		host, port, err := net.SplitHostPort(a)
		v.check(err == nil && host != "" && port != "" && validPort(port), fmt.Sprintf("redis.addrs[%d]", i),
			"invalid address %q (want host:port)", truncate(a, 60))
	}
	if len(r.Addrs) == 0 {
		v.check(r.MasterName == "", "redis.master_name", "needs redis.addrs (the Sentinels' host:port)")
		v.check(!r.Cluster, "redis.cluster", "needs redis.addrs (the cluster's host:port)")
		v.check(r.DB == 0, "redis.db", "applies to redis.addrs; give the database in redis.url (/N)")
	}
	v.check(r.MasterName == "" || !r.Cluster, "redis.cluster", "set redis.master_name (Sentinel) or redis.cluster, not both")
	v.check(r.DB >= 0, "redis.db", "must not be negative, got %d", r.DB)
	mode := r.Mode()
	if mode == RedisCluster {
		v.check(r.DB == 0, "redis.db", "Redis Cluster has only database 0, got %d", r.DB)
		v.check(hashTag.MatchString(r.KeyPrefix), "redis.key_prefix",
			"Redis Cluster needs a hash tag in the prefix, such as %q, so that each script's keys share a slot", "{smartcar}:")
	}
	switch {
	case mode == RedisSentinel:
	case r.SentinelUsername != "":
		v.fail("redis.sentinel_username", "applies to Sentinel only (set redis.master_name and redis.addrs)")
	case r.SentinelPassword != "":
		v.fail("redis.sentinel_password", "applies to Sentinel only (set redis.master_name and redis.addrs)")
	}
	v.check(r.SentinelUsername == "" || r.SentinelPassword != "", "redis.sentinel_username", "needs redis.sentinel_password")
}
