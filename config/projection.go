package config

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Projection is what one schedule costs each vehicle it selects, over 30 days.
type Projection struct {
	Schedule                   string
	FiringsPerMonth            float64
	RequestsPerVehiclePerMonth float64 // firings × paths: every batch item is billed
	OverQuota                  bool    // above smartcar.monthly_quota (never when the quota is 0)
}

// Projections counts each schedule's cron firings over 30 days (a fixed
// window starting 2025-01-01 UTC) and the Smartcar requests that makes per
// vehicle. A schedule whose cron does not parse (Parse rejects those)
// projects 0.
func (c *Config) Projections() []Projection {
	out := make([]Projection, 0, len(c.Schedules))
	for _, s := range c.Schedules {
		p := Projection{Schedule: s.Name}
		if sched, err := parseCron(s.Cron); err == nil {
			n, _ := firings(sched, projectionStart, projectionWindow)
			p.FiringsPerMonth = float64(n)
			p.RequestsPerVehiclePerMonth = float64(n * len(s.Paths))
		}
		p.OverQuota = overQuota(p.RequestsPerVehiclePerMonth, c.Smartcar.MonthlyQuota)
		out = append(out, p)
	}
	return out
}

func overQuota(requests float64, quota int) bool { return quota > 0 && requests > float64(quota) }

// FormatProjections writes ps as the table `config validate` prints: one row
// per schedule, and with several schedules a total for a vehicle that every
// schedule selects, each against monthlyQuota (0: unknown).
func FormatProjections(w io.Writer, ps []Projection, monthlyQuota int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCHEDULE\tFIRINGS/30D\tREQUESTS/VEHICLE/30D\tQUOTA")
	var firings, requests float64
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Schedule, number(p.FiringsPerMonth),
			number(p.RequestsPerVehiclePerMonth), quotaStatus(p.RequestsPerVehiclePerMonth, monthlyQuota))
		firings += p.FiringsPerMonth
		requests += p.RequestsPerVehiclePerMonth
	}
	if len(ps) > 1 {
		fmt.Fprintf(tw, "all schedules\t%s\t%s\t%s\n", number(firings), number(requests), quotaStatus(requests, monthlyQuota))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write projections: %w", err)
	}
	return nil
}

// QuotaWarnings explains how ps goes over monthlyQuota, one sentence per
// problem: each schedule above the quota on its own, or, when none is but
// their sum is, all of them together (for a vehicle that every schedule
// selects). None when the quota is 0 (unknown). Once a vehicle's quota is
// spent, Smartcar refuses its calls until the next billing period.
func QuotaWarnings(ps []Projection, monthlyQuota int) []string {
	var out []string
	var total float64
	names := make([]string, len(ps))
	for i, p := range ps {
		total += p.RequestsPerVehiclePerMonth
		names[i] = strconv.Quote(p.Schedule)
		if overQuota(p.RequestsPerVehiclePerMonth, monthlyQuota) {
			out = append(out, fmt.Sprintf("schedule %s projects %s requests per vehicle in 30 days, %s of smartcar.monthly_quota %d: poll less often or fewer paths",
				names[i], number(p.RequestsPerVehiclePerMonth), share(p.RequestsPerVehiclePerMonth, monthlyQuota), monthlyQuota))
		}
	}
	if len(out) == 0 && len(ps) > 1 && overQuota(total, monthlyQuota) {
		out = append(out, fmt.Sprintf("schedules %s together project %s requests in 30 days for a vehicle they all select, %s of smartcar.monthly_quota %d: poll less often or fewer paths",
			strings.Join(names, ", "), number(total), share(total, monthlyQuota), monthlyQuota))
	}
	return out
}

// share is requests as a percentage of quota, rounded: "864%".
func share(requests float64, quota int) string {
	return number(math.Round(requests*100/float64(quota))) + "%"
}

// quotaStatus is "-" for an unknown quota, else the share of it, flagged
// when over.
func quotaStatus(requests float64, quota int) string {
	if quota <= 0 {
		return "-"
	}
	s := fmt.Sprintf("%s of %d", share(requests, quota), quota)
	if overQuota(requests, quota) {
		s += "  OVER QUOTA"
	}
	return s
}

// number prints whole numbers without decimals and others with one.
func number(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}
