package config_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/config"
)

func TestConfig_Projections(t *testing.T) {
	tests := []struct {
		cron    string
		paths   int
		firings float64 // over 30 days from 2025-01-01 00:00 UTC
	}{
		{"*/30 * * * *", 3, 1440},
		{"@every 30m", 3, 1440},
		{"@every 7m", 1, 6171}, // 43200 min / 7
		{"@hourly", 2, 720},
		{"0 6 * * *", 3, 30},
		{"@daily", 1, 30},
		{"0 9 * * 1-5", 2, 22}, // weekdays from Wed 1 to Thu 30 January 2025
		{"0 0 1 * *", 4, 1},
		{"@weekly", 1, 4}, // Sundays 5, 12, 19 and 26 January
		{"CRON_TZ=America/New_York 0 12 * * *", 1, 30},
		{"* * * * *", 1, 43200},
	}
	for _, tc := range tests {
		t.Run(tc.cron, func(t *testing.T) {
			// The first paths of KnownPaths all have an API v3 signal.
			s := config.Schedule{Name: "s", Cron: tc.cron, Paths: config.KnownPaths[:tc.paths]}
			v2, v3 := tc.firings*float64(tc.paths), tc.firings // v2 bills each path, v3 each job
			for _, api := range []string{config.APIV2, config.APIV3} {
				c := config.Default()
				c.Smartcar.API = api
				c.Smartcar.MonthlyQuota = 500
				c.Schedules = []config.Schedule{s}
				want := config.Projection{Schedule: "s", FiringsPerMonth: tc.firings, API: api,
					RequestsPerVehiclePerMonth: v2, OverQuota: v2 > 500,
					Other: config.Alternative{API: config.APIV3, RequestsPerVehiclePerMonth: v3}}
				if api == config.APIV3 {
					want.RequestsPerVehiclePerMonth, want.OverQuota = v3, v3 > 500
					want.Other = config.Alternative{API: config.APIV2, RequestsPerVehiclePerMonth: v2}
				}
				if diff := cmp.Diff([]config.Projection{want}, c.Projections()); diff != "" {
					t.Errorf("API %s: Projections (-want +got):\n%s", api, diff)
				}
			}
		})
	}
}

