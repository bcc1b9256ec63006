// Package smartcartest is a local simulator of the Smartcar API, in the
// spirit of net/http/httptest: NewServer starts it on a loopback port, its URL
// serves the API, auth, Connect and management hosts at once, and tests drive
// and inspect it through a Go API (Connect, SetFault, Requests, Stats, ...)
// or, for black-box tests and the smartcar-sim command, through /admin/...
//
// It owns Smartcar's rules (https://smartcar.com/docs): Connect and the
// token endpoint (single-use rotating refresh tokens with a grace period,
// expiring access tokens), every v2.0 endpoint with scopes, batch, units and
// metadata headers, API v3 (application tokens from the IAM endpoint,
// sc-user-id, signals, commands, connections, the Management API v3 and v4
// webhook deliveries with retries), the application token bucket, the
// per-vehicle throttle with Retry-After, billed calls per vehicle and month
// with the monthly quota, webhooks signed with the management token, and
// injected faults. Simulated vehicles live daily lives over simulated time
// (commutes, errands, deliveries, charging, refuelling, sleep), read from a
// precomputed timeline and deterministic for a seed; v2.0 endpoints, v3
// signals and webhooks all read that one state, and StateChanges is the
// journal of its true changes.
//
// It must not know the daemon or any other package of this module: it
// imports only the standard library.
package smartcartest
