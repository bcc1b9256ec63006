// Package registry owns the vehicle registry: which vehicles are polled,
// with which v2 grant and Smartcar user id (SetUserID fills it in later for
// vehicles registered without one), their tags, their polling status
// (events.Status) with a reason, their last poll (PollRecorder writes it in
// the background), Retry-After holds, poll leases (StartPoll: lease, hold
// and vehicle in one call) and each vehicle's last webhook time. It must not
// know tokens (package credentials), Smartcar, NATS subjects or schedules.
//
// # Backends
//
// Store is the backend contract, implemented completely by
// redisregistry.Store (the production backend, shared by replicas) and
// kvregistry.Store (JetStream KV, for the embedded default, with an
// in-memory mirror of vehicles and holds); registrytest.Run is the one
// conformance suite both pass. A consumer declares the part of Store it
// calls and gets every backend's implementation of it: nothing is found by
// type assertion. LocalLeases keeps a Store's poll leases in memory, for the
// one process that polls (the daemon on the embedded store).
//
// # Adaptive schedules' plans
//
// Planner (part of Store) keeps, per adaptive schedule, each vehicle's plan
// (the policy's opaque state and its next due time) with an index of due
// vehicles: a sorted set on Redis, an in-memory index beside the KV mirror.
// ClaimDue hands out one tick's due vehicles and leases them in one atomic
// step, at a cost that grows with what it returns, not with the fleet. It
// also counts each vehicle's billed calls per UTC calendar month. Plans
// and counts are records of their own next to the registration, written
// without rewriting it; DeleteVehicle removes them too.
//
// # Costs
//
// ListVehicles is one transaction of two HGETALLs on Redis (about 0.6 s for
// 100,000 vehicles on the 2-core dev machine) and one KV watch (an ordered
// consumer over the bucket, about 1.2 s) on JetStream, or nothing with the
// KV mirror; see BenchmarkListVehicles in the backends. A poll's StartPoll
// is one Lua script on Redis (plus the release), nothing on the mirrored KV
// store with LocalLeases. ClaimDue is one Lua script on Redis (a few
// milliseconds for one minute's 1,389 due of 1,000,000 vehicles) and, on
// the mirrored KV store, an in-memory pick plus a read and a
// compare-and-set per claimed vehicle (0.1-0.2 s for the same); see the
// due scenario in docs/benchmarks.md.
package registry
