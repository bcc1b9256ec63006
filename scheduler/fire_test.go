package scheduler_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

func TestScheduler_Fire_noJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := registry{
			{ID: "a", Tags: []string{"ev"}},
			{ID: "b", Tags: []string{"ice"}},
			{ID: "c", Tags: []string{"ev"}, Paused: true}, // needs reauth: skipped
			{ID: "d"},
			{ID: "e", Tags: []string{"ev", "fleet"}},
		}
		rec := &recorder{}
		s := newScheduler(t, reg, rec, scheduler.Schedule{
			Name: "evs", Cron: "*/30 * * * *", Paths: []string{"/battery", "/charge"},
			Vehicles: scheduler.Selector{IDs: []string{"d"}, Tags: []string{"ev"}}, Emit: "on_change",
		})
		tick := time.Now()
		if err := s.Fire(t.Context(), "evs", tick); err != nil {
			t.Fatal(err)
		}
		calls := rec.snapshot()
		if len(calls) != 1 {
			t.Fatalf("%d Enqueue calls, want 1 with every job", len(calls))
		}
		if !calls[0].at.Equal(tick) {
			t.Errorf("enqueued at %s, want at the tick %s", calls[0].at, tick)
		}
		var want []queue.PollJob
		for _, id := range []string{"a", "d", "e"} {
			want = append(want, queue.PollJob{
				ID: queue.JobID("evs", id, tick), Schedule: "evs", VehicleID: id,
				Paths: []string{"/battery", "/charge"}, Tick: tick, Emit: "on_change",
			})
		}
		if diff := cmp.Diff(want, calls[0].jobs); diff != "" {
			t.Errorf("jobs (-want +got):\n%s", diff)
		}
	})
}

// TestScheduler_Fire_signals: an API v3 schedule's jobs carry its signals
// (and no paths).
func TestScheduler_Fire_signals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := registry{{ID: "a"}, {ID: "b"}}
		rec := &recorder{}
		s := newScheduler(t, reg, rec, scheduler.Schedule{
			Name: "v3", Cron: "*/30 * * * *", Signals: []string{"odometer", "transmission-gearstate"},
			Vehicles: scheduler.Selector{All: true}, Emit: "always",
		})
		tick := time.Now()
		if err := s.Fire(t.Context(), "v3", tick); err != nil {
			t.Fatal(err)
		}
		var want []queue.PollJob
		for _, id := range []string{"a", "b"} {
			want = append(want, queue.PollJob{ID: queue.JobID("v3", id, tick), Schedule: "v3", VehicleID: id,
				Signals: []string{"odometer", "transmission-gearstate"}, Tick: tick, Emit: "always"})
		}
		calls := rec.snapshot()
		if len(calls) != 1 {
			t.Fatalf("%d Enqueue calls, want 1", len(calls))
		}
		if diff := cmp.Diff(want, calls[0].jobs); diff != "" {
			t.Errorf("jobs (-want +got):\n%s", diff)
		}
	})
}

