package scheduler

import (
	"testing"
	"time"
)

// The retries of a firing wait 250 ms, doubling up to 10 s, each delay
// jittered to between half and all of it.
func TestNewBackoff_bounds(t *testing.T) {
	for range 200 {
		b := newBackoff()
		d := retryMin
		for n := range 12 {
			got := b.NextBackOff()
			if got < d/2 || got > d {
				t.Fatalf("retry %d waits %s, want within [%s, %s]", n, got, d/2, d)
			}
			d = min(2*d, retryMax)
		}
		b.Reset()
		if got := b.NextBackOff(); got < retryMin/2 || got > retryMin {
			t.Fatalf("first retry after Reset waits %s, want within [%s, %s]", got, retryMin/2, retryMin)
		}
	}
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[newBackoff().NextBackOff()] = true
	}
	if len(seen) < 10 {
		t.Errorf("first retry took %d distinct delays in 50 runs, want jitter", len(seen))
	}
}
