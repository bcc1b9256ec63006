// Package redisregistry is the registry.Store on Redis (go-redis v9, any
// redis.UniversalClient), the production backend shared by replicas. Keys,
// under the store's prefix:
//
//	vehicles          hash: vehicle id → JSON {grant_id, user_id, tags, connected_at}
//	vehicle_state     hash: vehicle id → "<status>|<last poll>|<reason>"
//	hold:<vehicle id> string: hold end in Unix ms, expiring then (PXAT)
//	lock:poll:<id>    string: the poll lease's owner token (SET NX PX)
//	webhooks          hash: vehicle id → Unix ns of its last webhook
//
// SetStatus and TouchPoll rewrite their part of vehicle_state in a Lua
// script, so they cannot undo each other (see codec.go). StartPoll takes
// the lease and reads registration, state and hold in one script. It owns
// those keys and must not know the credentials' (grant:, lock:grant:) or
// the marks' keys, which share the prefix. With Redis Cluster, give the
// prefix a hash tag ("{smartcar}:") so every key lands in one slot: the
// transactions and scripts span several keys.
package redisregistry
