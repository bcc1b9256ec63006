package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRow_markdown(t *testing.T) {
	tests := []struct {
		name string
		row  Row
		want string
	}{
		{
			name: "rate against a baseline",
			row: Row{Scenario: "pipeline ceiling", Run: 2, Figure: "polls/s", Unit: unitRate,
				Measured: 3512.4, Baseline: 4012, BaselineLabel: "bare loop", Target: ">= 0.70x", Met: true},
			want: "| pipeline ceiling | 2 | polls/s | 3,512 polls/s | 4,012 polls/s (bare loop) | 0.88x | >= 0.70x | yes |\n",
		},
		{
			name: "absolute target",
			row:  Row{Scenario: "latency-bound", Run: 1, Figure: "peak RSS", Unit: unitMiB, Measured: 301.25, Target: "< 256 MiB"},
			want: "| latency-bound | 1 | peak RSS | 301.2 MiB | - | - | < 256 MiB | no |\n",
		},
		{
			name: "seconds",
			row: Row{Scenario: "scale", Run: 1, Figure: "Fire", Unit: unitSeconds, Measured: 1.5, Baseline: 2,
				Target: "< 2 s", Met: true},
			want: "| scale | 1 | Fire | 1.50 s | 2.00 s | 0.75x | < 2 s | yes |\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.row.markdown()); diff != "" {
				t.Errorf("markdown() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGroupThousands(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1,000"}, {123456, "123,456"}, {1234567, "1,234,567"}, {-4500, "-4,500"},
	}
	for _, tt := range tests {
		if got := groupThousands(tt.in); got != tt.want {
			t.Errorf("groupThousands(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseOptions(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		o, err := parseOptions(nil)
		if err != nil {
			t.Fatal(err)
		}
		got := []any{o.Scenarios, o.Runs, o.Polls, o.Concurrency, o.LatencyConcurrency, o.ScaleVehicles, o.ScaleStore, o.Store, o.API}
		want := []any{allScenarios, 2, 20_000, 32, 2_000, 100_000, true, "kv", "v3"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("defaults mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("quick keeps explicit sizes", func(t *testing.T) {
		o, err := parseOptions([]string{"-quick", "-polls", "500", "-scenarios", "scale, pipeline"})
		if err != nil {
			t.Fatal(err)
		}
		got := []any{o.Scenarios, o.Polls, o.Vehicles, o.LatencyPolls, o.ScaleStore, o.ScaleVehicles}
		want := []any{[]string{"scale", "pipeline"}, 500, 1_000, 10_000, false, 100_000}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("quick mismatch (-want +got):\n%s", diff)
		}
	})
	for _, args := range [][]string{
		{"-scenarios", "pipeline,nope"},
		{"-store", "etcd"},
		{"-runs", "0"},
		{"-concurrency", "0"},
		{"extra"},
	} {
		t.Run("rejects "+strings.Join(args, " "), func(t *testing.T) {
			if _, err := parseOptions(args); err == nil {
				t.Errorf("parseOptions(%q) = nil error", args)
			}
		})
	}
}

func TestWindow_rate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	t.Run("steady state between the marks", func(t *testing.T) {
		w := &window{lo: 100, hi: 900, split: -1}
		w.split0 = true // no heap split in a unit test
		for i, done := range []int64{0, 50, 100, 500, 900, 1000} {
			w.observe(t0.Add(time.Duration(i)*time.Second), done)
		}
		// 800 polls between t0+2s (100 done) and t0+4s (900 done).
		got, _ := w.rate(1000, 5*time.Second)
		if got != 400 {
			t.Errorf("rate = %v, want 400", got)
		}
	})
	t.Run("too short: overall rate", func(t *testing.T) {
		w := &window{lo: 100, hi: 50, split0: true}
		w.observe(t0, 200)
		got, how := w.rate(200, 4*time.Second)
		if got != 50 || !strings.Contains(how, "whole run") {
			t.Errorf("rate = %v, %q; want 50 over the whole run", got, how)
		}
	})
}
