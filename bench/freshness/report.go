package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// Table is the report: one row per policy.
func Table(results []*Result) string {
	var b strings.Builder
	b.WriteString("| policy | billed calls/vehicle/month (max) | 430s | median / p90 delay, charge start | charge stop | trip start | trip end |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %s | %d | %d |", r.Policy, r.MaxBilled, r.Quota430)
		for _, k := range Measured {
			fmt.Fprintf(&b, " %s |", cell(r.Delays[k]))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// cell is "median / p90 min", with the share never seen when there is one.
func cell(d *Delays) string {
	s := minutes(d.Quantile(0.5)) + " / " + minutes(d.Quantile(0.9)) + " min"
	if d.Missed > 0 {
		s += fmt.Sprintf(" (%.0f%% unseen)", 100*float64(d.Missed)/float64(d.N()))
	}
	return s
}

func minutes(m float64) string {
	switch {
	case math.IsNaN(m):
		return "-"
	case math.IsInf(m, 1):
		return "never"
	}
	return fmt.Sprintf("%.0f", m)
}

// Details are the figures behind the table.
func Details(results []*Result) string {
	var b strings.Builder
	for _, r := range results {
		fmt.Fprintf(&b, "%s: %.0f billed calls/vehicle on average (%.1f a day), max %d; %d webhook deliveries; run took %s\n",
			r.Policy, r.MeanBilled, r.MeanBilled/float64(r.Days), r.MaxBilled, r.Webhooks, r.Elapsed.Round(100*1e6))
		for _, k := range Measured {
			d := r.Delays[k]
			fmt.Fprintf(&b, "  %-12s %6d changes, mean %s min, p75 %s, p95 %s, %d unseen; %.0f%% within 22.5 min, %.0f%% within 40.5\n",
				k, d.N(), minutes(mean(d.Minutes)), minutes(d.Quantile(0.75)), minutes(d.Quantile(0.95)), d.Missed,
				100*d.Within(22.5), 100*d.Within(40.5))
		}
		personas := slices.Sorted(maps.Keys(r.ByPersona))
		for _, p := range personas {
			fmt.Fprintf(&b, "  %-10s %4d vehicles, %5.1f polls/day:", p, r.Personas[p],
				float64(r.Polls[p])/float64(r.Personas[p])/float64(r.Days))
			for _, k := range Measured {
				d := r.ByPersona[p][k]
				fmt.Fprintf(&b, "  %s %s/%s %.0f%%", k, minutes(d.Quantile(0.5)), minutes(d.Quantile(0.9)), 100*d.Within(40.5))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Check returns how the adaptive rows miss their targets: at most the
// budget for every vehicle, no 430, and median and p90 delays at most half
// of fixed-90m's for every kind of change; with webhooks, fewer billed calls
// and delays no worse than adaptive's without.
func Check(results []*Result, budget int) []string {
	by := map[string]*Result{}
	for _, r := range results {
		by[r.Policy] = r
	}
	var problems []string
	base := by["fixed-90m"]
	for _, name := range []string{"adaptive", "adaptive+webhooks"} {
		r := by[name]
		if r == nil {
			continue
		}
		if r.MaxBilled > budget || r.Quota430 > 0 {
			problems = append(problems, fmt.Sprintf("%s: max %d billed calls (budget %d), %d 430s", name, r.MaxBilled, budget, r.Quota430))
		}
		if base == nil {
			continue
		}
		for _, k := range Measured {
			for _, q := range []float64{0.5, 0.9} {
				got, ref := r.Delays[k].Quantile(q), base.Delays[k].Quantile(q)
				if !(got <= ref/2) {
					problems = append(problems, fmt.Sprintf("%s: %s p%.0f %s min, more than half of fixed-90m's %s", name, k,
						q*100, minutes(got), minutes(ref)))
				}
			}
		}
	}
	if a, h := by["adaptive"], by["adaptive+webhooks"]; a != nil && h != nil { // polls fall, delays do not rise
		if h.MeanBilled >= a.MeanBilled {
			problems = append(problems, fmt.Sprintf("webhooks: %.0f billed calls/vehicle, not fewer than %.0f without", h.MeanBilled, a.MeanBilled))
		}
		for _, k := range Measured {
			for _, q := range []float64{0.5, 0.9} {
				// A minute of slack: the two runs see different samples.
				if got, ref := h.Delays[k].Quantile(q), a.Delays[k].Quantile(q); !(got <= ref+1) {
					problems = append(problems, fmt.Sprintf("webhooks: %s p%.0f %s min, later than %s without", k, q*100,
						minutes(got), minutes(ref)))
				}
			}
		}
	}
	return problems
}
