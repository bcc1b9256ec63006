package daemon

import (
	"fmt"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/onboard"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// AdaptivePolicies returns the policy of each adaptive schedule of cfg, by
// name (none: nil).
func AdaptivePolicies(cfg *config.Config) (map[string]*adaptive.Policy, error) {
	var out map[string]*adaptive.Policy
	for _, s := range cfg.Schedules {
		if s.Adaptive == nil {
			continue
		}
		p, err := adaptive.New(policyConfig(s.Adaptive))
		if err != nil {
			return nil, fmt.Errorf("schedule %s: %w", s.Name, err)
		}
		if out == nil {
			out = map[string]*adaptive.Policy{}
		}
		out[s.Name] = p
	}
	return out, nil
}

// policyConfig maps an adaptive schedule's settings to the policy's.
func policyConfig(a *config.Adaptive) adaptive.Config {
	return adaptive.Config{
		Budget: adaptive.Budget{CallsPerMonth: a.Budget.CallsPerVehiclePerMonth, Reserve: float64(a.Budget.Reserve)},
		Intervals: adaptive.Intervals{Driving: a.Intervals.Driving, Charging: a.Intervals.Charging,
			PluggedIn: a.Intervals.PluggedIn, Parked: a.Intervals.Parked, Asleep: a.Intervals.Asleep},
	}
}

// AdaptiveSchedules are cfg's adaptive schedules as webhooks and
// `vehicles list` meet them.
func AdaptiveSchedules(cfg *config.Config) ([]worker.AdaptiveSchedule, error) {
	pols, err := AdaptivePolicies(cfg)
	if err != nil {
		return nil, err
	}
	var out []worker.AdaptiveSchedule
	for _, s := range cfg.Schedules {
		if s.Adaptive == nil {
			continue
		}
		sel := scheduler.Selector{All: s.Vehicles.All, IDs: s.Vehicles.IDs, Tags: s.Vehicles.Tags}
		out = append(out, worker.AdaptiveSchedule{Name: s.Name, Policy: pols[s.Name], Selects: func(v registry.Vehicle) bool {
			return sel.Match(scheduler.Vehicle{ID: v.ID, Tags: v.Tags})
		}})
	}
	return out, nil
}

// webhookStates is what VEHICLE_STATE webhooks feed: the plans of the
// adaptive schedules (nil without any, or for a process that does not
// poll).
func (a *Daemon) webhookStates() (onboard.StateObserver, error) {
	ss, err := AdaptiveSchedules(a.cfg)
	if err != nil || len(ss) == 0 {
		return nil, err
	}
	return worker.WebhookPlanner{Plans: a.reg, Schedules: ss}, nil
}
