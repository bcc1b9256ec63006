package scheduler_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

func TestSelector_Match(t *testing.T) {
	v := scheduler.Vehicle{ID: "v1", Tags: []string{"fleet-a", "ev"}}
	tests := []struct {
		name string
		sel  scheduler.Selector
		v    scheduler.Vehicle
		want bool
	}{
		{"all", scheduler.Selector{All: true}, v, true},
		{"id", scheduler.Selector{IDs: []string{"v0", "v1"}}, v, true},
		{"other id", scheduler.Selector{IDs: []string{"v2"}}, v, false},
		{"tag", scheduler.Selector{Tags: []string{"ev"}}, v, true},
		{"other tag", scheduler.Selector{Tags: []string{"ice"}}, v, false},
		{"id or tag", scheduler.Selector{IDs: []string{"v9"}, Tags: []string{"fleet-a"}}, v, true},
		{"no tags on vehicle", scheduler.Selector{Tags: []string{"ev"}}, scheduler.Vehicle{ID: "v1"}, false},
		{"empty", scheduler.Selector{}, v, false},
		{"paused still matches", scheduler.Selector{All: true}, scheduler.Vehicle{ID: "v1", Paused: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sel.Match(tt.v); got != tt.want {
				t.Errorf("Match() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOffset(t *testing.T) {
	const jitter = 5 * time.Minute
	const n, buckets = 10_000, 10
	counts := make([]int, buckets)
	moved := 0
	for i := range n {
		id := fmt.Sprintf("vehicle-%d", i)
		got := scheduler.Offset("default", id, jitter)
		if got < 0 || got >= jitter {
			t.Fatalf("Offset(%s) = %s, want in [0, %s)", id, got, jitter)
		}
		if again := scheduler.Offset("default", id, jitter); again != got {
			t.Fatalf("Offset(%s) = %s then %s, want stable", id, got, again)
		}
		if scheduler.Offset("other", id, jitter) != got {
			moved++
		}
		counts[got*buckets/jitter]++
	}
	for b, c := range counts {
		if c < n/buckets*85/100 || c > n/buckets*115/100 {
			t.Errorf("bucket %d of the window holds %d of %d offsets, want about %d", b, c, n, n/buckets)
		}
	}
	if moved < n*99/100 {
		t.Errorf("only %d of %d vehicles get another offset in another schedule", moved, n)
	}
	if got := scheduler.Offset("default", "v1", 0); got != 0 {
		t.Errorf("Offset(jitter 0) = %s, want 0", got)
	}
}

func TestNew_invalid(t *testing.T) {
	ok := scheduler.Schedule{Name: "ok", Cron: "*/5 * * * *", Paths: []string{"/odometer"}, Vehicles: scheduler.Selector{All: true}}
	with := func(f func(*scheduler.Schedule)) scheduler.Schedule {
		s := ok
		f(&s)
		return s
	}
	tests := []struct {
		name      string
		schedules []scheduler.Schedule
		want      string
	}{
		{"bad cron", []scheduler.Schedule{ok, with(func(s *scheduler.Schedule) { s.Name, s.Cron = "nightly", "61 * * * *" })}, `"nightly": cron "61 * * * *"`},
		{"six fields", []scheduler.Schedule{with(func(s *scheduler.Schedule) { s.Name, s.Cron = "secs", "0 */5 * * * *" })}, `"secs": cron`},
		{"unknown descriptor", []scheduler.Schedule{with(func(s *scheduler.Schedule) { s.Name, s.Cron = "d", "@fortnightly" })}, `"d": cron`},
		{"duplicate", []scheduler.Schedule{ok, ok}, `"ok": duplicate name`},
		{"no name", []scheduler.Schedule{with(func(s *scheduler.Schedule) { s.Name = "" })}, "without a name"},
		{"slash in name", []scheduler.Schedule{with(func(s *scheduler.Schedule) { s.Name = "a/b" })}, `"a/b": name`},
		{"no paths", []scheduler.Schedule{with(func(s *scheduler.Schedule) { s.Paths = nil })}, `"ok": no paths or signals`},
		{"paths and signals", []scheduler.Schedule{with(func(s *scheduler.Schedule) { s.Signals = []string{"odometer"} })}, `"ok": paths (API v2) and signals (API v3)`},
		{"negative jitter", []scheduler.Schedule{with(func(s *scheduler.Schedule) { s.Jitter = -time.Second })}, `"ok": jitter`},
		{"empty selector", []scheduler.Schedule{with(func(s *scheduler.Schedule) { s.Vehicles = scheduler.Selector{} })}, `"ok": selects no vehicles`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scheduler.New(scheduler.Config{Schedules: tt.schedules}, nil, registry{}, &recorder{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() error = %v, want one containing %s", err, tt.want)
			}
		})
	}
	if _, err := scheduler.New(scheduler.Config{}, nil, nil, &recorder{}); err == nil {
		t.Error("New(nil vehicles) = nil error, want one")
	}
}

func TestNew_cronForms(t *testing.T) {
	for _, spec := range []string{"*/30 * * * *", "0 6 * * MON-FRI", "@hourly", "@every 90s", "CRON_TZ=Europe/Berlin 0 6 * * *"} {
		t.Run(spec, func(t *testing.T) {
			s := scheduler.Schedule{Name: "s", Cron: spec, Paths: []string{"/odometer"}, Vehicles: scheduler.Selector{All: true}}
			if _, err := scheduler.New(scheduler.Config{Schedules: []scheduler.Schedule{s}}, nil, registry{}, &recorder{}); err != nil {
				t.Errorf("New(%q) = %v, want nil", spec, err)
			}
		})
	}
}
