package scheduler_test

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

// runFor runs s for d of fake time, then stops it and waits for Run.
func runFor(t *testing.T, s *scheduler.Scheduler, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	time.Sleep(d)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil", err)
	}
}

// ticks returns the distinct ticks per schedule, in order of enqueueing.
func ticks(rec *recorder) map[string][]time.Time {
	out := map[string][]time.Time{}
	for _, c := range rec.snapshot() {
		for _, j := range c.jobs {
			ts := out[j.Schedule]
			if len(ts) == 0 || !ts[len(ts)-1].Equal(j.Tick) {
				out[j.Schedule] = append(ts, j.Tick)
			}
		}
	}
	return out
}

func TestScheduler_Run(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now() // 2000-01-01 00:00:00 UTC in the bubble
		rec := &recorder{}
		all := scheduler.Selector{All: true}
		s := newScheduler(t, vehicles(3), rec,
			scheduler.Schedule{Name: "five", Cron: "*/5 * * * *", Paths: []string{"/odometer"}, Vehicles: all},
			scheduler.Schedule{Name: "every", Cron: "@every 7m", Paths: []string{"/odometer"}, Vehicles: all},
		)
		time.Sleep(90 * time.Second) // Run starts off the minute
		runFor(t, s, 16*time.Minute) // until 00:17:30

		at := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }
		want := map[string][]time.Time{
			"five": {at(5), at(10), at(15)},
			// Multiples of 7 min (counted from year 1, which puts one at
			// 00:03), not 7 min after Run started at 00:01:30.
			"every": {at(3), at(10), at(17)},
		}
		if diff := cmp.Diff(want, ticks(rec)); diff != "" {
			t.Errorf("ticks (-want +got):\n%s", diff)
		}
		for _, c := range rec.snapshot() {
			if !c.at.Equal(c.jobs[0].Tick) {
				t.Errorf("%s tick %s enqueued at %s, want at the tick (no jitter)", c.jobs[0].Schedule, c.jobs[0].Tick, c.at)
			}
			if len(c.jobs) != 3 {
				t.Errorf("%d jobs in one firing, want 3", len(c.jobs))
			}
		}
	})
}

func TestScheduler_Run_location(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s, err := scheduler.New(scheduler.Config{
			Location:  berlin,
			Schedules: []scheduler.Schedule{{Name: "morning", Cron: "0 6 * * *", Paths: []string{"/odometer"}, Vehicles: scheduler.Selector{All: true}}},
		}, nil, vehicles(1), rec)
		if err != nil {
			t.Fatal(err)
		}
		runFor(t, s, 24*time.Hour)
		got := ticks(rec)["morning"]
		// 06:00 in Berlin on 2000-01-01 is 05:00 UTC.
		if want := time.Date(2000, 1, 1, 5, 0, 0, 0, time.UTC); len(got) != 1 || !got[0].Equal(want) {
			t.Errorf("ticks = %v, want [%s]", got, want)
		}
	})
}

func TestScheduler_Run_stopsMidSpread(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		s := newScheduler(t, vehicles(100), rec, scheduler.Schedule{
			Name: "slow", Cron: "*/5 * * * *", Paths: []string{"/odometer"},
			Vehicles: scheduler.Selector{All: true}, Jitter: 4 * time.Minute,
		})
		// Stop one minute into the first firing's spread; Run must return
		// with the firing goroutine gone (synctest fails on a leftover).
		runFor(t, s, 6*time.Minute)
		got := len(rec.enqueuedAt(t))
		if got == 0 || got >= 100 {
			t.Errorf("%d of 100 jobs enqueued when stopped a quarter into the spread, want some but not all", got)
		}
		stopped := time.Now()
		time.Sleep(10 * time.Minute)
		if after := len(rec.enqueuedAt(t)); after != got {
			t.Errorf("%d jobs enqueued after Run returned at %s", after-got, stopped)
		}
	})
}

func TestScheduler_Run_recoversPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := &records{}
		fired := 0
		rec := &recorder{fail: func([]queue.PollJob) error {
			fired++
			if fired == 1 {
				panic("enqueue bug")
			}
			return nil
		}}
		s, err := scheduler.New(scheduler.Config{Schedules: []scheduler.Schedule{
			{Name: "p", Cron: "* * * * *", Paths: []string{"/odometer"}, Vehicles: scheduler.Selector{All: true}},
		}}, slog.New(logs), vehicles(1), rec)
		if err != nil {
			t.Fatal(err)
		}
		runFor(t, s, 150*time.Second)
		if !logs.has("cron panic") {
			t.Errorf("logged %v, want the panic logged as \"cron panic\"", logs.msgs)
		}
		if got := len(ticks(rec)["p"]); got != 1 {
			t.Errorf("%d ticks enqueued after the panicking one, want the next one (1)", got)
		}
	})
}
