package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJobs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"plain", []string{"-scenarios", "pipeline,scale"}, []string{"pipeline", "scale"}},
		{"all", []string{"-scenarios", "scale,pipeline,latency"}, []string{"scale", "pipeline", "latency"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseOptions(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range jobs(o) {
				got = append(got, j.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("jobs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBinary runs the built program the way make bench does: every scenario
// run in a child process, here with the simulator in a process of its own.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program")
	}
	bin := filepath.Join(t.TempDir(), "bench")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(t.Context(), bin, "-runs", "1", "-scenarios", "latency,scale", "-sim-process",
		"-latency", "200ms", "-latency-vehicles", "30", "-latency-users", "4", "-latency-concurrency", "10",
		"-latency-polls", "60", "-scale-vehicles", "1000", "-scale-store=false")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	for _, want := range []string{
		tableHeader,
		"| latency-bound | 1 | polls/s, API v3, latency 200ms, concurrency 10 |",
		"| latency-bound | 1 | peak RSS (VmHWM): pipeline + embedded NATS, simulator in its own process |",
		"| scale | 1 | Fire of one tick, 1,000 vehicles (in-memory list) |",
		"\nlatency, run 1:\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
