// Package worker handles one poll job: it takes the vehicle's poll lease,
// checks its Retry-After hold, waits on the app-level rate limiter, gets an
// access token, calls Smartcar's batch endpoint, normalizes each path's result
// into an event and publishes the events.
//
// A vehicle's polls never overlap: within a process they queue on an
// in-memory lock, across replicas they take a short lease in the token store
// (Deps.Leases), and a job that finds the lease taken is snoozed for a second
// or two instead of waiting. So a Retry-After that one poll receives is stored
// as a hold before any other replica may call for that vehicle. With a
// store that is a PollStarter (tokens.RedisStore), taking the lease also
// reads the vehicle's hold and registry entry in the same round trip, so a
// leased poll makes two (take, release) where an unleased one makes three
// (hold, vehicle, the hold again after the limiter: nobody else can set one
// while we hold the lease).
//
// It owns what to do about each kind of Smartcar error (batchFailed; the kinds
// are at https://smartcar.com/docs/api-reference/api-errors) and the
// normalization of Smartcar responses into metric events. It
// does not know cron, Redis keys or NATS subjects: those sit behind the small
// interfaces declared in worker.go, which cmd/smartcar-poller wires up.
//
// Stats counts polls, calls, limiter waits and the holds this process set;
// an optional Observer (observe.go) gets each call's duration and outcome per
// path and the age of the data, for histograms. Both are atomics or calls
// into the Observer on the poll path, nothing that locks per poll.
package worker
