package main

import (
	"bytes"
	"strings"
	"testing"
)

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
		{[]string{"config", "check"}, 2, "config validate FILE"},
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
