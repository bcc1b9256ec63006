package config

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

func (v *validator) schedules(ss []Schedule, api string) {
	if len(ss) == 0 {
		v.fail("schedules", "at least one schedule is required")
		return
	}
	first := map[string]int{}
	for i, s := range ss {
		path := fmt.Sprintf("schedules[%d]", i)
		v.schedule(path, &s, api)
		if s.Name == "" {
			continue
		}
		if j, dup := first[s.Name]; dup {
			v.fail(path+".name", "duplicate schedule name %q (schedules[%d] has it too)", truncate(s.Name, 64), j)
			continue
		}
		first[s.Name] = i
	}
}

func (v *validator) schedule(path string, s *Schedule, api string) {
	if v.bad[path] {
		return
	}
	switch {
	case s.Name == "":
		v.fail(path+".name", "missing")
	case len(s.Name) > 64 || !namePattern.MatchString(s.Name):
		v.fail(path+".name", "invalid name %q (want up to 64 letters, digits, _ or -)", truncate(s.Name, 64))
	}

	minGap := s.Jitter // no jitter check unless the cron parses
	switch {
	case s.Cron != "" && s.Adaptive != nil:
		v.fail(path, "set only one of cron and adaptive")
	case s.Adaptive != nil:
		v.adaptive(path+".adaptive", s.Adaptive, api)
	case s.Cron == "":
		v.fail(path+".cron", "missing (want cron or adaptive)")
	}
	if s.Cron == "" || s.Adaptive != nil {
		// no cron to check
	} else if sched, err := parseCron(s.Cron); err != nil {
		v.fail(path+".cron", "invalid cron %q: %v", truncate(s.Cron, 60), err)
	} else if s.Jitter > 0 {
		if n, gap := firings(sched, projectionStart, projectionWindow); n >= 2 {
			minGap = gap
		}
	}

	if !v.bad[path+".signals"] && !v.bad[path+".paths"] {
		v.signalsAndPaths(path, s, api)
	}
	v.vehicles(path+".vehicles", s.Vehicles)

	v.nonNegative(path+".jitter", s.Jitter)
	v.check(s.Jitter <= minGap, path+".jitter",
		"%s is longer than the shortest interval between firings (%s)", s.Jitter, minGap)
	v.oneOf(path+".emit", string(s.Emit), string(EmitAlways), string(EmitOnChange))
	v.nonNegative(path+".when.webhooks_silent_for", s.When.WebhooksSilentFor)
}

func (v *validator) paths(path string, paths []string) {
	for i, p := range paths {
		item := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case !slices.Contains(KnownPaths, p):
			v.fail(item, "unknown path %q (known: %s)", truncate(p, 60), strings.Join(KnownPaths, " "))
		case slices.Contains(paths[:i], p):
			v.fail(item, "duplicate path %q", p)
		}
	}
}

func (v *validator) vehicles(path string, sel Vehicles) {
	kinds := 0
	for _, set := range []bool{sel.All, sel.IDs != nil, sel.Tags != nil} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds == 0:
		v.fail(path, `missing (want "all", a list of vehicle ids or {tags: [...]})`)
	case kinds > 1:
		v.fail(path, "set only one of all, ids and tags")
	case sel.IDs != nil:
		v.names(path, sel.IDs, "vehicle id", namePattern)
	case sel.Tags != nil:
		v.names(path+".tags", sel.Tags, "tag", tagPattern)
	}
}

// names checks a non-empty list of distinct ids or tags.
func (v *validator) names(path string, list []string, what string, pattern interface{ MatchString(string) bool }) {
	if len(list) == 0 {
		v.fail(path, "empty list (want at least one %s)", what)
		return
	}
	for i, s := range list {
		item := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case !pattern.MatchString(s):
			v.fail(item, "invalid %s %q", what, truncate(s, 64))
		case slices.Contains(list[:i], s):
			v.fail(item, "duplicate %s %q", what, s)
		}
	}
}

// adaptive checks an adaptive schedule's settings (adaptive.Config.Validate,
// under their YAML keys) and that the API has signals.
func (v *validator) adaptive(path string, a *Adaptive, api string) {
	if v.bad[path] {
		return
	}
	if api == APIV2 {
		v.fail(path, "needs smartcar.api %s (the policy reads API v3 signals); API %s is not supported", APIV3, APIV2)
	}
	b := a.Budget
	if !v.bad[path+".budget.calls_per_vehicle_per_month"] {
		v.check(b.CallsPerVehiclePerMonth >= 1, path+".budget.calls_per_vehicle_per_month",
			"must be at least 1, got %d", b.CallsPerVehiclePerMonth)
	}
	if !v.bad[path+".budget.reserve"] {
		switch {
		case b.Reserve < 0 || b.Reserve >= 1:
			v.fail(path+".budget.reserve", "must be from 0%% to below 100%%, got %s", b.Reserve)
		case b.CallsPerVehiclePerMonth >= 1 && a.PollBudget() < 1:
			v.fail(path+".budget.reserve", "a reserve of %s of %d calls leaves no poll", b.Reserve, b.CallsPerVehiclePerMonth)
		}
	}
	in := a.Intervals
	for _, f := range []struct {
		key string
		d   time.Duration
	}{{"driving", in.Driving}, {"charging", in.Charging}, {"plugged_in", in.PluggedIn}, {"parked", in.Parked}, {"asleep", in.Asleep}} {
		if key := path + ".intervals." + f.key; !v.bad[key] {
			v.check(f.d >= time.Second, key, "must be at least 1s, got %s", f.d)
		}
	}
}