// TestConfig_Projections_signals: signals cost one request a job on v3 and
// their first path each on v2; what one API lacks is said, not counted.
func TestConfig_Projections_signals(t *testing.T) {
	tests := []struct {
		name     string
		api      string
		signals  []string
		requests float64 // on api, 30 daily firings
		other    config.Alternative
	}{
		{"v3 signals", config.APIV3, []string{"odometer", "location", "battery", "battery_capacity"}, 30,
			config.Alternative{API: config.APIV2, RequestsPerVehiclePerMonth: 120}},
		{"v3 only", config.APIV3, []string{"odometer", "connectivity"}, 30,
			config.Alternative{API: config.APIV2, RequestsPerVehiclePerMonth: 30, Lacks: "connectivity has no API v2 path"}},
		{"raw code", config.APIV3, []string{"transmission-gearstate"}, 30,
			config.Alternative{API: config.APIV2, Lacks: "the API v3 code transmission-gearstate has no API v2 path"}},
		{"all", config.APIV3, []string{"all"}, 30, config.Alternative{API: config.APIV2, Lacks: `"all" is API v3 only`}},
		{"v2 diagnostics", config.APIV2, []string{"odometer", "diagnostics"}, 60,
			config.Alternative{API: config.APIV3, RequestsPerVehiclePerMonth: 30, Lacks: "diagnostics has no API v3 signal"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			c.Smartcar.API = tc.api
			c.Schedules = []config.Schedule{{Name: "s", Cron: "@daily", Signals: tc.signals, Vehicles: config.Vehicles{All: true}, Emit: config.EmitAlways}}
			if err := c.Validate(config.SkipCredentials()); err != nil {
				t.Fatal(err)
			}
			want := []config.Projection{{Schedule: "s", FiringsPerMonth: 30, API: tc.api, RequestsPerVehiclePerMonth: tc.requests, Other: tc.other}}
			if diff := cmp.Diff(want, c.Projections()); diff != "" {
				t.Errorf("Projections (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfig_Projections_quota(t *testing.T) {
	c := config.Default()
	c.Schedules = []config.Schedule{
		{Name: "under", Cron: "@daily", Paths: []string{"/vin", "/fuel"}},          // 60
		{Name: "exact", Cron: "0 */6 * * *", Paths: []string{"/vin"}},              // 120
		{Name: "over", Cron: "0 * * * *", Paths: []string{"/vin"}},                 // 720
		{Name: "broken", Cron: "not a cron", Paths: []string{"/vin", "/odometer"}}, // 0
	}
	for _, tc := range []struct {
		quota int
		over  []bool
	}{
		{120, []bool{false, false, true, false}},
		{0, []bool{false, false, false, false}}, // unknown quota: never over
	} {
		c.Smartcar.MonthlyQuota = tc.quota
		var got []bool
		for _, p := range c.Projections() {
			got = append(got, p.OverQuota)
		}
		if diff := cmp.Diff(tc.over, got); diff != "" {
			t.Errorf("quota %d: OverQuota (-want +got):\n%s", tc.quota, diff)
		}
	}
	ps := c.Projections()
	if ps[3].FiringsPerMonth != 0 || ps[3].RequestsPerVehiclePerMonth != 0 {
		t.Errorf("broken cron projects %+v, want 0", ps[3])
	}
}

func TestFormatProjections(t *testing.T) {
	ps := []config.Projection{
		{Schedule: "default", FiringsPerMonth: 1440, API: config.APIV2, RequestsPerVehiclePerMonth: 4320, OverQuota: true,
			Other: config.Alternative{API: config.APIV3, RequestsPerVehiclePerMonth: 1440}},
		{Schedule: "daily_health", FiringsPerMonth: 30, API: config.APIV2, RequestsPerVehiclePerMonth: 90,
			Other: config.Alternative{API: config.APIV3, RequestsPerVehiclePerMonth: 30}},
	}
	tests := []struct {
		name  string
		ps    []config.Projection
		quota int
		want  string
	}{
		{
			name: "two schedules", ps: ps, quota: 500,
			want: `SCHEDULE       FIRINGS/30D  REQUESTS/VEHICLE/30D (API v2)  QUOTA                    ON API v3
default        1440         4320                           864% of 500  OVER QUOTA  1440
daily_health   30           90                             18% of 500               30
all schedules  1470         4410                           882% of 500  OVER QUOTA  1470

API v2 (smartcar.api) bills 4410 requests per vehicle in 30 days for these schedules, API v3 would bill 1470: API v3 would be cheaper (smartcar.api: v3).
`,
		},
		{
			name: "one schedule, unknown quota", ps: ps[1:], quota: 0,
			want: `SCHEDULE      FIRINGS/30D  REQUESTS/VEHICLE/30D (API v2)  QUOTA  ON API v3
daily_health  30           90                             -      30

API v2 (smartcar.api) bills 90 requests per vehicle in 30 days for these schedules, API v3 would bill 30: API v3 would be cheaper (smartcar.api: v3).
`,
		},
		{
			name: "fractions", ps: []config.Projection{{Schedule: "x", FiringsPerMonth: 2.5, API: config.APIV2, RequestsPerVehiclePerMonth: 7.5,
				Other: config.Alternative{API: config.APIV3, RequestsPerVehiclePerMonth: 2.5}}}, quota: 1000,
			want: `SCHEDULE  FIRINGS/30D  REQUESTS/VEHICLE/30D (API v2)  QUOTA       ON API v3
x         2.5          7.5                            1% of 1000  2.5

API v2 (smartcar.api) bills 7.5 requests per vehicle in 30 days for these schedules, API v3 would bill 2.5: API v3 would be cheaper (smartcar.api: v3).
`,
		},
		{
			name: "v3, v2 lacks a signal", quota: 500, ps: []config.Projection{
				{Schedule: "a", FiringsPerMonth: 30, API: config.APIV3, RequestsPerVehiclePerMonth: 30,
					Other: config.Alternative{API: config.APIV2, RequestsPerVehiclePerMonth: 60}},
				{Schedule: "b", FiringsPerMonth: 4, API: config.APIV3, RequestsPerVehiclePerMonth: 4,
					Other: config.Alternative{API: config.APIV2, Lacks: "connectivity has no API v2 path"}},
			},
			want: `SCHEDULE       FIRINGS/30D  REQUESTS/VEHICLE/30D (API v3)  QUOTA      ON API v2
a              30           30                             6% of 500  60
b              4            4                              1% of 500  -
all schedules  34           34                             7% of 500  -

API v3 (smartcar.api) bills 34 requests per vehicle in 30 days for these schedules; API v2 cannot poll them: connectivity has no API v2 path.
`,
		},
		{
			name: "same cost", quota: 500, ps: []config.Projection{{Schedule: "a", FiringsPerMonth: 30, API: config.APIV3,
				RequestsPerVehiclePerMonth: 30, Other: config.Alternative{API: config.APIV2, RequestsPerVehiclePerMonth: 30}}},
			want: `SCHEDULE  FIRINGS/30D  REQUESTS/VEHICLE/30D (API v3)  QUOTA      ON API v2
a         30           30                             6% of 500  30

API v3 (smartcar.api) bills 30 requests per vehicle in 30 days for these schedules, API v2 would bill 30: both cost the same.
`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := config.FormatProjections(&b, tc.ps, tc.quota); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("table (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQuotaWarnings(t *testing.T) {
	p := func(name string, requests float64) config.Projection {
		return config.Projection{Schedule: name, API: config.APIV2, RequestsPerVehiclePerMonth: requests}
	}
	tests := []struct {
		name  string
		ps    []config.Projection
		quota int
		want  []string
	}{
		{"within", []config.Projection{p("a", 360), p("b", 90)}, 500, nil},
		{"exactly the quota", []config.Projection{p("a", 500)}, 500, nil},
		{"unknown quota", []config.Projection{p("a", 1e6)}, 0, nil},
		{"one schedule over", []config.Projection{p("default", 4320), p("daily_health", 90)}, 500, []string{
			`schedule "default" projects 4320 requests per vehicle in 30 days, 864% of smartcar.monthly_quota 500: poll less often or fewer paths`,
		}},
		{"two over", []config.Projection{p("a", 720), p("b", 501.5)}, 500, []string{
			`schedule "a" projects 720 requests per vehicle in 30 days, 144% of smartcar.monthly_quota 500: poll less often or fewer paths`,
			`schedule "b" projects 501.5 requests per vehicle in 30 days, 100% of smartcar.monthly_quota 500: poll less often or fewer paths`,
		}},
		{"only the sum over", []config.Projection{p("a", 360), p("b", 90), p("c", 90)}, 500, []string{
			`schedules "a", "b", "c" together project 540 requests in 30 days for a vehicle they all select, 108% of smartcar.monthly_quota 500: poll less often or fewer paths`,
		}},
		{"v3 over", []config.Projection{{Schedule: "a", API: config.APIV3, RequestsPerVehiclePerMonth: 1440}}, 500, []string{
			`schedule "a" projects 1440 requests per vehicle in 30 days, 288% of smartcar.monthly_quota 500: poll less often`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, config.QuotaWarnings(tc.ps, tc.quota)); diff != "" {
				t.Errorf("QuotaWarnings (-want +got):\n%s", diff)
			}
		})
	}
}
