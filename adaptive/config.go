package adaptive

import (
	"errors"
	"fmt"
	"time"
)

// Config is an adaptive schedule's settings, as the daemon's YAML spells
// them:
//
//	adaptive:
//	  budget: { calls_per_vehicle_per_month: 500, reserve: 10% }
//	  intervals: { driving: 10m, charging: 20m, plugged_in: 1h, parked: 4h, asleep: 12h }
type Config struct {
	Budget    Budget
	Intervals Intervals
}

// Budget is what a vehicle may spend in a billing month (a calendar month
// in UTC, as Smartcar bills).
type Budget struct {
	// CallsPerMonth is the plan's billed calls per vehicle per month.
	CallsPerMonth int
	// Reserve is the share (0 to 1) of CallsPerMonth polls leave for
	// commands and retries.
	Reserve float64
}

// Intervals are floors: the shortest time between two polls of a vehicle
// in each state. The policy polls less often when the budget or the
// likelihood of a change says so; it never polls more often.
type Intervals struct {
	Driving, Charging, PluggedIn, Parked, Asleep time.Duration
}

// DefaultConfig is the example: 500 calls a month with a 10 %
// reserve, floors of 10 minutes driving, 20 charging, an hour plugged in,
// 4 hours parked and 12 asleep.
func DefaultConfig() Config {
	return Config{
		Budget: Budget{CallsPerMonth: 500, Reserve: 0.1},
		Intervals: Intervals{Driving: 10 * time.Minute, Charging: 20 * time.Minute, PluggedIn: time.Hour,
			Parked: 4 * time.Hour, Asleep: 12 * time.Hour},
	}
}

// Validate reports what is wrong with c: a budget without calls, a reserve
// outside 0 to 1 that leaves no poll, a floor under a second.
func (c Config) Validate() error {
	var errs []error
	if c.Budget.CallsPerMonth < 1 {
		errs = append(errs, fmt.Errorf("budget: calls_per_vehicle_per_month must be at least 1, got %d", c.Budget.CallsPerMonth))
	}
	if c.Budget.Reserve < 0 || c.Budget.Reserve >= 1 {
		errs = append(errs, fmt.Errorf("budget: reserve must be from 0%% to below 100%%, got %g%%", c.Budget.Reserve*100))
	} else if c.Budget.CallsPerMonth >= 1 && c.pollBudget() < 1 {
		errs = append(errs, fmt.Errorf("budget: a reserve of %g%% of %d calls leaves no poll", c.Budget.Reserve*100,
			c.Budget.CallsPerMonth))
	}
	for _, st := range states {
		if d := c.Intervals.floor(st); d < time.Second {
			errs = append(errs, fmt.Errorf("intervals: %s must be at least 1s, got %v", st, d))
		}
	}
	return errors.Join(errs...)
}

// pollBudget is the calls a month's polls may make: the budget less the
// reserve.
func (c Config) pollBudget() int {
	return int(float64(c.Budget.CallsPerMonth) * (1 - c.Budget.Reserve))
}

// floor is the floor of state st (Unknown has Parked's).
func (in Intervals) floor(st State) time.Duration {
	switch st {
	case Driving:
		return in.Driving
	case Charging:
		return in.Charging
	case PluggedIn:
		return in.PluggedIn
	case Asleep:
		return in.Asleep
	}
	return in.Parked
}
