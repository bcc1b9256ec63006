package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/marks"
	"github.com/smartcar-poller/smartcar-poller/onboard"
)

// validate runs `config validate` with args and returns its exit code,
// stdout, and the WARNING lines of stderr.
func validate(t *testing.T, args ...string) (code int, stdout, stderr string, warnings []string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), append([]string{"config", "validate"}, args...), &out, &errOut)
	for line := range strings.Lines(errOut.String()) {
		if strings.HasPrefix(line, "WARNING:") {
			warnings = append(warnings, strings.TrimSuffix(line, "\n"))
		}
	}
	return code, out.String(), errOut.String(), warnings
}

func writeConfig(t *testing.T, name, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigValidate_quota(t *testing.T) {
	t.Setenv("SMARTCAR_CLIENT_ID", "id")
	t.Setenv("SMARTCAR_CLIENT_SECRET", "secret")
	over := writeConfig(t, "over.yaml", "smartcar: {api: v2}\nschedules:\n"+
		"  - {name: often, cron: '*/30 * * * *', paths: [/odometer, /location, /battery]}\n"+
		"  - {name: daily, cron: '@daily', paths: [/vin]}\n")
	sumOver := writeConfig(t, "sum.yaml", "smartcar: {api: v2, monthly_quota: 100}\nschedules:\n"+
		"  - {name: a, cron: '@daily', paths: [/odometer, /location]}\n"+
		"  - {name: b, cron: '@daily', paths: [/battery, /charge]}\n")
	within := writeConfig(t, "within.yaml", "smartcar: {api: v2}\nschedules:\n"+
		"  - {name: six_hourly, cron: '0 */6 * * *', paths: [/odometer, /location, /battery]}\n")
	unknown := writeConfig(t, "unknown.yaml", "smartcar: {api: v2, monthly_quota: 0}\nschedules:\n"+
		"  - {name: often, cron: '*/30 * * * *', paths: [/odometer]}\n")
	// API v3 (the default) bills one request per job: the v2 file over
	// quota fits every two hours, and every 30 minutes is over still.
	v3Within := writeConfig(t, "v3within.yaml", "schedules:\n"+
		"  - {name: two_hourly, cron: '0 */2 * * *', signals: [odometer, location, battery, charge, lock_status, connectivity]}\n")
	v3Over := writeConfig(t, "v3over.yaml", "schedules:\n"+
		"  - {name: often, cron: '*/30 * * * *', signals: [all]}\n")

	oftenOver := `WARNING: schedule "often" projects 4320 requests per vehicle in 30 days, 864% of smartcar.monthly_quota 500: poll less often or fewer paths`
	tests := []struct {
		name     string
		args     []string
		code     int
		warnings []string
	}{
		{"over quota warns", []string{over}, 0, []string{oftenOver}},
		{"over quota, strict", []string{"--strict", over}, 1, []string{oftenOver}},
		{"over quota, strict after the file", []string{over, "--strict"}, 1, []string{oftenOver}},
		{"only the sum over quota", []string{"--strict", sumOver}, 1, []string{
			`WARNING: schedules "a", "b" together project 120 requests in 30 days for a vehicle they all select, 120% of smartcar.monthly_quota 100: poll less often or fewer paths`,
		}},
		{"within quota, strict", []string{"--strict", within}, 0, nil},
		{"unknown quota, strict", []string{"--strict", unknown}, 0, nil},
		{"v3 within quota, strict", []string{"--strict", v3Within}, 0, nil},
		{"v3 over quota, strict", []string{"--strict", v3Over}, 1, []string{
			`WARNING: schedule "often" projects 1440 requests per vehicle in 30 days, 288% of smartcar.monthly_quota 500: poll less often`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr, warnings := validate(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstderr: %s", code, tc.code, stderr)
			}
			if diff := cmp.Diff(tc.warnings, warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if !strings.Contains(stdout, ": ok\n") || !strings.Contains(stdout, "REQUESTS/VEHICLE/30D") ||
				!strings.Contains(stdout, "(smartcar.api) bills") {
				t.Errorf("stdout lacks the ok line, the projection or the comparison of the APIs:\n%s", stdout)
			}
			if strict := tc.code != 0; strict != strings.Contains(stderr, "over smartcar.monthly_quota (--strict)") {
				t.Errorf("stderr %q: want the --strict error exactly when the exit code is 1", stderr)
			}
		})
	}
}

func TestConfigValidate_usage(t *testing.T) {
	for _, args := range [][]string{nil, {"a.yaml", "b.yaml"}, {"--strict"}, {"--strikt", "a.yaml"}} {
		code, _, stderr, _ := validate(t, args...)
		if code != 2 || !strings.Contains(stderr, "config validate [--strict] FILE") {
			t.Errorf("config validate %q = %d, stderr %q; want 2 and the usage", args, code, stderr)
		}
	}
}

// TestConfigValidate_shippedExamples checks that every configuration the
// repository offers to copy validates and fits the quota it names:
// config/example.yaml, the YAML blocks of README.md and docs/ that have
// schedules, and the deploy/ configurations. (config/testdata holds parser
// fixtures, not examples.)
func TestConfigValidate_shippedExamples(t *testing.T) {
	root := filepath.Join("..", "..")
	t.Setenv("SMARTCAR_CLIENT_ID", "id")
	t.Setenv("SMARTCAR_CLIENT_SECRET", "secret")
	// The examples run on the embedded defaults; the deploy/ files get what
	// they read from the pod's environment in their subtests.
	t.Setenv("NATS_URL", "")
	t.Setenv("REDIS_ADDR", "")

	files := map[string]string{"config/example.yaml": filepath.Join(root, "config", "example.yaml")}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	yamlBlock := regexp.MustCompile("(?s)```ya?ml\n(.*?)```")
	for _, doc := range append(docs, filepath.Join(root, "README.md")) {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range yamlBlock.FindAllSubmatch(data, -1) {
			if bytes.Contains(m[1], []byte("\nschedules:")) {
				name := strings.TrimPrefix(filepath.ToSlash(doc), "../../") + "#" + strconv.Itoa(i+1)
				files[name] = writeConfig(t, "block.yaml", string(m[1]))
			}
		}
	}
	deploys, err := filepath.Glob(filepath.Join(root, "deploy", "*", "*", "poller.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := filepath.Glob(filepath.Join(root, "deploy", "*", "poller.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	secrets := t.TempDir() // the files the Secret would mount
	mounted := map[string]string{"nats.creds": "", "token-key": strings.Repeat("ab", 32)}
	for name, content := range mounted {
		if err := os.WriteFile(filepath.Join(secrets, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range append(base, deploys...) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("/var/run/secrets/smartcar-poller"), []byte(secrets))
		files[strings.TrimPrefix(filepath.ToSlash(path), "../../")] = writeConfig(t, "poller.yaml", string(data))
	}
	for _, want := range []string{"README.md#1", "deploy/base/poller.yaml", "deploy/overlays/cluster/poller.yaml"} {
		if files[want] == "" {
			t.Errorf("no %s among the examples: %v", want, files)
		}
	}

	for name, path := range files {
		t.Run(name, func(t *testing.T) {
			if strings.HasPrefix(name, "deploy/") {
				t.Setenv("NATS_URL", "nats://nats:4222")
				t.Setenv("REDIS_ADDR", "redis:6379")
			}
			code, stdout, stderr, warnings := validate(t, "--strict", path)
			if code != 0 || len(warnings) > 0 {
				t.Errorf("config validate --strict = %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
		})
	}
}

// TestDedupTTL_defaultsAgree checks that the configuration's webhook dedup
// limits match what onboard defaults to and what the token stores keep.
func TestDedupTTL_defaultsAgree(t *testing.T) {
	if got, want := config.Default().Webhooks.DedupTTL, onboard.DefaultDedupTTL; got != want {
		t.Errorf("webhooks.dedup_ttl defaults to %s, onboard to %s", got, want)
	}
	if config.MaxDedupTTL > marks.MaxTTL {
		t.Errorf("webhooks.dedup_ttl may be %s, but the stores keep a mark at most %s", config.MaxDedupTTL, marks.MaxTTL)
	}
}
