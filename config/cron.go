package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Projections count firings in [projectionStart, projectionStart+projectionWindow),
// a fixed window so the figures do not depend on today's date.
var projectionStart = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

const projectionWindow = 30 * 24 * time.Hour

// cronFields names the five standard fields with their maximum value.
var cronFields = []struct {
	name string
	max  int
}{{"minute", 59}, {"hour", 23}, {"day of month", 31}, {"month", 12}, {"day of week", 6}}

// parseCron parses spec with robfig/cron's standard parser, plus the checks
// it lacks: steps beyond a field's range (*/61), @every below one second or
// not whole seconds, and specs that never fire (0 0 31 2 *).
func parseCron(spec string) (cron.Schedule, error) {
	body := spec
	if strings.HasPrefix(body, "TZ=") || strings.HasPrefix(body, "CRON_TZ=") {
		_, rest, ok := strings.Cut(body, " ")
		if !ok {
			return nil, fmt.Errorf("time zone without a schedule")
		}
		body = strings.TrimSpace(rest)
	}
	if err := checkCronBody(body); err != nil {
		return nil, err
	}
	s, err := parseStandard(spec)
	if err != nil {
		return nil, err
	}
	if s.Next(projectionStart).IsZero() {
		return nil, fmt.Errorf("never fires")
	}
	return s, nil
}

// parseStandard guards against panics in the parser.
func parseStandard(spec string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("cannot parse")
		}
	}()
	return cron.ParseStandard(spec)
}

func checkCronBody(body string) error {
	if every, ok := strings.CutPrefix(body, "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(every))
		switch {
		case err != nil:
			return fmt.Errorf("invalid @every duration %q", every)
		case d < time.Second:
			return fmt.Errorf("@every needs at least 1s, got %s", d)
		case d%time.Second != 0:
			return fmt.Errorf("@every needs whole seconds, got %s", d)
		}
		return nil
	}
	fields := strings.Fields(body)
	if len(fields) != len(cronFields) {
		return nil // descriptors and field-count errors are the parser's
	}
	for i, f := range fields {
		for _, r := range strings.Split(f, ",") {
			_, step, ok := strings.Cut(r, "/")
			if !ok {
				continue
			}
			n, err := strconv.Atoi(step)
			if err == nil && n > cronFields[i].max {
				return fmt.Errorf("%s step %d is above %d", cronFields[i].name, n, cronFields[i].max)
			}
		}
	}
	return nil
}

// firings counts the firings of s in [from, from+window) and returns the
// shortest gap between two of them (0 with fewer than two firings).
func firings(s cron.Schedule, from time.Time, window time.Duration) (count int, minGap time.Duration) {
	if d, ok := s.(cron.ConstantDelaySchedule); ok {
		if d.Delay <= 0 {
			return 0, 0
		}
		return int(window / d.Delay), d.Delay
	}
	end := from.Add(window)
	var prev time.Time
	// A standard spec fires at most once a minute, so this loop is bounded.
	for t := s.Next(from.Add(-time.Nanosecond)); !t.IsZero() && t.Before(end); t = s.Next(t) {
		if count > 0 {
			if gap := t.Sub(prev); minGap == 0 || gap < minGap {
				minGap = gap
			}
		}
		prev = t
		count++
	}
	return count, minGap
}
