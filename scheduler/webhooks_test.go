package scheduler_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

func TestScheduler_Fire_webhooksSilentFor(t *testing.T) {
	tick := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	reg := registry{
		{ID: "never"}, // no webhook yet: polled
		{ID: "fresh", LastWebhook: tick.Add(-time.Minute)},   // heard from recently: skipped
		{ID: "edge", LastWebhook: tick.Add(-2 * time.Hour)},  // quiet exactly 2h: polled
		{ID: "quiet", LastWebhook: tick.Add(-3 * time.Hour)}, // quiet: polled
		{ID: "future", LastWebhook: tick.Add(time.Second)},   // clock skew: still fresh
	}
	tests := []struct {
		name   string
		silent time.Duration
		want   []string
	}{
		{"silent_for_2h", 2 * time.Hour, []string{"never", "edge", "quiet"}},
		{"no_condition", 0, []string{"never", "fresh", "edge", "quiet", "future"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := &recorder{}
				s := newScheduler(t, reg, rec, scheduler.Schedule{
					Name: "fallback", Cron: "@hourly", Paths: []string{"/odometer"},
					Vehicles: scheduler.Selector{All: true}, WebhooksSilentFor: tc.silent,
				})
				if err := s.Fire(t.Context(), "fallback", tick); err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, c := range rec.snapshot() {
					for _, j := range c.jobs {
						got = append(got, j.VehicleID)
					}
				}
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("polled vehicles (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestNew_negativeWebhooksSilentFor(t *testing.T) {
	_, err := scheduler.New(scheduler.Config{Schedules: []scheduler.Schedule{{
		Name: "s", Cron: "@hourly", Paths: []string{"/odometer"},
		Vehicles: scheduler.Selector{All: true}, WebhooksSilentFor: -time.Second,
	}}}, nil, registry{}, &recorder{})
	if err == nil {
		t.Fatal("New accepted a negative WebhooksSilentFor")
	}
}
