package config_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/config"
)

const adaptiveYAML = `
schedules:
  - name: live
    adaptive:
      budget: { calls_per_vehicle_per_month: 500, reserve: 10% }
      intervals: { driving: 10m, charging: 20m, plugged_in: 1h, parked: 4h, asleep: 12h }
    signals: [odometer, location, battery, charge]
    vehicles: { tags: [fleet] }
`

// TestParse_adaptive: the example decodes, and keys left out take
// the defaults (package adaptive's DefaultConfig).
func TestParse_adaptive(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte(adaptiveYAML), credsEnv())
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Schedules[0]
	if s.Cron != "" || s.Adaptive == nil {
		t.Fatalf("schedule: cron %q, adaptive %v; want adaptive only", s.Cron, s.Adaptive)
	}
	want := config.Adaptive{
		Budget: config.AdaptiveBudget{CallsPerVehiclePerMonth: 500, Reserve: 0.1},
		Intervals: config.AdaptiveIntervals{Driving: 10 * time.Minute, Charging: 20 * time.Minute, PluggedIn: time.Hour,
			Parked: 4 * time.Hour, Asleep: 12 * time.Hour},
	}
	if diff := cmp.Diff(want, *s.Adaptive); diff != "" {
		t.Errorf("Adaptive (-want +got):\n%s", diff)
	}
	if got := s.Adaptive.PollBudget(); got != 450 {
		t.Errorf("PollBudget = %d, want 450", got)
	}

	partial := strings.Replace(adaptiveYAML, "intervals: { driving: 10m, charging: 20m, plugged_in: 1h, parked: 4h, asleep: 12h }",
		"intervals: { driving: 2s }", 1)
	partial = strings.Replace(partial, "reserve: 10%", "reserve: 2.5%", 1)
	cfg, err = config.Parse("c.yaml", []byte(partial), credsEnv())
	if err != nil {
		t.Fatal(err)
	}
	got := *cfg.Schedules[0].Adaptive
	want.Budget.Reserve = 0.025
	want.Intervals.Driving = 2 * time.Second
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("partial: Adaptive (-want +got):\n%s", diff)
	}
	if !strings.Contains(cfg.String(), "reserve: 2.5%") {
		t.Errorf("String does not write the reserve as a percentage:\n%s", cfg)
	}
}

func TestParse_adaptiveErrors(t *testing.T) {
	tests := []struct {
		name, from, to string
		env            func(string) (string, bool)
		want           []string
	}{
		{"cron and adaptive", "    adaptive:", "    cron: '@hourly'\n    adaptive:", nil,
			[]string{"c.yaml:3: schedules[0]: set only one of cron and adaptive"}},
		{"neither", "    adaptive:\n", "    x-adaptive:\n", nil,
			[]string{"c.yaml:3: schedules[0].cron: missing (want cron or adaptive)",
				`c.yaml:4: schedules[0].x-adaptive: unknown key "x-adaptive" (did you mean "adaptive"?)`}},
		{"reserve without %", "reserve: 10%", "reserve: 0.1", nil,
			[]string{`c.yaml:5: schedules[0].adaptive.budget.reserve: want a percentage such as 10%, got "0.1"`}},
		{"reserve of all", "reserve: 10%", "reserve: 100%", nil,
			[]string{"c.yaml:5: schedules[0].adaptive.budget.reserve: must be from 0% to below 100%, got 100%"}},
		{"reserve leaves no poll", "calls_per_vehicle_per_month: 500, reserve: 10%", "calls_per_vehicle_per_month: 1, reserve: 50%", nil,
			[]string{"c.yaml:5: schedules[0].adaptive.budget.reserve: a reserve of 50% of 1 calls leaves no poll"}},
		{"no calls", "calls_per_vehicle_per_month: 500", "calls_per_vehicle_per_month: 0", nil,
			[]string{"c.yaml:5: schedules[0].adaptive.budget.calls_per_vehicle_per_month: must be at least 1, got 0"}},
		{"floor under a second", "driving: 10m", "driving: 500ms", nil,
			[]string{"c.yaml:6: schedules[0].adaptive.intervals.driving: must be at least 1s, got 500ms"}},
		{"bad duration", "asleep: 12h", "asleep: soon", nil,
			[]string{`c.yaml:6: schedules[0].adaptive.intervals.asleep: invalid duration "soon" (want a Go duration such as 90s, 5m or 1h30m)`}},
		{"unknown interval", "parked: 4h", "parkd: 4h", nil,
			[]string{`c.yaml:6: schedules[0].adaptive.intervals.parkd: unknown key "parkd" (did you mean "parked"?)`}},
		{"API v2", "schedules:", "smartcar: { api: v2 }\nschedules:", nil,
			[]string{"c.yaml:5: schedules[0].adaptive: needs smartcar.api v3 (the policy reads API v3 signals); API v2 is not supported"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := strings.Replace(adaptiveYAML, tc.from, tc.to, 1)
			_, err := config.Parse("c.yaml", []byte(data), credsEnv())
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", data)
			}
			if diff := cmp.Diff(tc.want, problems(t, err, "c.yaml")); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProjections_adaptive: an adaptive schedule projects at most its
// budget less the reserve, and a cron schedule that alone spends that is
// called out.
func TestProjections_adaptive(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte(adaptiveYAML), credsEnv())
	if err != nil {
		t.Fatal(err)
	}
	ps := cfg.Projections()
	want := []config.Projection{{Schedule: "live", FiringsPerMonth: 450, API: config.APIV3, RequestsPerVehiclePerMonth: 450,
		Budget: 500, Other: config.Alternative{API: config.APIV2, Lacks: "adaptive schedules need API v3"}}}
	if diff := cmp.Diff(want, ps); diff != "" {
		t.Errorf("Projections (-want +got):\n%s", diff)
	}
	if w := config.QuotaWarnings(ps, 500); len(w) != 0 {
		t.Errorf("QuotaWarnings = %q, want none", w)
	}
	var b bytes.Buffer
	if err := config.FormatProjections(&b, ps, 500); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "live      up to 450 (adaptive)  up to 450 (adaptive)") {
		t.Errorf("FormatProjections:\n%s", b.String())
	}

	for _, tc := range []struct {
		cron string
		warn bool
	}{{"@daily", false}, {"0 */2 * * *", false}, {"@every 90m", true}} {
		cfg.Schedules = append(cfg.Schedules[:1], config.Schedule{Name: "check", Cron: tc.cron, Signals: []string{"odometer"},
			Vehicles: config.Vehicles{All: true}, Emit: config.EmitOnChange})
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		got := config.QuotaWarnings(cfg.Projections(), 0)
		if !tc.warn {
			if len(got) != 0 {
				t.Errorf("%s: QuotaWarnings = %q, want none", tc.cron, got)
			}
			continue
		}
		want := []string{`cron schedules "check" project 480 requests per vehicle in 30 days, at least adaptive schedule "live"'s 450 polls ` +
			"(budget 500 less its reserve): they draw on the same budget, so a vehicle in both would get no adaptive polls"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: QuotaWarnings (-want +got):\n%s", tc.cron, diff)
		}
	}
}
