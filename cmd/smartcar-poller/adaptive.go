package main

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// vehicleBudget is what vehicle v may be billed in a month: the smallest
// budget of the adaptive schedules that select it, else
// smartcar.monthly_quota (0: unknown).
func vehicleBudget(cfg *config.Config, ss []worker.AdaptiveSchedule, v registry.Vehicle) int {
	budget := 0
	for _, s := range ss {
		if !s.Selects(v) {
			continue
		}
		if b := s.Policy.Config().Budget.CallsPerMonth; budget == 0 || b < budget {
			budget = b
		}
	}
	if budget == 0 {
		return cfg.Smartcar.MonthlyQuota
	}
	return budget
}

// nextPoll is the earliest due time of v under the adaptive schedules that
// select it (zero: none known yet).
func nextPoll(ctx context.Context, plans interface {
	GetPlan(ctx context.Context, schedule, vehicleID string) (registry.Plan, error)
}, ss []worker.AdaptiveSchedule, v registry.Vehicle) (time.Time, error) {
	var next time.Time
	for _, s := range ss {
		if !s.Selects(v) {
			continue
		}
		p, err := plans.GetPlan(ctx, s.Name, v.ID)
		if errors.Is(err, registry.ErrNotFound) {
			continue
		}
		if err != nil {
			return time.Time{}, err
		}
		if next.IsZero() || p.Due.Before(next) {
			next = p.Due
		}
	}
	return next, nil
}

// fleetBudget is the budget per vehicle the burn rate is measured
// against: smartcar.monthly_quota, else the largest adaptive budget (0:
// unknown).
func fleetBudget(cfg *config.Config) int {
	if cfg.Smartcar.MonthlyQuota > 0 {
		return cfg.Smartcar.MonthlyQuota
	}
	b := 0
	for _, s := range cfg.Schedules {
		if s.Adaptive != nil {
			b = max(b, s.Adaptive.Budget.CallsPerVehiclePerMonth)
		}
	}
	return b
}

// burn tracks the billed calls of this billing month of the vehicles this
// replica polled (each vehicle's month total, from the registry, so calls
// of other replicas and schedules are in it), for the budget burn rate.
type burn struct {
	mu    sync.Mutex
	month string
	used  map[string]int // vehicle -> billed calls this month
}

func (b *burn) observe(vehicleID string, at time.Time, total int) {
	m := registry.BillingMonth(at)
	b.mu.Lock()
	defer b.mu.Unlock()
	if m != b.month {
		if m < b.month {
			return // a late report of last month
		}
		b.month, b.used = m, map[string]int{}
	}
	b.used[vehicleID] = max(b.used[vehicleID], total)
}

// rate is the calls used this month over the budget pro rata of the month
// elapsed at now (1: on course to spend the budget exactly by the month's
// end), for the vehicles tracked; 0 when none is or the budget is unknown.
func (b *burn) rate(now time.Time, budget int) float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if budget <= 0 || len(b.used) == 0 || registry.BillingMonth(now) != b.month {
		return 0
	}
	used := 0
	for _, n := range b.used {
		used += n
	}
	u := now.UTC()
	start := time.Date(u.Year(), u.Month(), 1, 0, 0, 0, 0, time.UTC)
	share := float64(u.Sub(start)) / float64(start.AddDate(0, 1, 0).Sub(start))
	return float64(used) / (float64(len(b.used)*budget) * max(share, 1e-6))
}
