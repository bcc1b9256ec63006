package config_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/config"
)

func TestParse_expand(t *testing.T) {
	e := credsEnv("HOME_DIR", "/home/poller", "EMPTY", "", "A", "a", "B", "b")
	tests := []struct {
		name    string
		value   string // YAML value of data_dir
		want    string
		problem string // instead of want
	}{
		{name: "no variables", value: "/srv/data", want: "/srv/data"},
		{name: "variable", value: "${HOME_DIR}/data", want: "/home/poller/data"},
		{name: "quoted", value: `"${HOME_DIR}"`, want: "/home/poller"},
		{name: "single quoted", value: `'${HOME_DIR}'`, want: "/home/poller"},
		{name: "several", value: "${A}-${B}-${A}", want: "a-b-a"},
		{name: "set but empty", value: "x${EMPTY}y", want: "xy"},
		{name: "default when unset", value: "${NOPE:-/tmp/d}", want: "/tmp/d"},
		{name: "default when empty", value: "${EMPTY:-/tmp/d}", want: "/tmp/d"},
		{name: "default unused", value: "${A:-zzz}", want: "a"},
		{name: "default with colon", value: "${NOPE:-a:b}", want: "a:b"},
		{name: "nested default", value: "${NOPE:-${B}/x}", want: "b/x"},
		{name: "deeper default", value: "${N1:-${N2:-${A}}}", want: "a"},
		{name: "unset var in an unused default", value: "${A:-${NOPE}}", want: "a"},
		{name: "escaped dollar", value: "$${HOME_DIR}", want: "${HOME_DIR}"},
		{name: "double escape", value: "$$$$", want: "$$"},
		{name: "escape in default", value: "${NOPE:-$$5}", want: "$5"},
		{name: "lone dollars kept", value: "$HOME_DIR $ a$", want: "$HOME_DIR $ a$"},
		{name: "unset", value: "/srv/${NOPE}",
			problem: "environment variable NOPE is not set (use ${NOPE:-default} for a default)"},
		{name: "unset in a default", value: "${EMPTY:-${NOPE}}",
			problem: "environment variable NOPE is not set (use ${NOPE:-default} for a default)"},
		{name: "empty name", value: "${}", problem: `invalid environment variable name "" in ${}`},
		{name: "bad name", value: "${A-B}", problem: `invalid environment variable name "A-B" in ${A-B}`},
		{name: "unterminated", value: "${A", problem: "unterminated ${ (missing })"},
		{name: "too deep", value: "${N:-${N:-${N:-${N:-${N:-${N:-${N:-${N:-${N:-${N:-x}}}}}}}}}}",
			problem: "${...:-default} nested more than 8 deep"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The value sits on line 3, under other settings.
			file := okSchedules + "log: {level: info}\ndata_dir: " + tc.value + "\n"
			cfg, err := config.Parse("x.yaml", []byte(file), e)
			if tc.problem != "" {
				want := []string{"x.yaml:3: data_dir: " + tc.problem}
				if err == nil {
					t.Fatalf("Parse accepted %q as %q", tc.value, cfg.DataDir)
				}
				if diff := cmp.Diff(want, problems(t, err, "x.yaml")); diff != "" {
					t.Errorf("problems (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if cfg.DataDir != tc.want {
				t.Errorf("data_dir = %q, want %q", cfg.DataDir, tc.want)
			}
		})
	}
}

func TestParse_expandReportsEveryVariable(t *testing.T) {
	file := okSchedules + "data_dir: ${X1}/${X2}\n"
	_, err := config.Parse("x.yaml", []byte(file), credsEnv())
	want := []string{
		"x.yaml:2: data_dir: environment variable X1 is not set (use ${X1:-default} for a default)",
		"x.yaml:2: data_dir: environment variable X2 is not set (use ${X2:-default} for a default)",
	}
	if diff := cmp.Diff(want, problems(t, err, "x.yaml")); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestParse_nilEnv(t *testing.T) {
	file := okSchedules + "smartcar: {client_id: a, client_secret: b}\ndata_dir: ${HOME:-/d}\n"
	cfg, err := config.Parse("x.yaml", []byte(file), nil)
	if err != nil {
		t.Fatalf("Parse with a nil env: %v", err)
	}
	if cfg.DataDir != "/d" {
		t.Errorf("data_dir = %q, want /d (a nil env is empty)", cfg.DataDir)
	}
}
