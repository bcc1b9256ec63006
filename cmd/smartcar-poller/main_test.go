package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDemo runs the README's first command for a few seconds: embedded NATS,
// embedded token store, the simulator, live events on stdout.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for 6s")
	}
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{"demo", "--duration", "6s", "--every", "1s", "--vehicles", "3", "--data-dir", t.TempDir()}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("demo exit code %d\nstderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "3 simulated vehicles connected") {
		t.Errorf("demo did not connect its vehicles:\n%s", out)
	}
	for _, signal := range []string{"status", "odometer", "location", "lock_status"} {
		if n := strings.Count(out, "  "+signal+" "); n < 3 {
			t.Errorf("demo printed %d %s events, want >= 3\n%s", n, signal, out)
		}
	}
	if strings.Contains(stderr.String(), `"level":"ERROR"`) {
		t.Errorf("demo logged errors:\n%s", stderr.String())
	}
}

func TestRun_Usage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "Usage:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"run"}, 2, "run needs --config FILE"},
		{[]string{"connect", "--config", "x.yaml"}, 1, "x.yaml"},
		{[]string{"vehicles"}, 2, "vehicles needs list or remove"},
		{[]string{"config", "check"}, 2, "config validate [--strict] FILE"},
		{[]string{"demo", "--vehicles", "0"}, 2, "--vehicles must be >= 1"},
		{[]string{"help"}, 0, "Usage:"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.want) {
				t.Errorf("run(%q) = %d, output %q; want %d and %q", tt.args, code, stdout.String()+stderr.String(), tt.code, tt.want)
			}
		})
	}
}
