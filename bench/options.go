package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/smartcar-poller/smartcar-poller/config"
)

// Scenario names, as given to -scenarios.
const (
	scenarioPipeline = "pipeline"
	scenarioLatency  = "latency"
	scenarioScale    = "scale"
	scenarioDue      = "due"
)

// allScenarios run by default; knownScenarios adds those run on request
// (due: a million-vehicle load, minutes).
var (
	allScenarios   = []string{scenarioPipeline, scenarioLatency, scenarioScale}
	knownScenarios = append(slices.Clone(allScenarios), scenarioDue)
)

// options are the command line: which scenarios, their sizes and how to run them.
type options struct {
	Scenarios []string
	Runs      int
	Quick     bool
	Isolate   bool
	Timeout   time.Duration
	Verbose   bool

	// Store is the token store backend: "kv" (JetStream KV on the embedded
	// server, the daemon's embedded default) or "redis".
	Store    string
	RedisURL string
	// API is the Smartcar API the daemon polls on: "v3" (the default) or "v2".
	API string
	// HTTP2 calls the simulator over cleartext HTTP/2 (see newAPIClient).
	HTTP2 bool

	// Pipeline ceiling.
	Polls       int
	Vehicles    int
	Users       int
	Concurrency int

	// Latency-bound.
	Latency            time.Duration
	LatencyVehicles    int
	LatencyUsers       int
	LatencyConcurrency int
	LatencyPolls       int

	// Scale.
	ScaleVehicles int
	ScaleStore    bool

	// Due index (adaptive schedules).
	DueVehicles     int
	DueSettle       time.Duration
	DueRestartAfter time.Duration

	CPUProfile string
	MemProfile string
	// SimProcess runs the simulator in a child process.
	SimProcess bool

	// -serve-sim mode (a simulator process for -sim-process).
	ServeSim    bool
	SimVehicles int
	SimUsers    int
	SimLatency  time.Duration

	// Set by the parent for a child process.
	Child    string
	RunIndex int
}

