package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Units of a row's figures; they choose how a figure is printed.
const (
	unitRate    = "polls/s"
	unitSeconds = "s"
	unitMiB     = "MiB"
)

// Row is one line of the results table: a measured figure against a
// baseline measured in the same run (or an ideal), and the target.
type Row struct {
	Scenario string `json:"scenario"`
	Run      int    `json:"run"`
	Figure   string `json:"figure"`
	Unit     string `json:"unit"`
	Measured float64
	// Baseline is 0 when the figure has only an absolute target.
	Baseline      float64
	BaselineLabel string `json:"baseline_label,omitempty"`
	// Target describes the goal; Met says whether Measured reached it.
	Target string
	Met    bool
}

// Ratio is Measured / Baseline, or 0 without a baseline.
func (r Row) Ratio() float64 {
	if r.Baseline == 0 {
		return 0
	}
	return r.Measured / r.Baseline
}

// Result is what one scenario run reports.
type Result struct {
	Rows []Row `json:"rows"`
	// Details are free-form lines printed under the table (breakdowns,
	// sizes, checks).
	Details []string `json:"details,omitempty"`
}

func (r *Result) detail(format string, args ...any) {
	r.Details = append(r.Details, fmt.Sprintf(format, args...))
}

// tableHeader is the markdown header of the results table.
const tableHeader = "| Scenario | Run | Figure | Measured | Baseline (same run) | Ratio | Target | Met |\n" +
	"|---|---|---|---|---|---|---|---|\n"

// markdown formats r as one table row.
func (r Row) markdown() string {
	base, ratio := "-", "-"
	if r.Baseline != 0 {
		base = formatFigure(r.Baseline, r.Unit)
		if r.BaselineLabel != "" {
			base += " (" + r.BaselineLabel + ")"
		}
		ratio = strconv.FormatFloat(r.Ratio(), 'f', 2, 64) + "x"
	}
	met := "no"
	if r.Met {
		met = "yes"
	}
	return fmt.Sprintf("| %s | %d | %s | %s | %s | %s | %s | %s |\n",
		r.Scenario, r.Run, r.Figure, formatFigure(r.Measured, r.Unit), base, ratio, r.Target, met)
}

func formatFigure(v float64, unit string) string {
	switch unit {
	case unitRate:
		return groupThousands(int64(v+0.5)) + " polls/s"
	case unitSeconds:
		return strconv.FormatFloat(v, 'f', 2, 64) + " s"
	case unitMiB:
		return strconv.FormatFloat(v, 'f', 1, 64) + " MiB"
	}
	return strconv.FormatFloat(v, 'g', 4, 64) + " " + unit
}

// groupThousands writes n with commas: 12345 → "12,345".
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// printDetails writes the details of every result under a heading per
// scenario run.
func printDetails(w io.Writer, results []namedResult) {
	for _, nr := range results {
		if len(nr.res.Details) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s, run %d:\n", nr.scenario, nr.run)
		for _, d := range nr.res.Details {
			fmt.Fprintf(w, "  - %s\n", d)
		}
	}
}

type namedResult struct {
	scenario string
	run      int
	res      Result
}
