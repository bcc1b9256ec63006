package main

import (
	"bytes"
	"encoding/json"
	"runtime"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

// small returns options for runs that take a second or two. The scenarios
// start their own embedded NATS server and simulator, so these tests need
// no shared service.
func small(t *testing.T, scenario string, run int) options {
	t.Helper()
	o, err := parseOptions([]string{
		"-polls", "60", "-vehicles", "12", "-users", "3", "-concurrency", "4",
		"-latency", "200ms", "-latency-vehicles", "30", "-latency-users", "4",
		"-latency-concurrency", "10", "-latency-polls", "60",
		"-scale-vehicles", "2000", "-timeout", "2m",
	})
	if err != nil {
		t.Fatal(err)
	}
	o.Child, o.RunIndex = scenario, run
	return o
}

// checkRows fails unless res has want rows of the scenario, each with the
// run index set and a positive figure (a heap delta may be 0 for a tiny
// fleet: other goroutines' garbage is noise at that size).
func checkRows(t *testing.T, res Result, scenario string, run, want int) {
	t.Helper()
	if len(res.Rows) != want {
		t.Fatalf("got %d rows, want %d: %+v", len(res.Rows), want, res.Rows)
	}
	for _, r := range res.Rows {
		if r.Scenario != scenario || r.Run != run || r.Measured < 0 || (r.Measured == 0 && r.Unit != unitMiB) || r.Target == "" {
			t.Errorf("bad row %+v", r)
		}
	}
}

func TestRunScenario_pipeline(t *testing.T) {
	for _, run := range []int{1, 2} { // both orders
		o := small(t, scenarioPipeline, run)
		res, err := runScenario(t.Context(), o)
		if err != nil {
			t.Fatal(err)
		}
		checkRows(t, res, "pipeline ceiling", run, 1)
		if r := res.Rows[0]; r.Baseline <= 0 || r.Met != (r.Ratio() >= 0.8) || r.Target != ">= 0.80x" {
			t.Errorf("row %+v: want a baseline and Met = ratio >= 0.8 (the embedded store's target)", r)
		}
		// 60 polls = 5 ticks of 12 vehicles, each storing 3 events.
		if d := strings.Join(res.Details, "\n"); !strings.Contains(d, "60 polls (12 vehicles") || !strings.Contains(d, "180 events") {
			t.Errorf("details do not describe the run:\n%s", d)
		}
	}
}

func TestRunScenario_pipelineRedis(t *testing.T) {
	testserver.Redis(t) // skips (or fails under REQUIRE_SERVICES=1) without Redis
	o := small(t, scenarioPipeline, 1)
	o.Store, o.RedisURL = "redis", "redis://"+testserver.RedisAddr()+"/0"
	res, err := runScenario(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res, "pipeline ceiling", 1, 1)
	if r := res.Rows[0]; r.Target != ">= 0.70x" || !strings.Contains(r.Figure, "API v3, redis store") {
		t.Errorf("row %+v: want Redis's target 0.7x and the API and store in the figure", r)
	}
}

// TestRunScenario_pipelineV2 runs the daemon on API v2 against the bare
// batch loop.
func TestRunScenario_pipelineV2(t *testing.T) {
	o := small(t, scenarioPipeline, 2)
	o.API = "v2"
	res, err := runScenario(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res, "pipeline ceiling", 2, 1)
	if r := res.Rows[0]; !strings.Contains(r.Figure, "API v2") || r.BaselineLabel != "bare Batch + Publish loop" {
		t.Errorf("row %+v: want the v2 figure and baseline", r)
	}
}

func TestRunScenario_latency(t *testing.T) {
	o := small(t, scenarioLatency, 1)
	res, err := runScenario(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res, "latency-bound", 1, 2)
	rate, rss := res.Rows[0], res.Rows[1]
	// 10 in flight at 200 ms: at most 50 polls/s.
	if rate.Baseline != 50 || rate.Measured > 1.05*rate.Baseline {
		t.Errorf("rate row %+v: want ideal 50 and no more than that achieved", rate)
	}
	if rss.Unit != unitMiB || rss.Measured < 1 {
		t.Errorf("rss row %+v", rss)
	}
}

func TestRunScenario_scale(t *testing.T) {
	o := small(t, scenarioScale, 2)
	res, err := runScenario(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res, "scale", 2, 4)
	for _, r := range res.Rows {
		// 2,000 vehicles' lists and jobs are well under a few MiB.
		if r.Unit == unitMiB && r.Measured > 20 {
			t.Errorf("scheduler state %.1f MiB for 2,000 vehicles: %+v", r.Measured, r)
		}
	}
}

func TestRun_table(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"-isolate=false", "-runs", "1", "-scenarios", "scale", "-scale-vehicles", "500", "-scale-store=false"}
	if err := run(t.Context(), args, &out, &errOut); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errOut.String())
	}
	got := out.String()
	for _, want := range []string{tableHeader, "| scale | 1 | Fire of one tick, 500 vehicles", "| scale | 1 | scheduler heap per tick", "\nscale, run 1:\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestRun_child(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"-child", "scale", "-run-index", "3", "-scale-vehicles", "500", "-scale-store=false"}
	if err := run(t.Context(), args, &out, &errOut); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, errOut.String())
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("child output is not a Result: %v\n%s", err, out.String())
	}
	checkRows(t, res, "scale", 3, 2)
}

func TestSplitHeap(t *testing.T) {
	before := splitHeap()
	keep := make([][]byte, 64)
	for i := range keep {
		keep[i] = make([]byte, 1<<20) // 64 MiB allocated here, by "the pipeline"
	}
	after := splitHeap()
	if grew := int64(after.pipeline) - int64(before.pipeline); grew < 32<<20 {
		t.Errorf("pipeline share grew by %d bytes after allocating 64 MiB", grew)
	}
	runtime.KeepAlive(keep)
}

func TestRunScenario_due(t *testing.T) {
	for _, store := range []string{"kv", "redis"} {
		t.Run(store, func(t *testing.T) {
			if store == "redis" {
				testserver.Redis(t) // skips (or fails under REQUIRE_SERVICES) without the shared Redis
			}
			o := small(t, scenarioDue, 1)
			o.Store, o.RedisURL, o.DueVehicles = store, "redis://"+testserver.RedisAddr()+"/0", 7_200 // 10 due a minute
			res, err := runScenario(t.Context(), o)
			if err != nil {
				t.Fatal(err)
			}
			checkRows(t, res, "due", 1, 2)
		})
	}
}
