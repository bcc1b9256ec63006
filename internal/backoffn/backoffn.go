// Package backoffn gives the n-th delay of an exponential backoff from its
// count alone, for retries whose count is all that is kept (shared by
// replicas, or carried by a redelivered message) rather than a backoff's
// state.
package backoffn

import (
	"time"

	"github.com/cenkalti/backoff/v5"
)

// Delay returns the n-th delay (n from 1) of a cenkalti/backoff exponential
// backoff that starts at lo and doubles up to hi with ±25 % jitter, kept
// within [lo, hi]. An n below 1 counts as 1.
func Delay(n int, lo, hi time.Duration) time.Duration {
	b := backoff.ExponentialBackOff{
		InitialInterval:     lo,
		RandomizationFactor: 0.25,
		Multiplier:          2,
		MaxInterval:         hi,
	}
	d := b.NextBackOff()
	for range min(n, 64) - 1 { // the interval reaches hi long before
		d = b.NextBackOff()
	}
	return min(max(d, lo), hi)
}
