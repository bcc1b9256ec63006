// Package worker handles one poll job: it takes the vehicle's poll lease
// with its Retry-After hold and registry entry, checks the hold and the
// vehicle's status, waits on the app-level rate limiter, gets its grant's
// access token, calls Smartcar's batch endpoint, normalizes each path's
// result into an event and publishes the events.
//
// A vehicle's polls never overlap: within a process they queue on an
// in-memory lock, across replicas they take a short lease in the registry
// (Registry.StartPoll), and a job that finds the lease taken is snoozed for
// a second or two instead of waiting. So a Retry-After that one poll
// receives is stored as a hold before any other replica may call for that
// vehicle. StartPoll reads the vehicle's hold and registry entry with the
// lease, so a poll's registry work is two round trips on Redis (take,
// release) and none on the daemon's embedded store (its mirror and
// in-process leases, registry.LocalLeases); the token comes from the
// credentials manager's cache. Every registry backend implements the whole
// Registry interface: the worker never looks for a faster path by type
// assertion.
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
