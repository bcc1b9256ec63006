package worker

import (
	"slices"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// pauseWorker returns a Worker for tests of its own arithmetic: they call no
// dependency, so the required ones are present but empty.
func pauseWorker(t *testing.T, cfg Config) *Worker {
	t.Helper()
	w, err := New(cfg, nil, Deps{Tokens: struct{ Tokens }{}, API: struct{ API }{}, Registry: struct{ Registry }{},
		Publisher: struct{ Publisher }{}, Enqueuer: struct{ Enqueuer }{}, Limiter: rate.NewLimiter(rate.Inf, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// The pause after RATE_LIMIT:SMARTCAR_API doubles with each one in a row, up
// to AppBackoffMax, and starts over after a successful call.
func TestWorker_appLimited(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	w := pauseWorker(t, Config{Now: func() time.Time { return now }})
	var got []time.Duration
	for range 7 {
		got = append(got, w.appLimited())
	}
	m := time.Minute
	want := []time.Duration{m / 2, m, 2 * m, 4 * m, 8 * m, 10 * m, 10 * m}
	if !slices.Equal(got, want) {
		t.Errorf("pauses = %v, want %v", got, want)
	}
	if err := w.paused(); err == nil {
		t.Error("no snooze during the pause")
	}
	w.appOK()
	if d := w.appLimited(); d != m/2 {
		t.Errorf("pause after a success = %s, want AppBackoff (30s) again", d)
	}

	short := pauseWorker(t, Config{AppBackoff: time.Hour, AppBackoffMax: time.Minute})
	if d := short.appLimited(); d != time.Minute {
		t.Errorf("pause with AppBackoff above AppBackoffMax = %s, want the max", d)
	}
}

// A job that finds the vehicle's lease taken waits LeaseBusy plus up to as
// much again, spread.
func TestWorker_busySnooze(t *testing.T) {
	w := pauseWorker(t, Config{LeaseBusy: time.Second})
	seen := map[time.Duration]bool{}
	for range 100 {
		d := w.busySnooze()
		if d < time.Second || d >= 2*time.Second {
			t.Fatalf("busySnooze = %s, want within [1s, 2s)", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("%d distinct snoozes in 100, want jitter", len(seen))
	}
}