// parseOptions parses args; -quick lowers every size it does not find set
// explicitly.
func parseOptions(args []string) (options, error) {
	var o options
	var scenarios string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run: pipeline, latency, scale; due on request")
	fs.IntVar(&o.Runs, "runs", 2, "runs of each scenario")
	fs.BoolVar(&o.Quick, "quick", false, "smaller sizes: the whole run fits in about a minute")
	fs.BoolVar(&o.Isolate, "isolate", true, "run every scenario run in a fresh child process (clean RSS, heap and server)")
	fs.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "give up on one scenario run after this long")
	fs.BoolVar(&o.Verbose, "v", false, "log the pipeline's components to stderr (info level)")
	fs.StringVar(&o.Store, "store", "kv", "token store: kv (JetStream KV, the embedded default) or redis")
	fs.StringVar(&o.API, "api", config.APIV3, "pipeline and latency: the Smartcar API the daemon polls on: v3 or v2 (the baseline loop makes the same calls)")
	fs.BoolVar(&o.HTTP2, "http2", true, "call the simulator over cleartext HTTP/2, as the daemon calls Smartcar over HTTP/2 (TLS); false: HTTP/1.1, one connection per call in flight")
	fs.StringVar(&o.RedisURL, "redis-url", "redis://127.0.0.1:6379/0", "Redis for -store redis (keys under a unique prefix, deleted after)")

	fs.IntVar(&o.Polls, "polls", 20_000, "pipeline: polls per measured run (rounded up to whole ticks)")
	fs.IntVar(&o.Vehicles, "vehicles", 2_000, "pipeline: registered vehicles (one schedule over all)")
	fs.IntVar(&o.Users, "users", 20, "pipeline: users (grants) the vehicles are spread over")
	fs.IntVar(&o.Concurrency, "concurrency", 32, "pipeline: worker concurrency, and goroutines of the baseline loop")

	fs.DurationVar(&o.Latency, "latency", 2*time.Second, "latency: simulator response latency")
	fs.IntVar(&o.LatencyVehicles, "latency-vehicles", 5_000, "latency: registered vehicles")
	fs.IntVar(&o.LatencyUsers, "latency-users", 50, "latency: users (grants)")
	fs.IntVar(&o.LatencyConcurrency, "latency-concurrency", 2_000, "latency: worker concurrency")
	fs.IntVar(&o.LatencyPolls, "latency-polls", 20_000, "latency: polls per run (rounded up to whole ticks)")

	fs.IntVar(&o.ScaleVehicles, "scale-vehicles", 100_000, "scale: registered vehicles on the schedule")
	fs.BoolVar(&o.ScaleStore, "scale-store", true, "scale: also register the vehicles in the token store and fire from it, as the daemon does")

	fs.IntVar(&o.DueVehicles, "due-vehicles", 1_000_000, "due: registered vehicles on one adaptive schedule, due evenly over 12 h")
	fs.DurationVar(&o.DueRestartAfter, "due-restart-after", 0, "due, kv: wait this long after the bulk load before restarting the server (nats-server re-reads on start every message of a stream's duplicate window, 2 min for KV buckets)")
	fs.DurationVar(&o.DueSettle, "due-settle", 0, "due: after the ticks, idle this long and report the RSS again (nats-server drops a file block's subject state after 2 min without access)")

	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write CPU profiles of each measured phase to FILE-<scenario>-<phase>-run<N>.pprof")
	fs.StringVar(&o.MemProfile, "memprofile", "", "due: write the heap profile after loading (where the RSS row is read) to FILE-due-run<N>.pprof")

	fs.BoolVar(&o.SimProcess, "sim-process", false, "run the simulator in its own process, so the measured process holds only the pipeline and the embedded NATS server, as the daemon")
	fs.BoolVar(&o.ServeSim, "serve-sim", false, "internal: serve a simulator until stdin closes")
	fs.IntVar(&o.SimVehicles, "sim-vehicles", 3, "internal: -serve-sim electric vehicles")
	fs.IntVar(&o.SimUsers, "sim-users", 1, "internal: -serve-sim users")
	fs.DurationVar(&o.SimLatency, "sim-latency", 0, "internal: -serve-sim latency")
	fs.StringVar(&o.Child, "child", "", "internal: run one scenario and print its result as JSON")
	fs.IntVar(&o.RunIndex, "run-index", 1, "internal: which run a child is")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.Quick {
		quick := map[string]func(){
			"polls":         func() { o.Polls = 6_000 },
			"vehicles":      func() { o.Vehicles = 1_000 },
			"users":         func() { o.Users = 10 },
			"latency-polls": func() { o.LatencyPolls = 10_000 },
			"scale-store":   func() { o.ScaleStore = false },
			"due-vehicles":  func() { o.DueVehicles = 100_000 },
		}
		for name, lower := range quick {
			if !set[name] {
				lower()
			}
		}
	}
	for _, s := range strings.Split(scenarios, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !validScenario(s) {
			return o, fmt.Errorf("unknown scenario %q (want %s)", s, strings.Join(knownScenarios, ", "))
		}
		o.Scenarios = append(o.Scenarios, s)
	}
	if o.Child != "" && !validScenario(o.Child) {
		return o, fmt.Errorf("unknown scenario %q", o.Child)
	}
	return o, o.validate()
}

func validScenario(s string) bool { return slices.Contains(knownScenarios, s) }

func (o options) validate() error {
	switch {
	case o.Runs < 1:
		return fmt.Errorf("-runs %d: want at least 1", o.Runs)
	case o.Store != "kv" && o.Store != "redis":
		return fmt.Errorf("-store %q: want kv or redis", o.Store)
	case o.Polls < 1 || o.Vehicles < 1 || o.Users < 1 || o.Concurrency < 1:
		return fmt.Errorf("pipeline sizes must be positive")
	case o.Latency <= 0 || o.LatencyVehicles < 1 || o.LatencyUsers < 1 || o.LatencyConcurrency < 1 || o.LatencyPolls < 1:
		return fmt.Errorf("latency sizes must be positive")
	case o.ScaleVehicles < 1:
		return fmt.Errorf("-scale-vehicles must be positive")
	case o.API != config.APIV3 && o.API != config.APIV2:
		return fmt.Errorf("-api %q: want v3 or v2", o.API)
	case o.DueVehicles < 1:
		return fmt.Errorf("-due-vehicles must be positive")
	case o.Timeout <= 0:
		return fmt.Errorf("-timeout must be positive")
	}
	return nil
}

func protoName(http2 bool) string {
	if http2 {
		return "cleartext HTTP/2"
	}
	return "HTTP/1.1"
}
