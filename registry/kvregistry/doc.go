// Package kvregistry is the registry.Store on JetStream KV, for the
// embedded default (one replica). Buckets (prefix upper-cased, '-' → '_'),
// each keeping one revision per key:
//
//	<PREFIX>_VEHICLES  <vehicle id> → JSON of the whole registry.Vehicle
//	<PREFIX>_LOCKS     hold.<vehicle id> → {until_ms}; webhook.<vehicle id> → Unix ns;
//	                   lock.poll=3A<vehicle id> → the poll lease {owner, expires_at}
//	<PREFIX>_PLANS     <vehicle id>.<schedule> → the plan: due time (Unix ms, 8 bytes big-endian), then its state
//	<PREFIX>_CALLS     <vehicle id> → billed calls of the two latest UTC months written: "YYYY-MM=n,YYYY-MM=n"
//
// Keys are escaped: bytes outside [A-Za-z0-9_-] become =XX. Every write is a
// compare-and-set on the key's revision (kv.Create / kv.Update), which works
// on nats-server 2.9 too. Expiries of holds and leases are written in the
// value and checked with the local clock (bucket TTLs and per-message TTLs
// are not used), so processes' clocks must agree to well under a lease's TTL.
//
// StartMirror keeps the vehicles and the holds in memory (mirror.go), fed by
// KV watches and by the store's own writes, so the daemon's reads cost no
// round trip (a vehicle costs the mirror about 180 bytes of heap: a dense
// key index, an 80-byte entry whose strings other vehicles' equal ones
// share, see mirrorvehicle.go, and its id); the daemon also keeps its poll leases in memory
// (registry.LocalLeases: the embedded store means one replica).
//
// The Planner: a plan is one key, so SetPlan writes state and due time at
// once, and UpdatePlan changes them with kv.Update on the revision it read
// (retried from a fresh read on a mismatch). ClaimDue, with the mirror, takes the due vehicles from an in-memory
// min-heap per schedule (planindex.go: vehicle ids interned once, sharing
// the vehicles mirror's strings; about 60 bytes of heap per plan with one
// schedule), loaded at StartMirror and kept by the plans bucket's
// watch and the store's own writes; each claimed plan is then rewritten
// with due time now+lease (a read, then a compare-and-set on the revision
// the index knew), so leases survive a restart. Without the mirror (CLI
// processes) ClaimDue scans the schedule's plan keys: its cost then grows
// with the schedule. Every key costs the server memory for as long as it
// exists (JetStream's per-subject index), so a vehicle has one calls key,
// rewritten, that keeps the two latest months: a count for an older month
// reads as 0. DeleteVehicle finds a vehicle's plans by subject filter.
//
// It owns the vehicles, plans and calls buckets and the hold.*, webhook.*
// and lock.poll* keys of the locks bucket, which it shares with the credentials
// (kvcredentials: lock.grant*); it must not know the credentials' keys.
//
// ListVehicles without the mirror reads the bucket with one ordered
// consumer (a KV watch), not a Get per key: about 1.2 s for 100,000
// vehicles on the 2-core dev machine, twice the Redis store's time, so
// large fleets belong on Redis.
package kvregistry
