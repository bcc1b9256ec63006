// Package rediscredentials is the credentials.Store on Redis (go-redis v9,
// any redis.UniversalClient: one server, Sentinel or Cluster), the
// production backend shared by replicas. Keys, under the store's prefix:
//
//	grant:<id>   hash: version, data (the pair, see credentials.EncodeGrant)
//	lock:<key>   string: owner token, with an expiry (SET NX PX)
//
// It owns those keys and must not know the vehicle registry's or the marks'
// keys, which share the prefix. With Redis Cluster, give the prefix a hash
// tag ("{smartcar}:") so every key of the daemon lands in one slot.
package rediscredentials
