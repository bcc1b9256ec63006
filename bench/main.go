// Command bench measures the smartcar-poller pipeline against baselines
// measured in the same run: the pipeline ceiling, the latency-bound
// throughput and memory, and the scale of one schedule tick. See README.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args)
	if err != nil {
		return err
	}
	if o.ServeSim {
		return serveSimulator(o, os.Stdin, stdout)
	}
	if o.Child != "" {
		return runChild(ctx, o, stdout)
	}
	fmt.Fprintf(stderr, "bench: %s, GOMAXPROCS %d, %d run(s) of %v, API %s, token store %s\n",
		runtime.Version(), runtime.GOMAXPROCS(0), o.Runs, o.Scenarios, o.API, o.Store)
	fmt.Fprint(stdout, tableHeader)
	var all []namedResult
	var failed error
	// Interleave the scenarios so that a burst of outside load does not hit
	// every run of one scenario.
	for i := 1; i <= o.Runs; i++ {
		for _, job := range jobs(o) {
			fmt.Fprintf(stderr, "bench: %s, run %d ...\n", job, i)
			t0 := time.Now()
			res, err := runOne(ctx, o, job, i, args, stderr)
			if err != nil {
				fmt.Fprintf(stderr, "bench: %s, run %d: %v\n", job, i, err)
				failed = errors.Join(failed, fmt.Errorf("%s run %d: %w", job, i, err))
				if ctx.Err() != nil {
					return failed
				}
				continue
			}
			fmt.Fprintf(stderr, "bench: %s, run %d done in %.0f s\n", job, i, time.Since(t0).Seconds())
			for _, r := range res.Rows {
				fmt.Fprint(stdout, r.markdown())
			}
			all = append(all, namedResult{scenario: job.String(), run: i, res: res})
		}
	}
	printDetails(stdout, all)
	return failed
}

// job is one scenario run to make.
type job struct {
	scenario string
}

func (j job) String() string { return j.scenario }

// jobs lists the scenario runs of one round.
func jobs(o options) []job {
	var out []job
	for _, sc := range o.Scenarios {
		out = append(out, job{scenario: sc})
	}
	return out
}

// runOne runs one scenario run, in a child process when o.Isolate.
func runOne(ctx context.Context, o options, j job, runIndex int, args []string, stderr io.Writer) (Result, error) {
	if !o.Isolate {
		o.Child, o.RunIndex = j.scenario, runIndex
		return runScenario(ctx, o)
	}
	self, err := os.Executable()
	if err != nil {
		return Result{}, fmt.Errorf("find own executable: %w", err)
	}
	cmd := exec.CommandContext(ctx, self, append(append([]string(nil), args...),
		"-child", j.scenario, "-run-index", strconv.Itoa(runIndex))...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, stderr
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("child: %w", err)
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return Result{}, fmt.Errorf("child output: %w", err)
	}
	return res, nil
}

// runChild runs the scenario o.Child and writes its result as JSON.
func runChild(ctx context.Context, o options, stdout io.Writer) error {
	if o.Child == scenarioLatency {
		// Finer heap profile sampling for the heap split; set before the
		// scenario allocates anything of note.
		runtime.MemProfileRate = 32 << 10
	}
	res, err := runScenario(ctx, o)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}

func runScenario(ctx context.Context, o options) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var res Result
	var err error
	switch o.Child {
	case scenarioPipeline:
		res, err = runPipeline(ctx, o)
	case scenarioLatency:
		res, err = runLatency(ctx, o)
	case scenarioScale:
		res, err = runScale(ctx, o)
	case scenarioDue:
		res, err = runDue(ctx, o)
	default:
		return Result{}, fmt.Errorf("unknown scenario %q", o.Child)
	}
	for i := range res.Rows {
		res.Rows[i].Run = o.RunIndex
	}
	return res, err
}
