package backoffn_test

import (
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/internal/backoffn"
)

// TestDelay: the n-th delay doubles from lo within ±25 %, and never leaves
// [lo, hi].
func TestDelay(t *testing.T) {
	lo, hi := time.Second, time.Minute
	for n := -1; n <= 40; n++ {
		for range 50 {
			d := backoffn.Delay(n, lo, hi)
			if d < lo || d > hi {
				t.Fatalf("Delay(%d) = %v, outside [%v, %v]", n, d, lo, hi)
			}
			want := lo << min(max(n-1, 0), 20) // capped before it overflows
			if want < hi && (float64(d) < 0.75*float64(want) || float64(d) > 1.25*float64(want)) {
				t.Fatalf("Delay(%d) = %v, want %v ±25%%", n, d, want)
			}
			if n >= 10 && d < time.Duration(0.75*float64(hi)) {
				t.Fatalf("Delay(%d) = %v, want about %v (the cap)", n, d, hi)
			}
		}
	}
}
