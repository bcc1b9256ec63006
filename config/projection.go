package config

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Projection is what one schedule costs each vehicle it selects, over 30 days.
type Projection struct {
	Schedule        string
	FiringsPerMonth float64
	// API is the API the requests are counted for (smartcar.api).
	API string
	// RequestsPerVehiclePerMonth is what Smartcar bills on API: on v3 one
	// request per job (one GET /signals, one page), on v2 one per path of
	// the job's batch.
	RequestsPerVehiclePerMonth float64
	OverQuota                  bool // above smartcar.monthly_quota (never when the quota is 0)
	// Budget is an adaptive schedule's calls_per_vehicle_per_month (0 for
	// cron): its FiringsPerMonth and RequestsPerVehiclePerMonth are the
	// most its polls may spend, the budget less the reserve.
	Budget int
	// Other is what the other API would bill for the same schedule.
	Other Alternative
}

// Alternative is a schedule's cost on the API not in use.
type Alternative struct {
	API                        string
	RequestsPerVehiclePerMonth float64
	// Lacks says why that API cannot poll the schedule ("connectivity has
	// no API v2 path"); "" when it can.
	Lacks string
}

// Projections counts each schedule's cron firings over 30 days (a fixed
// window starting 2025-01-01 UTC) and the Smartcar requests that makes per
// vehicle on the API in use and on the other one. A schedule whose cron
// does not parse (Parse rejects those) projects 0.
func (c *Config) Projections() []Projection {
	api := cmp.Or(c.Smartcar.API, APIV3)
	other := APIV2
	if api == APIV2 {
		other = APIV3
	}
	out := make([]Projection, 0, len(c.Schedules))
	for _, s := range c.Schedules {
		p := Projection{Schedule: s.Name, API: api, Other: Alternative{API: other, Lacks: s.lacks(other)}}
		if s.Adaptive != nil {
			p.Budget = s.Adaptive.Budget.CallsPerVehiclePerMonth
			p.FiringsPerMonth = float64(s.Adaptive.PollBudget())
			p.RequestsPerVehiclePerMonth = p.FiringsPerMonth // one call a poll on v3
			if other == APIV2 {
				p.Other.Lacks = "adaptive schedules need API v3"
			} else {
				p.RequestsPerVehiclePerMonth, p.Other.RequestsPerVehiclePerMonth = 0, p.FiringsPerMonth
				p.Other.Lacks = ""
			}
		} else if sched, err := parseCron(s.Cron); err == nil {
			n, _ := firings(sched, projectionStart, projectionWindow)
			p.FiringsPerMonth = float64(n)
			p.RequestsPerVehiclePerMonth = s.billed(api, n)
			p.Other.RequestsPerVehiclePerMonth = s.billed(other, n)
		}
		p.OverQuota = overQuota(p.RequestsPerVehiclePerMonth, c.Smartcar.MonthlyQuota)
		out = append(out, p)
	}
	return out
}

// billed is what n jobs of s cost on api: one request each on v3, one per
// path on v2.
func (s Schedule) billed(api string, n int) float64 {
	if api == APIV2 {
		return float64(n * len(s.V2Paths()))
	}
	return float64(n)
}

func overQuota(requests float64, quota int) bool { return quota > 0 && requests > float64(quota) }

// FormatProjections writes ps as the table `config validate` prints: one row
// per schedule, and with several schedules a total for a vehicle that every
// schedule selects, each against monthlyQuota (0: unknown), the requests the
// other API would bill beside them, and then which API is cheaper
// (WireComparison).
func FormatProjections(w io.Writer, ps []Projection, monthlyQuota int) error {
	if len(ps) == 0 {
		return nil
	}
	api, other := ps[0].API, ps[0].Other.API
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SCHEDULE\tFIRINGS/30D\tREQUESTS/VEHICLE/30D (API %s)\tQUOTA\tON API %s\n", api, other)
	var firings, requests, otherRequests float64
	lacks := ""
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Schedule, p.upTo(p.FiringsPerMonth),
			p.upTo(p.RequestsPerVehiclePerMonth), quotaStatus(p.RequestsPerVehiclePerMonth, monthlyQuota), p.Other.cost())
		firings += p.FiringsPerMonth
		requests += p.RequestsPerVehiclePerMonth
		otherRequests += p.Other.RequestsPerVehiclePerMonth
		lacks = cmp.Or(lacks, p.Other.Lacks)
	}
	if len(ps) > 1 {
		total := Alternative{RequestsPerVehiclePerMonth: otherRequests, Lacks: lacks}
		fmt.Fprintf(tw, "all schedules\t%s\t%s\t%s\t%s\n", number(firings), number(requests), quotaStatus(requests, monthlyQuota), total.cost())
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write projections: %w", err)
	}
	if _, err := fmt.Fprintf(w, "\n%s\n", WireComparison(ps)); err != nil {
		return fmt.Errorf("write projections: %w", err)
	}
	return nil
}