func TestScheduler_Fire_jitter(t *testing.T) {
	const jitter = time.Minute
	synctest.Test(t, func(t *testing.T) {
		reg := vehicles(1000)
		rec := &recorder{}
		s := newScheduler(t, reg, rec, scheduler.Schedule{
			Name: "spread", Cron: "*/5 * * * *", Paths: []string{"/odometer"},
			Vehicles: scheduler.Selector{All: true}, Jitter: jitter,
		})
		tick1 := time.Now()
		tick2 := tick1.Add(5 * time.Minute)
		if err := s.Fire(t.Context(), "spread", tick1); err != nil {
			t.Fatal(err)
		}
		if got := time.Since(tick1); got < jitter-time.Second || got > jitter {
			t.Errorf("Fire returned %s after the tick, want within the last second of the %s window", got, jitter)
		}
		time.Sleep(time.Until(tick2))
		if err := s.Fire(t.Context(), "spread", tick2); err != nil {
			t.Fatal(err)
		}

		at := rec.enqueuedAt(t)
		if len(at) != 2*len(reg) {
			t.Fatalf("%d jobs enqueued, want %d", len(at), 2*len(reg))
		}
		perSecond := map[time.Duration]int{}
		for _, v := range reg {
			off := scheduler.Offset("spread", v.ID, jitter)
			for _, tick := range []time.Time{tick1, tick2} {
				got := at[queue.JobID("spread", v.ID, tick)].Sub(tick)
				// Enqueued in the group of its offset: the same place in
				// every firing, inside the window.
				if want := off.Truncate(time.Second); got != want {
					t.Fatalf("vehicle %s enqueued %s after tick %s, want %s (offset %s)", v.ID, got, tick, want, off)
				}
				if got < 0 || got >= jitter {
					t.Fatalf("vehicle %s enqueued %s after the tick, outside [0, %s)", v.ID, got, jitter)
				}
			}
			perSecond[off.Truncate(time.Second)]++
		}
		// Spread over the window, not bunched: 1000 vehicles over 60 groups.
		if len(perSecond) < 55 {
			t.Errorf("jobs fell into %d one-second groups, want nearly all 60", len(perSecond))
		}
		for sec, n := range perSecond {
			if n > 3*len(reg)/60 {
				t.Errorf("%d jobs enqueued in second %s, want about %d", n, sec, len(reg)/60)
			}
		}
		if calls := len(rec.snapshot()); calls != 2*len(perSecond) {
			t.Errorf("%d Enqueue calls, want one per group: %d", calls, 2*len(perSecond))
		}
	})
}

func TestScheduler_Fire_late(t *testing.T) {
	const jitter = time.Minute
	synctest.Test(t, func(t *testing.T) {
		reg := vehicles(300)
		rec := &recorder{}
		s := newScheduler(t, reg, rec, scheduler.Schedule{
			Name: "late", Cron: "* * * * *", Paths: []string{"/odometer"},
			Vehicles: scheduler.Selector{All: true}, Jitter: jitter,
		})
		now := time.Now()
		tick := now.Add(-30 * time.Second) // fired (or retried) half a window late
		if err := s.Fire(t.Context(), "late", tick); err != nil {
			t.Fatal(err)
		}
		calls := rec.snapshot()
		var overdue int
		for _, v := range reg {
			if scheduler.Offset("late", v.ID, jitter).Truncate(time.Second) <= 30*time.Second {
				overdue++
			}
		}
		if len(calls[0].jobs) != overdue || !calls[0].at.Equal(now) {
			t.Errorf("first call: %d jobs at %s, want all %d overdue jobs at once at %s", len(calls[0].jobs), calls[0].at, overdue, now)
		}
		for _, c := range calls[1:] {
			for _, j := range c.jobs {
				if want := tick.Add(scheduler.Offset("late", j.VehicleID, jitter).Truncate(time.Second)); !c.at.Equal(want) {
					t.Errorf("job %s enqueued at %s, want %s", j.ID, c.at, want)
				}
			}
		}
		if got := len(rec.enqueuedAt(t)); got != len(reg) {
			t.Errorf("%d jobs enqueued, want %d", got, len(reg))
		}
	})
}

func TestScheduler_Fire_overlap(t *testing.T) {
	// A jitter longer than the period: the second firing hurries the first.
	const jitter, period = 10 * time.Minute, 5 * time.Minute
	synctest.Test(t, func(t *testing.T) {
		reg := vehicles(500)
		rec := &recorder{}
		s := newScheduler(t, reg, rec, scheduler.Schedule{
			Name: "o", Cron: "*/5 * * * *", Paths: []string{"/odometer"},
			Vehicles: scheduler.Selector{All: true}, Jitter: jitter,
		})
		tick1 := time.Now()
		tick2 := tick1.Add(period)
		first := make(chan error, 1)
		go func() { first <- s.Fire(t.Context(), "o", tick1) }()
		time.Sleep(period)
		second := make(chan error, 1)
		go func() { second <- s.Fire(t.Context(), "o", tick2) }()
		if err := <-first; err != nil {
			t.Fatalf("first Fire: %v", err)
		}
		if got := time.Since(tick1); got != period {
			t.Errorf("first firing ended %s after its tick, want at the next tick (%s)", got, period)
		}
		if err := <-second; err != nil {
			t.Fatalf("second Fire: %v", err)
		}

		at := rec.enqueuedAt(t)
		if len(at) != 2*len(reg) {
			t.Fatalf("%d jobs enqueued, want every vehicle once per tick: %d", len(at), 2*len(reg))
		}
		for _, v := range reg {
			off := scheduler.Offset("o", v.ID, jitter).Truncate(time.Second)
			want1 := tick1.Add(min(off, period)) // the rest came at tick2, at once
			if got := at[queue.JobID("o", v.ID, tick1)]; !got.Equal(want1) {
				t.Fatalf("vehicle %s (offset %s), tick 1: enqueued at +%s, want +%s", v.ID, off, got.Sub(tick1), want1.Sub(tick1))
			}
			if got := at[queue.JobID("o", v.ID, tick2)]; !got.Equal(tick2.Add(off)) {
				t.Fatalf("vehicle %s, tick 2: enqueued at +%s, want +%s", v.ID, got.Sub(tick2), off)
			}
		}
	})
}

