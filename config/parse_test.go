package config_test

import (
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/config"
)

// wantDefaults is every documented default, written out independently of
// the package, with the credentials of credsEnv.
func wantDefaults(schedules ...config.Schedule) *config.Config {
	return &config.Config{
		NATS:    config.NATS{URL: "", SubjectPrefix: "smartcar", EventsMaxAge: 168 * time.Hour, Replicas: 1},
		Redis:   config.Redis{URL: "", KeyPrefix: "smartcar:"},
		DataDir: "./data",
		Smartcar: config.Smartcar{
			API:          config.APIV3,
			UnitSystem:   "metric",
			ClientID:     testClientID,
			ClientSecret: testClientSecret,
			Mode:         config.ModeLive,
			RateLimit:    config.RateLimit{RequestsPerMinute: 2, Burst: 120},
			MonthlyQuota: 500,
			Timeout:      310 * time.Second,
		},
		Workers: config.Workers{Concurrency: 64, AckWait: 6 * time.Minute, ShutdownGrace: 25 * time.Second, MaxAttempts: 10},
		HTTP:    config.HTTP{Listen: "127.0.0.1:8080"},
		Log:     config.Log{Level: "info", Format: "auto"},
		Connect: config.Connect{
			Scopes:   []string{"read_vehicle_info", "read_odometer", "read_location", "read_battery", "read_charge", "read_fuel"},
			StateTTL: 10 * time.Minute,
		},
		Webhooks:  config.Webhooks{DedupTTL: 168 * time.Hour, Concurrency: 4, Inbox: config.WebhookInbox{MaxAge: 168 * time.Hour, MaxMessages: 1_000_000}},
		Schedules: schedules,
	}
}