// upTo is f, as "up to f (adaptive)" for an adaptive schedule, whose
// figures are ceilings.
func (p Projection) upTo(f float64) string {
	if p.Budget == 0 {
		return number(f)
	}
	return "up to " + number(f) + " (adaptive)"
}

// cost is the ON API column: the requests, or "-" when that API lacks a
// signal.
func (a Alternative) cost() string {
	if a.Lacks != "" {
		return "-"
	}
	return number(a.RequestsPerVehiclePerMonth)
}

// WireComparison says, for a vehicle that every schedule of ps selects,
// which API bills fewer requests in 30 days: the one in use or the other
// (or that the other cannot poll these schedules, and why).
func WireComparison(ps []Projection) string {
	if len(ps) == 0 {
		return ""
	}
	api, other := ps[0].API, ps[0].Other.API
	var used, alt float64
	lacks := ""
	for _, p := range ps {
		used += p.RequestsPerVehiclePerMonth
		alt += p.Other.RequestsPerVehiclePerMonth
		lacks = cmp.Or(lacks, p.Other.Lacks)
	}
	if lacks != "" {
		return fmt.Sprintf("API %s (smartcar.api) bills %s requests per vehicle in 30 days for these schedules; API %s cannot poll them: %s.",
			api, number(used), other, lacks)
	}
	verdict := fmt.Sprintf("API %s is cheaper", api)
	switch {
	case alt < used:
		verdict = fmt.Sprintf("API %s would be cheaper (smartcar.api: %s)", other, other)
	case alt == used:
		verdict = "both cost the same"
	}
	return fmt.Sprintf("API %s (smartcar.api) bills %s requests per vehicle in 30 days for these schedules, API %s would bill %s: %s.",
		api, number(used), other, number(alt), verdict)
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
			out = append(out, fmt.Sprintf("schedule %s projects %s requests per vehicle in 30 days, %s of smartcar.monthly_quota %d: %s",
				names[i], number(p.RequestsPerVehiclePerMonth), share(p.RequestsPerVehiclePerMonth, monthlyQuota), monthlyQuota, advice(p.API)))
		}
	}
	if len(out) == 0 && len(ps) > 1 && overQuota(total, monthlyQuota) {
		out = append(out, fmt.Sprintf("schedules %s together project %s requests in 30 days for a vehicle they all select, %s of smartcar.monthly_quota %d: %s",
			strings.Join(names, ", "), number(total), share(total, monthlyQuota), monthlyQuota, advice(ps[0].API)))
	}
	return append(out, budgetWarnings(ps)...)
}

// budgetWarnings says when the cron schedules of ps, for a vehicle they all
// select, already spend what an adaptive schedule's polls may: a vehicle in
// both draws on one budget, so the adaptive schedule would never poll it.
func budgetWarnings(ps []Projection) []string {
	var cron float64
	var names []string
	for _, p := range ps {
		if p.Budget == 0 {
			cron += p.RequestsPerVehiclePerMonth
			names = append(names, strconv.Quote(p.Schedule))
		}
	}
	var out []string
	for _, p := range ps {
		if p.Budget == 0 || len(names) == 0 || cron < p.FiringsPerMonth {
			continue
		}
		out = append(out, fmt.Sprintf("cron schedules %s project %s requests per vehicle in 30 days, at least adaptive schedule %q's %s polls "+
			"(budget %d less its reserve): they draw on the same budget, so a vehicle in both would get no adaptive polls",
			strings.Join(names, ", "), number(cron), p.Schedule, number(p.FiringsPerMonth), p.Budget))
	}
	return out
}

// advice is how to bill less on api: on v2 every path counts, on v3 only
// the number of jobs.
func advice(api string) string {
	if api == APIV2 {
		return "poll less often or fewer paths"
	}
	return "poll less often"
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
