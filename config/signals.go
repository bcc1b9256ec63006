package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The Smartcar APIs the daemon polls with (smartcar.api).
const (
	// APIV3 is Smartcar API v3 (the default): a job is one GET /signals
	// call with the application token, one billed request.
	APIV3 = "v3"
	// APIV2 is Smartcar API v2.0: a job is one batch call with the user's
	// access token, each path billed as one request.
	APIV2 = "v2"
)

// SignalAll alone in a schedule's signals asks for every signal a vehicle
// returns (API v3 only).
const SignalAll = "all"

// KnownSignal is one of the daemon's signal names a schedule may ask for:
// the API v2 paths it comes from (the first is the one polled; none when v2
// has no source for it) and whether API v3 has it.
type KnownSignal struct {
	Name  string
	Paths []string
	V3    bool
}

// KnownSignals are the signal names a schedule's signals may hold besides
// SignalAll and raw API v3 codes. They are package normalize's table (a test
// there keeps the two in sync; config imports no internal package).
var KnownSignals = []KnownSignal{
	{"info", []string{"/"}, true},
	{"vin", []string{"/vin"}, true},
	{"odometer", []string{"/odometer"}, true},
	{"location", []string{"/location"}, true},
	{"battery", []string{"/battery"}, true},
	{"battery_capacity", []string{"/battery/nominal_capacity", "/battery/capacity"}, true},
	{"charge", []string{"/charge"}, true},
	{"charge_limit", []string{"/charge/limit"}, true},
	{"fuel", []string{"/fuel"}, true},
	{"tire_pressure", []string{"/tires/pressure"}, true},
	{"engine_oil", []string{"/engine/oil"}, true},
	{"lock_status", []string{"/security"}, true},
	{"diagnostics", []string{"/diagnostics/system_status", "/diagnostics/dtcs"}, false},
	{"connectivity", nil, true},
	{"doors", nil, true},
	{"windows", nil, true},
}

// codePattern is a raw API v3 signal code: lowercase group and name joined
// by a hyphen ("transmission-gearstate").
var codePattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+$`)

// IsSignalCode reports whether s is written as a raw API v3 signal code
// (lowercase, with a hyphen between group and name) rather than one of the
// daemon's signal names.
func IsSignalCode(s string) bool { return len(s) <= 100 && codePattern.MatchString(s) }

func knownSignal(name string) (KnownSignal, bool) {
	i := slices.IndexFunc(KnownSignals, func(k KnownSignal) bool { return k.Name == name })
	if i < 0 {
		return KnownSignal{}, false
	}
	return KnownSignals[i], true
}

// signalOfPath returns the known signal a v2 path belongs to.
func signalOfPath(path string) (KnownSignal, bool) {
	i := slices.IndexFunc(KnownSignals, func(k KnownSignal) bool { return slices.Contains(k.Paths, path) })
	if i < 0 {
		return KnownSignal{}, false
	}
	return KnownSignals[i], true
}

// V3Signals returns what a job of s asks API v3 for: its signals as
// written, or its paths as the signals they belong to (each once, in order).
// A path no API v3 signal has is left out (Validate refuses it on v3).
func (s Schedule) V3Signals() []string {
	if len(s.Signals) > 0 {
		return slices.Clone(s.Signals)
	}
	var out []string
	for _, p := range s.Paths {
		if k, ok := signalOfPath(p); ok && k.V3 && !slices.Contains(out, k.Name) {
			out = append(out, k.Name)
		}
	}
	return out
}

// V2Paths returns the paths of a job of s on API v2 (one batch): its paths
// as written, or the first path of each of its signals (in order, each
// once). A signal API v2 has no path for is left out (Validate refuses it
// on v2).
func (s Schedule) V2Paths() []string {
	if len(s.Signals) == 0 {
		return slices.Clone(s.Paths)
	}
	var out []string
	for _, name := range s.Signals {
		if k, ok := knownSignal(name); ok && len(k.Paths) > 0 && !slices.Contains(out, k.Paths[0]) {
			out = append(out, k.Paths[0])
		}
	}
	return out
}

// lacks returns the first thing s asks for that api has no source for, as a
// phrase ("connectivity has no API v2 path"), or "" when api can serve all
// of it.
func (s Schedule) lacks(api string) string {
	for _, name := range s.Signals {
		switch k, known := knownSignal(name); {
		case api == APIV2 && name == SignalAll:
			return `"all" is API v3 only`
		case api == APIV2 && !known:
			return fmt.Sprintf("the API v3 code %s has no API v2 path", name)
		case api == APIV2 && len(k.Paths) == 0:
			return fmt.Sprintf("%s has no API v2 path", name)
		case api == APIV3 && known && !k.V3:
			return fmt.Sprintf("%s has no API v3 signal", name)
		}
	}
	if api == APIV3 {
		for _, p := range s.Paths {
			if k, ok := signalOfPath(p); ok && !k.V3 {
				return fmt.Sprintf("%s (%s) has no API v3 signal", p, k.Name)
			}
		}
	}
	return ""
}

// signals checks a schedule's signals and paths for api: exactly one of
// them, every item known (or a raw v3 code), none twice, and every one
// available on api.
func (v *validator) signalsAndPaths(path string, s *Schedule, api string) {
	switch {
	case len(s.Signals) > 0 && len(s.Paths) > 0:
		v.fail(path+".signals", "set signals or paths, not both")
		return
	case len(s.Signals) == 0 && len(s.Paths) == 0:
		switch {
		case s.Paths != nil:
			v.fail(path+".paths", "at least one path is required")
		case s.Signals != nil:
			v.fail(path+".signals", "at least one signal is required")
		default:
			v.fail(path+".signals", "missing (want signals, e.g. [odometer, location], or API v2 paths)")
		}
		return
	case len(s.Paths) > 0:
		v.paths(path+".paths", s.Paths)
		if api == APIV3 {
			for i, p := range s.Paths {
				if k, ok := signalOfPath(p); ok && !k.V3 {
					v.fail(fmt.Sprintf("%s.paths[%d]", path, i), "%s has no API v3 signal (%s): leave it out, or set smartcar.api: v2", p, k.Name)
				}
			}
		}
		return
	}
	names := make([]string, len(KnownSignals))
	for i, k := range KnownSignals {
		names[i] = k.Name
	}
	for i, name := range s.Signals {
		item := fmt.Sprintf("%s.signals[%d]", path, i)
		k, known := knownSignal(name)
		switch {
		case slices.Contains(s.Signals[:i], name):
			v.fail(item, "duplicate signal %q", name)
		case name == SignalAll && len(s.Signals) > 1:
			v.fail(item, `"all" asks for every signal: list nothing else`)
		case name == SignalAll && api == APIV2:
			v.fail(item, `"all" needs smartcar.api: v3 (API v2 bills every path: list the signals)`)
		case name == SignalAll:
		case !known && !IsSignalCode(name):
			v.fail(item, "unknown signal %q (known: %s, all, or an API v3 code such as transmission-gearstate)",
				truncate(name, 60), strings.Join(names, " "))
		case !known && api == APIV2:
			v.fail(item, "%s is an API v3 signal code: set smartcar.api: v3, or ask for a signal with an API v2 path", name)
		case !known:
		case api == APIV2 && len(k.Paths) == 0:
			v.fail(item, "%s has no API v2 path: set smartcar.api: v3", name)
		case api == APIV3 && !k.V3:
			v.fail(item, "%s has no API v3 signal: leave it out, or set smartcar.api: v2", name)
		}
	}
}
