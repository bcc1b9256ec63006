package config_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/config"
)

// FuzzParse checks that Parse never panics, that every problem names the
// file and a line, and that what it accepts is valid and projectable.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range append(seeds, "example.yaml") {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, tc := range badInputs {
		f.Add([]byte(tc.yaml))
	}
	f.Add([]byte("a: &a [*a]\nschedules: *a\n"))
	f.Add([]byte("schedules:\n  - &s {name: a, cron: '@hourly', paths: [/vin], <<: *s}\n"))
	f.Add([]byte("data_dir: ${X:-${Y:-$$}}\n" + okSchedules))

	e := credsEnv("X", "1", "Y", "")
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("fuzz.yaml", data, e)
		if err != nil {
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty config.Errors", err, err)
			}
			for _, p := range errs {
				if p.File != "fuzz.yaml" || p.Line < 1 || p.Problem == "" {
					t.Fatalf("problem %#v lacks the file, a line or a problem", p)
				}
				if !strings.HasPrefix(p.Error(), "fuzz.yaml:") {
					t.Fatalf("problem %q does not start with the file name", p)
				}
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("Validate rejects what Parse accepted: %v", err)
		}
		if len(cfg.Schedules) == 0 {
			t.Fatal("Parse accepted a config without schedules")
		}
		ps := cfg.Projections()
		if len(ps) != len(cfg.Schedules) {
			t.Fatalf("%d projections for %d schedules", len(ps), len(cfg.Schedules))
		}
		for _, p := range ps {
			if p.FiringsPerMonth <= 0 {
				t.Fatalf("schedule %q projects %v firings; a valid cron fires", p.Schedule, p.FiringsPerMonth)
			}
		}
		if err := config.FormatProjections(io.Discard, ps, cfg.Smartcar.MonthlyQuota); err != nil {
			t.Fatal(err)
		}
		_ = cfg.String()
	})
}
