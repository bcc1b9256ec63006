// Command freshness measures how fresh polling policies keep a fleet for a
// monthly budget of billed calls: fixed schedules and the adaptive policy,
// each against its own copy of the same simulated month (the simulator's
// behaviour model, seeded), on a virtual clock, through the real Go v3
// client served in-process. For every true state change (a charge that
// starts or stops, a trip that starts or ends) it measures the delay until
// a poll (or a webhook) showed it, and prints one table.
//
//	go run ./bench/freshness                       # 1,000 vehicles, 30 days
//	go run ./bench/freshness -vehicles 200 -days 14
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
)

func main() {
	fs := flag.NewFlagSet("freshness", flag.ExitOnError)
	vehicles := fs.Int("vehicles", 1000, "simulated vehicles (BEV, ICE, PHEV mix)")
	days := fs.Int("days", 30, "simulated days from -start")
	seed := fs.Int64("seed", 1, "the simulator's seed")
	start := fs.String("start", "2026-06-01T00:00:00Z", "simulated start (a month's first day keeps the run in one billing month)")
	parallel := fs.Int("parallel", runtime.GOMAXPROCS(0), "policies run at once")
	only := fs.String("policies", "", "comma-separated policy names to run (default: all)")
	budget := fs.Int("budget", Budget, "billed calls per vehicle per month: the simulator's quota and the adaptive rows' budget")
	reserve := fs.Float64("reserve", Reserve, "the adaptive rows' reserve, a share of -budget")
	check := fs.Bool("check", false, "exit 1 unless adaptive meets its targets")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	_ = fs.Parse(os.Args[1:])
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "freshness:", err)
			os.Exit(2)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "freshness:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	t0, err := time.Parse(time.RFC3339, *start)
	if err != nil {
		fmt.Fprintln(os.Stderr, "freshness: -start:", err)
		os.Exit(2)
	}
	// The runs allocate a lot and live briefly: collect less often.
	debug.SetGCPercent(800)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *budget <= 0 || *reserve < 0 || *reserve >= 1 {
		fmt.Fprintln(os.Stderr, "freshness: -budget must be positive and -reserve in [0, 1)")
		os.Exit(2)
	}
	cfg := DefaultRunConfig(*vehicles, *days, *seed, t0)
	cfg.Quota = *budget
	var pols []Policy
	for _, p := range Policies(*budget, *reserve) {
		if *only == "" || strings.Contains(","+*only+",", ","+p.Name+",") {
			pols = append(pols, p)
		}
	}
	began := time.Now()
	results, err := RunAll(ctx, cfg, pols, *parallel)
	if err != nil {
		fmt.Fprintln(os.Stderr, "freshness:", err)
		os.Exit(1)
	}
	fmt.Printf("%d vehicles, %d simulated days from %s, seed %d, quota %d billed calls/vehicle/month; %s on %d CPUs\n\n",
		*vehicles, *days, t0.Format("2006-01-02"), *seed, cfg.Quota, time.Since(began).Round(time.Second), runtime.NumCPU())
	fmt.Print(Table(results))
	fmt.Println()
	fmt.Print(Details(results))
	if *check {
		if problems := Check(results, cfg.Quota); len(problems) > 0 {
			fmt.Println("\nTARGETS NOT MET:\n  " + strings.Join(problems, "\n  "))
			os.Exit(1)
		}
		fmt.Println("\nTargets met.")
	}
}

// Budget is the plan the adaptive row runs on by default, Reserve the share
// of it kept for commands and retries, and WebhookBudget what the webhook
// row spends of Budget.
const (
	Budget        = 500
	Reserve       = 0.1
	WebhookBudget = 475
)

// DefaultRunConfig is a month of vehicles at the budget's quota.
func DefaultRunConfig(vehicles, days int, seed int64, start time.Time) RunConfig {
	return RunConfig{Vehicles: vehicles, Seed: seed, Start: start, Days: days, Quota: Budget,
		HookEvery: 5 * time.Minute}
}

// AdaptiveConfig is the adaptive schedule the bench runs: calls a month
// with a reserve, and floors that let it follow a drive or a charge
// closely.
func AdaptiveConfig(calls int, reserve float64) adaptive.Config {
	return adaptive.Config{
		Budget: adaptive.Budget{CallsPerMonth: calls, Reserve: reserve},
		Intervals: adaptive.Intervals{Driving: 10 * time.Minute, Charging: 10 * time.Minute,
			PluggedIn: 10 * time.Minute, Parked: 10 * time.Minute, Asleep: 10 * time.Minute},
	}
}

// chargeSignals are what the webhook rows subscribe to: the charge signals.
var chargeSignals = []string{"charge-ischarging", "charge-ischargingcableconnected", "charge-detailedchargingstatus",
	"tractionbattery-stateofcharge", "charge-chargerate", "charge-timetocomplete"}

// Policies are the rows of the table, the adaptive ones at budget calls a
// month with reserve (the webhook row spends WebhookBudget/Budget of it).
func Policies(budget int, reserve float64) []Policy {
	return []Policy{
		Fixed("fixed-30m", 30*time.Minute),
		Fixed("fixed-90m", 90*time.Minute),
		Adaptive("adaptive", AdaptiveConfig(budget, reserve), nil),
		// Charge webhooks leave the polls to trips: 5% fewer calls follow
		// trips as closely, and charges within minutes.
		Adaptive("adaptive+webhooks", AdaptiveConfig(budget*WebhookBudget/Budget, reserve), chargeSignals),
	}
}

// RunAll runs pols, parallel at a time, and returns their results in order.
func RunAll(ctx context.Context, cfg RunConfig, pols []Policy, parallel int) ([]*Result, error) {
	results := make([]*Result, len(pols))
	errs := make([]error, len(pols))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, p := range pols {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = Run(ctx, cfg, p)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pols[i].Name, err)
		}
	}
	return results, nil
}
