// Package redisregistry is the registry.Store on Redis (go-redis v9, any
// redis.UniversalClient), the production backend shared by replicas. Keys,
// under the store's prefix:
//
//	vehicles          hash: vehicle id → JSON {grant_id, user_id, tags, connected_at}
//	vehicle_state     hash: vehicle id → "<status>|<last poll>|<reason>"
//	hold:<vehicle id> string: hold end in Unix ms, expiring then (PXAT)
//	lock:poll:<id>    string: the poll lease's owner token (SET NX PX)
//	webhooks          hash: vehicle id → Unix ns of its last webhook
//	due:<schedule>    sorted set: vehicle id, score = its next due time in Unix ms
//	plans:<schedule>  hash: vehicle id → its plan's state (adaptive.Vehicle's binary form)
//	plan_schedules    set: names of the schedules that have had plans
//	calls:<YYYY-MM>   hash: vehicle id → billed calls in that UTC month; expires 70 days after its last count
//	call_months       set: the YYYY-MM of every calls hash written
//
// ClaimDue is one Lua script (ZRANGEBYSCORE with a LIMIT, then ZADD XX of
// what it returns to now+lease), so replicas never claim a vehicle twice
// within a lease; it costs O(log N + limit). DeleteVehicle reads
// plan_schedules and call_months (a few names) to remove the vehicle's
// plans and counts. UpdatePlan reads a plan and writes fn's result with a
// Lua script that compares the stored due time and state first, so a
// ClaimDue lease, a SetPlan, a DeletePlan or another update in between
// makes it read again (no revision key: a write that leaves due time and
// state as they were leaves fn nothing to miss).
//
// SetStatus and TouchPoll rewrite their part of vehicle_state in a Lua
// script, so they cannot undo each other (see codec.go). StartPoll takes
// the lease and reads registration, state and hold in one script. It owns
// those keys and must not know the credentials' (grant:, lock:grant:) or
// the marks' keys, which share the prefix. With Redis Cluster, give the
// prefix a hash tag ("{smartcar}:") so every key lands in one slot: the
// transactions and scripts span several keys.
package redisregistry
