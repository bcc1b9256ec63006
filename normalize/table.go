package normalize

import (
	"maps"
	"slices"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Source says where one of the daemon's signals comes from: the API v2
// paths whose batch items give it, and the API v3 signal codes it is
// composed of.
type Source struct {
	Signal events.Signal
	Paths  []string
	Codes  []string
}

// table is the daemon's signals with their v2 paths and v3 codes. Info on
// v3 comes from the vehicle resource (the vehicle /signals includes), not
// from a signal. Diagnostics has no v3 code yet; connectivity, doors and
// windows have no v2 path (v2's door and window lists stay in lock_status).
var table = []Source{
	{events.SignalInfo, []string{smartcar.PathAttributes}, nil},
	{events.SignalVIN, []string{smartcar.PathVIN}, []string{smartcar.SignalVIN}},
	{events.SignalOdometer, []string{smartcar.PathOdometer}, []string{smartcar.SignalOdometer}},
	{events.SignalLocation, []string{smartcar.PathLocation}, []string{smartcar.SignalLocation}},
	{events.SignalBattery, []string{smartcar.PathBattery}, []string{smartcar.SignalStateOfCharge, smartcar.SignalBatteryRange}},
	// v3's nominal capacity is v2's /battery/nominal_capacity (its key and
	// its errors' path), without the source.
	{events.SignalBatteryCapacity, []string{smartcar.PathNominalCapacity, smartcar.PathBatteryCapacity},
		[]string{smartcar.SignalNominalCapacity}},
	{events.SignalCharge, []string{smartcar.PathCharge},
		[]string{smartcar.SignalDetailedChargingStatus, smartcar.SignalIsCharging, smartcar.SignalIsChargingCable}},
	{events.SignalChargeLimit, []string{smartcar.PathChargeLimit}, []string{smartcar.SignalChargeLimits}},
	{events.SignalFuel, []string{smartcar.PathFuel}, []string{smartcar.SignalFuelLevel, smartcar.SignalFuelAmount, smartcar.SignalFuelRange}},
	{events.SignalTirePressure, []string{smartcar.PathTirePressure}, []string{smartcar.SignalTires}},
	{events.SignalEngineOil, []string{smartcar.PathEngineOil}, []string{smartcar.SignalOilLife}},
	{events.SignalLockStatus, []string{smartcar.PathLockStatus}, []string{smartcar.SignalIsLocked, smartcar.SignalDoors, smartcar.SignalWindows}},
	{events.SignalDiagnostics, []string{smartcar.PathDiagnosticSystemStatus, smartcar.PathDiagnosticTroubleCodes}, nil},
	{events.SignalConnectivity, nil, []string{smartcar.SignalIsOnline, smartcar.SignalIsAsleep}},
	{events.SignalDoors, nil, []string{smartcar.SignalDoors}},
	{events.SignalWindows, nil, []string{smartcar.SignalWindows}},
}

var (
	pathSignals = map[string]events.Signal{}
	codeSignals = map[string][]events.Signal{}
	// primaryPath is the first v2 path of each signal that has one.
	primaryPath = map[events.Signal]string{}
)

func init() {
	for _, s := range table {
		for _, p := range s.Paths {
			pathSignals[p] = s.Signal
		}
		for _, c := range s.Codes {
			codeSignals[c] = append(codeSignals[c], s.Signal)
		}
		if len(s.Paths) > 0 {
			primaryPath[s.Signal] = s.Paths[0]
		}
	}
}

// Table returns the daemon's signals with the v2 paths and v3 codes each
// comes from, in a stable order (a copy: plain data for config and the
// worker). A v3 code missing from it goes out as a generic signal event.
func Table() []Source {
	out := make([]Source, len(table))
	for i, s := range table {
		out[i] = Source{Signal: s.Signal, Paths: slices.Clone(s.Paths), Codes: slices.Clone(s.Codes)}
	}
	return out
}

// SignalForPath returns the signal of an API v2 path such as "/odometer" or
// "/" (vehicle attributes: info). Both battery capacity paths give
// battery_capacity and both diagnostics paths diagnostics. It reports false
// for a path it does not know.
func SignalForPath(path string) (events.Signal, bool) {
	s, ok := pathSignals[path]
	return s, ok
}

// Paths returns the v2 paths SignalForPath knows, sorted.
func Paths() []string { return slices.Sorted(maps.Keys(pathSignals)) }

// SignalsForCode returns the daemon signals an API v3 code is part of
// (closure-doors is part of lock_status and doors); none means the code
// goes out as a generic signal event.
func SignalsForCode(code string) []events.Signal { return slices.Clone(codeSignals[code]) }

// PathOfCode returns the v2 path of the daemon signal an API v3 code is part
// of, e.g. "/odometer" for odometer-traveleddistance; false when that signal
// has no v2 path or the code none.
func PathOfCode(code string) (string, bool) {
	for _, s := range codeSignals[code] {
		if p, ok := primaryPath[s]; ok {
			return p, true
		}
	}
	return "", false
}
