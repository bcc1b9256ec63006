// Package worker handles one poll job: it checks the vehicle's Retry-After
// hold, gets an access token, waits on the app-level rate limiter, calls
// Smartcar's batch endpoint, normalizes each path's result into an event and
// publishes the events.
//
// It owns the policy of smartcar-api.md §6.4 (what to do about each kind of
// error) and the normalization of Smartcar responses into metric events. It
// does not know cron, Redis keys or NATS subjects: those sit behind the small
// interfaces declared in worker.go, which cmd/smartcar-poller wires up.
package worker