func TestScheduler_Fire_cancel(t *testing.T) {
	const jitter = time.Minute
	synctest.Test(t, func(t *testing.T) {
		reg := vehicles(200)
		rec := &recorder{}
		s := newScheduler(t, reg, rec, scheduler.Schedule{
			Name: "c", Cron: "* * * * *", Paths: []string{"/odometer"},
			Vehicles: scheduler.Selector{All: true}, Jitter: jitter,
		})
		tick := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second+time.Millisecond)
		defer cancel()
		err := s.Fire(ctx, "c", tick)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Fire = %v, want the context's error", err)
		}
		var want int
		for _, v := range reg {
			if scheduler.Offset("c", v.ID, jitter) < 21*time.Second {
				want++
			}
		}
		if got := len(rec.enqueuedAt(t)); got != want {
			t.Errorf("%d jobs enqueued before the cancel, want the %d due by then", got, want)
		}
	})
}

func TestScheduler_Fire_errors(t *testing.T) {
	sched := scheduler.Schedule{Name: "e", Cron: "* * * * *", Paths: []string{"/odometer"}, Vehicles: scheduler.Selector{All: true}, Jitter: 10 * time.Second}

	t.Run("unknown schedule", func(t *testing.T) {
		s := newScheduler(t, vehicles(1), &recorder{}, sched)
		if err := s.Fire(t.Context(), "nope", time.Now()); !errors.Is(err, scheduler.ErrUnknownSchedule) {
			t.Errorf("Fire = %v, want ErrUnknownSchedule", err)
		}
	})

	t.Run("vehicle list keeps failing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := newScheduler(t, failingRegistry{}, &recorder{}, sched)
			err := s.Fire(t.Context(), "e", time.Now())
			if !errors.Is(err, errBoom) || !errors.Is(err, scheduler.ErrAbandoned) || !strings.Contains(err.Error(), "list vehicles") {
				t.Errorf("Fire = %v, want ErrAbandoned and the list error wrapped", err)
			}
		})
	})

	t.Run("a failed group is retried, the others go on", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := vehicles(100)
			tick := time.Now()
			failing := map[string]bool{}
			calls := 0
			rec := &recorder{fail: func(jobs []queue.PollJob) error {
				calls++
				if calls == 2 {
					for _, j := range jobs {
						failing[j.ID] = true
					}
					return errBoom
				}
				return nil
			}}
			s := newScheduler(t, reg, rec, sched)
			if err := s.Fire(t.Context(), "e", tick); err != nil {
				t.Errorf("Fire = %v, want nil once the failed group is retried", err)
			}
			at := rec.enqueuedAt(t)
			if len(at) != 100 || len(failing) == 0 {
				t.Fatalf("%d jobs enqueued, %d failed once; want all 100", len(at), len(failing))
			}
			var last time.Time
			for id := range failing {
				if at[id].After(last) {
					last = at[id]
				}
			}
			for id, when := range at {
				if !failing[id] && when.After(last) {
					return // a later group went on after the failure
				}
			}
			t.Errorf("no group enqueued after the failed one's retry at +%s, want the spread to go on", last.Sub(tick))
		})
	})
}

type failingRegistry struct{}

func (failingRegistry) ListVehicles(context.Context) ([]scheduler.Vehicle, error) {
	return nil, errBoom
}

func (failingRegistry) Vehicle(context.Context, string) (scheduler.Vehicle, error) {
	return scheduler.Vehicle{}, errBoom
}
