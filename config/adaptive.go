package config

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

// Adaptive is the schedule kind that polls each vehicle when package
// adaptive's policy says it is due, instead of at cron firings:
//
//	adaptive:
//	  budget: { calls_per_vehicle_per_month: 500, reserve: 10% }
//	  intervals: { driving: 10m, charging: 20m, plugged_in: 1h, parked: 4h, asleep: 12h }
//
// Keys left out take the values above (package adaptive's DefaultConfig).
// It needs API v3. cmd maps it to adaptive.Config.
type Adaptive struct {
	Budget    AdaptiveBudget    `yaml:"budget"`
	Intervals AdaptiveIntervals `yaml:"intervals"`
}

// AdaptiveBudget is what a vehicle may spend in a billing month (the UTC
// calendar month): every schedule's billed calls count against it.
type AdaptiveBudget struct {
	CallsPerVehiclePerMonth int `yaml:"calls_per_vehicle_per_month"`
	// Reserve is the share of the budget polls leave for commands and
	// retries; in YAML a percentage ("10%").
	Reserve Percent `yaml:"reserve"`
}

// AdaptiveIntervals are floors: the shortest time between two polls of a
// vehicle in each state (at least 1s).
type AdaptiveIntervals struct {
	Driving   time.Duration `yaml:"driving"`
	Charging  time.Duration `yaml:"charging"`
	PluggedIn time.Duration `yaml:"plugged_in"`
	Parked    time.Duration `yaml:"parked"`
	Asleep    time.Duration `yaml:"asleep"`
}

func (a *Adaptive) setDefaults() {
	*a = Adaptive{
		Budget: AdaptiveBudget{CallsPerVehiclePerMonth: 500, Reserve: 0.1},
		Intervals: AdaptiveIntervals{Driving: 10 * time.Minute, Charging: 20 * time.Minute, PluggedIn: time.Hour,
			Parked: 4 * time.Hour, Asleep: 12 * time.Hour},
	}
}

// PollBudget is the calls a month's polls may make at most: the budget
// less the reserve.
func (a Adaptive) PollBudget() int {
	return int(float64(a.Budget.CallsPerVehiclePerMonth) * (1 - float64(a.Budget.Reserve)))
}

// Percent is a share from 0 to 1, written in YAML as a percentage: "10%".
type Percent float64

// String writes p as a percentage: "10%".
func (p Percent) String() string {
	return strconv.FormatFloat(float64(p)*100, 'f', -1, 64) + "%"
}

// MarshalYAML writes p as a percentage.
func (p Percent) MarshalYAML() (any, error) { return p.String(), nil }

func (p *Percent) decodeNode(d *decoder, n ast.Node, path string) {
	s, ok := d.scalar(n, path, "a percentage")
	if !ok {
		return
	}
	num, isPercent := strings.CutSuffix(strings.TrimSpace(s), "%")
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if !isPercent || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		d.fail(n, path, "want a percentage such as 10%%, got %q", truncate(s, 40))
		return
	}
	*p = Percent(f / 100)
}
