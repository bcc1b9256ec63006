// Package worker handles one poll job: it takes the vehicle's poll lease
// with its Retry-After hold and registry entry, checks the hold and the
// vehicle's status, waits on the app-level rate limiter, makes the job's one
// Smartcar call, normalizes the result (package normalize) into events and
// publishes them.
//
// A job names its API by what it carries. An API v2 job (paths) gets its
// grant's access token from the credentials manager and calls the batch
// endpoint; a path that may succeed later is retried in a follow-up job. An
// API v3 job (signals) calls GET /signals as the application (SignalsAPI:
// one application token per process) on behalf of the vehicle's Smartcar
// user (sc-user-id), looked up once from its connection when the registry
// has none and kept there; it never touches the credentials. It publishes
// the signals the job asks for (daemon signals, raw v3 codes, or all), with
// oemUpdatedAt as the data's age, completing a signal returned in part from
// the vehicle's latest event (Latest), and reports a signal it asked for and
// did not get as an error event at once: retrying it would bill the whole
// call again.
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
// It owns what to do about each kind of Smartcar error (callFailed; the kinds
// are at https://smartcar.com/docs/api-reference/api-errors): a Retry-After
// holds the vehicle for every replica, a spent monthly quota (430
// BILLING:VEHICLE_REQUEST_LIMIT) holds it until the next billing period, an
// application rate limit pauses every call, permission and compatibility
// errors disable the vehicle; on v3 a 401 (after the client's own renewal)
// is retried like a server error, since no user can fix it. It
// does not know cron, Redis keys or NATS subjects: those sit behind the small
// interfaces declared in worker.go, which internal/daemon wires up.
//
// With Deps.Plans it counts every job's billed calls per vehicle and month
// (v3: one per /signals call; v2: one per path), and after an adaptive
// job's poll (queue.PollJob.Adaptive) it decides the vehicle's next due
// time with Plan, on the schedule's policy (Config.Policies), and stores
// it; a spent quota also publishes a quota_exhausted status event.
// WebhookPlanner does the same for VEHICLE_STATE webhooks.
//
// Stats counts polls, calls, limiter waits and the holds this process set;
// an optional Observer (observe.go) gets each call's duration and outcome per
// path and the age of the data, for histograms. Both are atomics or calls
// into the Observer on the poll path, nothing that locks per poll.
package worker