func TestParse_good(t *testing.T) {
	minimal := config.Schedule{
		Name: "s", Cron: "@hourly", Paths: []string{"/odometer"},
		Vehicles: config.Vehicles{All: true}, Emit: config.EmitOnChange,
	}
	tests := []struct {
		name string
		file string // in testdata
		env  func(string) (string, bool)
		want *config.Config
	}{
		{
			name: "minimal gets every default",
			file: "minimal.yaml",
			env:  credsEnv(),
			want: wantDefaults(minimal),
		},
		{
			name: "nulls keep defaults",
			file: "nulls.yaml",
			env:  credsEnv(),
			want: wantDefaults(minimal),
		},
		{
			name: "every setting",
			file: "full.yaml",
			env:  env("REDIS_PASSWORD", "pw", "POLL_CONCURRENCY", "200"),
			want: &config.Config{
				NATS: config.NATS{
					URL:           "nats://n1:4222,nats://n2:4222",
					SubjectPrefix: "fleet-1",
					EventsMaxAge:  720 * time.Hour,
					Replicas:      3,
				},
				Redis:   config.Redis{URL: "redis://:pw@redis:6379/2", KeyPrefix: "fleet1:"},
				DataDir: "/var/lib/smartcar-poller",
				Smartcar: config.Smartcar{
					API:          config.APIV2,
					UnitSystem:   "imperial",
					ClientID:     "file-client-id",
					ClientSecret: "file-secret",
					RedirectURI:  "https://poller.example.com/callback",
					Mode:         config.ModeTest,
					RateLimit:    config.RateLimit{RequestsPerMinute: 0.5, Burst: 30},
					MonthlyQuota: 1000,
					Timeout:      2 * time.Minute,
				},
				Workers:  config.Workers{Concurrency: 200, AckWait: 10 * time.Minute, ShutdownGrace: time.Minute, MaxAttempts: 3},
				HTTP:     config.HTTP{Listen: ""},
				Log:      config.Log{Level: "debug", Format: "json"},
				Connect:  config.Connect{Scopes: []string{"read_odometer", "read_battery"}, StateTTL: 5 * time.Minute},
				Webhooks: config.Webhooks{ManagementToken: "file-amt", DedupTTL: time.Hour, Concurrency: 8, Inbox: config.WebhookInbox{MaxAge: 72 * time.Hour, MaxMessages: 50000}},
				Schedules: []config.Schedule{
					{
						Name: "frequent", Cron: "*/15 * * * *", Paths: []string{"/location", "/battery"},
						Vehicles: config.Vehicles{All: true}, Jitter: 2 * time.Minute, Emit: config.EmitAlways,
					},
					{
						Name: "two_cars", Cron: "CRON_TZ=Europe/Berlin 0 7 * * 1-5", Paths: []string{"/charge", "/charge/limit"},
						Vehicles: config.Vehicles{IDs: []string{"36ab27d0-fd9d-4455-823a-ce30af709ffc", "veh_2"}}, Emit: config.EmitOnChange,
					},
					{
						Name: "fleet", Cron: "@daily", Paths: []string{"/", "/vin", "/diagnostics/dtcs"},
						Vehicles: config.Vehicles{Tags: []string{"fleet", "eu:west"}}, Jitter: time.Hour, Emit: config.EmitOnChange,
						When: config.When{WebhooksSilentFor: 2 * time.Hour},
					},
				},
			},
		},
		{
			name: "merge keys and aliases",
			file: "merge.yaml",
			env:  credsEnv(),
			want: func() *config.Config {
				c := wantDefaults(
					config.Schedule{
						Name: "a", Cron: "@hourly", Paths: []string{"/odometer", "/fuel"},
						Vehicles: config.Vehicles{Tags: []string{"x"}}, Jitter: time.Minute, Emit: config.EmitAlways,
					},
					config.Schedule{
						Name: "b", Cron: "@daily", Paths: []string{"/odometer", "/fuel"},
						Vehicles: config.Vehicles{Tags: []string{"x"}}, Jitter: time.Minute, Emit: config.EmitOnChange,
					},
				)
				c.Workers.Concurrency, c.Workers.AckWait, c.Workers.MaxAttempts = 5, time.Minute, 4
				return c
			}(),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := config.Parse(tc.file, data, tc.env)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse_example(t *testing.T) {
	for _, k := range []string{"SMARTCAR_CLIENT_ID", "SMARTCAR_CLIENT_SECRET", "SMARTCAR_REDIRECT_URI", "NATS_URL", "REDIS_URL"} {
		t.Setenv(k, "")
	}
	_, err := config.Load("example.yaml")
	if err == nil || len(problems(t, err, "example.yaml")) != 2 {
		t.Fatalf("Load without credentials: %v, want the two credential problems", err)
	}
	t.Setenv("SMARTCAR_CLIENT_ID", testClientID)
	t.Setenv("SMARTCAR_CLIENT_SECRET", testClientSecret)
	got, err := config.Load("example.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := wantDefaults(
		config.Schedule{
			Name: "default", Cron: "0 */2 * * *", Signals: []string{"odometer", "location", "battery", "charge", "lock_status", "connectivity"},
			Vehicles: config.Vehicles{All: true}, Jitter: 5 * time.Minute, Emit: config.EmitOnChange,
		},
		config.Schedule{
			Name: "weekly_health", Cron: "0 6 * * 1", Signals: []string{"engine_oil", "tire_pressure", "battery_capacity", "transmission-gearstate"},
			Vehicles: config.Vehicles{Tags: []string{"fleet"}}, Jitter: 30 * time.Minute, Emit: config.EmitAlways,
		},
	)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("example.yaml is not the defaults plus its schedules (-want +got):\n%s", diff)
	}
}

func TestLoad_missingFile(t *testing.T) {
	_, err := config.Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func TestParse_envExpansion(t *testing.T) {
	const file = `nats:
  url: ${NATS_URL:-nats://localhost:4222}
  subject_prefix: "${PREFIX}"
redis:
  key_prefix: "$${literal}:"
workers:
  concurrency: ${CONC}
  ack_wait: ${ACK:-7m}
data_dir: ${EMPTY}
smartcar:
  client_secret: ${SECRET:-${FALLBACK_SECRET}}
schedules:
  - name: ${NAME}-poll
    cron: ${CRON}
    paths: [/vin, "${PATH_2}"]
`
	e := credsEnv("PREFIX", "p1", "CONC", "12", "EMPTY", "", "FALLBACK_SECRET", "s2", "NAME", "n",
		"CRON", "@every 2m", "PATH_2", "/fuel", "SMARTCAR_CLIENT_SECRET", "")
	_, err := config.Parse("env.yaml", []byte(file), e, config.SkipCredentials())
	if err == nil {
		t.Fatalf("Parse accepted data_dir: \"\" (from ${EMPTY})")
	}
	if diff := cmp.Diff([]string{"env.yaml:9: data_dir: must not be empty"}, problems(t, err, "env.yaml")); diff != "" {
		t.Fatalf("problems (-want +got):\n%s", diff)
	}

	got, err := config.Parse("env.yaml", []byte(file), func(k string) (string, bool) {
		if k == "EMPTY" {
			return "/data", true
		}
		return e(k)
	})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	type view struct {
		NATSURL, Prefix, KeyPrefix, DataDir, Secret string
		Concurrency                                 int
		AckWait                                     time.Duration
		Schedule                                    config.Schedule
	}
	gotView := view{
		got.NATS.URL, got.NATS.SubjectPrefix, got.Redis.KeyPrefix, got.DataDir, got.Smartcar.ClientSecret.Reveal(),
		got.Workers.Concurrency, got.Workers.AckWait, got.Schedules[0],
	}
	wantView := view{
		"nats://localhost:4222", "p1", "${literal}:", "/data", "s2", 12, 7 * time.Minute,
		config.Schedule{Name: "n-poll", Cron: "@every 2m", Paths: []string{"/vin", "/fuel"}, Vehicles: config.Vehicles{All: true}, Emit: config.EmitOnChange},
	}
	if diff := cmp.Diff(wantView, gotView); diff != "" {
		t.Errorf("expanded config (-want +got):\n%s", diff)
	}
}

func TestConfig_String_roundTrip(t *testing.T) {
	full, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	parsedFull, err := config.Parse("full.yaml", full, env("REDIS_PASSWORD", "", "POLL_CONCURRENCY", "8"))
	if err != nil {
		t.Fatal(err)
	}
	simulated := config.Default()
	simulated.Smartcar.Mode = config.ModeSimulated
	tests := []struct {
		name     string
		cfg      *config.Config
		redisURL string // after redaction
	}{
		{"default", simulated, ""},
		{"full", parsedFull, "redis://REDACTED@redis:6379/2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			again, err := config.Parse("again.yaml", []byte(tc.cfg.String()), env(), config.SkipCredentials())
			if err != nil {
				t.Fatalf("Parse(String()): %v\n%s", err, tc.cfg)
			}
			want := *tc.cfg
			want.Redis.URL = tc.redisURL
			if want.Smartcar.ClientSecret != "" {
				want.Smartcar.ClientSecret = config.Redacted
			}
			if want.Webhooks.ManagementToken != "" {
				want.Webhooks.ManagementToken = config.Redacted
			}
			if diff := cmp.Diff(&want, again); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*config.Config)
		opts   []config.Option
		want   []string
	}{
		{name: "default needs credentials", change: func(*config.Config) {},
			want: []string{
				"smartcar.client_id: missing (set it or SMARTCAR_CLIENT_ID)",
				"smartcar.client_secret: missing (set it or SMARTCAR_CLIENT_SECRET)",
			}},
		{name: "default skipping credentials", change: func(*config.Config) {}, opts: []config.Option{config.SkipCredentials()}},
		{name: "default simulated needs credentials too", change: func(c *config.Config) { c.Smartcar.Mode = config.ModeSimulated },
			want: []string{
				"smartcar.client_id: missing (set it or SMARTCAR_CLIENT_ID)",
				"smartcar.client_secret: missing (set it or SMARTCAR_CLIENT_SECRET)",
			}},
		{name: "default simulated with credentials", change: func(c *config.Config) {
			c.Smartcar.Mode = config.ModeSimulated
			c.Smartcar.ClientID, c.Smartcar.ClientSecret = "id", "secret"
		}},
		{name: "code-built mistakes",
			opts: []config.Option{config.SkipCredentials()},
			change: func(c *config.Config) {
				c.Workers.Concurrency = 0
				c.Schedules[0].Vehicles = config.Vehicles{All: true, IDs: []string{"v"}}
				c.Schedules = append(c.Schedules, config.Schedule{Name: "x", Cron: "@daily", Paths: []string{"/vin"}})
			},
			want: []string{
				"workers.concurrency: must be at least 1, got 0",
				"schedules[0].vehicles: set only one of all, ids and tags",
				`schedules[1].vehicles: missing (want "all", a list of vehicle ids or {tags: [...]})`,
				`schedules[1].emit: invalid value "" (want "always" or "on_change")`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			tc.change(c)
			err := c.Validate(tc.opts...)
			var got []string
			var errs config.Errors
			if errors.As(err, &errs) {
				for _, e := range errs {
					got = append(got, e.Error())
				}
			} else if err != nil {
				t.Fatalf("Validate: %v (%T), want config.Errors", err, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefault_demoSchedule(t *testing.T) {
	c := config.Default()
	if len(c.Schedules) != 1 {
		t.Fatalf("Default has %d schedules, want 1", len(c.Schedules))
	}
	// Everything but the schedule is the documented default.
	c.Smartcar.ClientID, c.Smartcar.ClientSecret = testClientID, testClientSecret
	want := wantDefaults(config.Schedule{
		Name: "demo", Cron: "@every 30s", Signals: []string{"odometer", "location", "battery", "charge"},
		Vehicles: config.Vehicles{All: true}, Jitter: 5 * time.Second, Emit: config.EmitAlways,
	})
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Default (-want +got):\n%s", diff)
	}
	// Each call is a fresh copy.
	c.Schedules[0].Signals[0] = "changed"
	if got := config.Default().Schedules[0].Signals[0]; got != "odometer" {
		t.Errorf("Default shares state: signal %q after a change to another copy", got)
	}
}

func TestLog_SlogLevel(t *testing.T) {
	for level, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError, "": slog.LevelInfo,
	} {
		if got := (config.Log{Level: level}).SlogLevel(); got != want {
			t.Errorf("Log{Level: %q}.SlogLevel() = %v, want %v", level, got, want)
		}
	}
}

func TestVehicles_String(t *testing.T) {
	tests := []struct {
		v    config.Vehicles
		want string
	}{
		{config.Vehicles{All: true}, "all"},
		{config.Vehicles{IDs: []string{"a", "b"}}, "ids: a, b"},
		{config.Vehicles{Tags: []string{"fleet"}}, "tags: fleet"},
	}
	for _, tc := range tests {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func BenchmarkParse_example(b *testing.B) {
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		b.Fatal(err)
	}
	e := credsEnv()
	for b.Loop() {
		if _, err := config.Parse("example.yaml", data, e); err != nil {
			b.Fatal(err)
		}
	}
}

// TestParse_yamlEdges covers what go-yaml's parser gets wrong or leaves to
// its caller, against what YAML says.
func TestParse_yamlEdges(t *testing.T) {
	const head = "data_dir: ./d\n"
	tests := []struct {
		name string
		yaml string
		want func(*config.Config) any // the part of the config to compare
		val  any
	}{
		{
			// https://github.com/goccy/go-yaml/issues/832: inside a flow mapping,
			// r:6379 used to split into the mapping {r: 6379}.
			name: "colon in a plain scalar in a flow list in a flow mapping",
			yaml: head + "redis: {addrs: [r1:6379, r2:6379], master_name: m}\n" +
				"nats: {url: [nats://n1:4222, nats://n2:4222]}\n" +
				"schedules: [{name: s, cron: '@hourly', paths: [/vin], vehicles: {tags: [fleet, eu:west]}}]\n",
			want: func(c *config.Config) any {
				return []any{c.Redis.Addrs, c.NATS.URL, c.Schedules[0].Vehicles.Tags}
			},
			val: []any{[]string{"r1:6379", "r2:6379"}, "nats://n1:4222,nats://n2:4222", []string{"fleet", "eu:west"}},
		},
		{
			name: "tab inside a plain scalar",
			yaml: head + "redis: {key_prefix: a\tb}\nschedules: [{name: s, cron: 0\t6 * * *, paths: [/vin]}]\n",
			want: func(c *config.Config) any { return []string{c.Redis.KeyPrefix, c.Schedules[0].Cron} },
			val:  []string{"a\tb", "0\t6 * * *"},
		},
		{
			name: "byte order mark",
			yaml: "\uFEFF" + head + okSchedules,
			want: func(c *config.Config) any { return c.DataDir },
			val:  "./d",
		},
		{
			name: "CRLF line breaks",
			yaml: "data_dir: ./d\r\nschedules:\r\n  - name: s\r\n    cron: '@hourly'\r\n    paths: [/vin]\r\n",
			want: func(c *config.Config) any { return c.Schedules[0].Paths },
			val:  []string{"/vin"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("poller.yaml", []byte(tc.yaml), credsEnv())
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tc.val, tc.want(cfg)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse_yamlEdgeErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"a pair with a space is still a pair", okSchedules + "redis: {addrs: [r: 6379]}\n",
			[]string{"poller.yaml:2: redis.addrs[0]: want a string, got a mapping"}},
		{"invalid UTF-8 after a leading byte", okSchedules + "data_dir: \"a\xe2\x28\xa1\"\n",
			[]string{"poller.yaml:2: invalid YAML: invalid trailing UTF-8 octet"}},
		{"UTF-8 cut short", okSchedules + "data_dir: a\xe2\x82",
			[]string{"poller.yaml:2: invalid YAML: incomplete UTF-8 octet sequence"}},
		{"too many lines", okSchedules + strings.Repeat("\n", 10_000),
			[]string{"poller.yaml:10001: file too long (10001 lines, limit 10000)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("poller.yaml", []byte(tc.yaml), credsEnv())
			if err == nil {
				t.Fatal("Parse accepted the config")
			}
			if diff := cmp.Diff(tc.want, problems(t, err, "poller.yaml")); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
