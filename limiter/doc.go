// Package limiter holds the application-wide rate limit on Smartcar calls:
// a GCRA limiter kept in Redis (Shared), so that every replica draws from one
// budget, and Chain, which puts the per-process x/time/rate limiter in front
// of it.
//
// Smartcar's application limit is a token bucket of Burst requests refilled
// at a steady rate. GCRA stores the same bucket as one number, the
// theoretical arrival time (TAT) of the next request, so a reservation is a
// single Lua script call: read the TAT, move it one emission interval on, and
// answer how long the caller must wait before its slot. The script reads
// Redis's own clock (TIME), so replicas' clocks do not matter.
//
// The package owns the script and its key (<prefix>ratelimit:app). It must not
// know Smartcar, NATS or the token store.
package limiter
