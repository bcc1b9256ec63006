package worker

import (
	"fmt"
	"math"
	"regexp"
	"slices"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Conversion factors from Smartcar's imperial units to the metric units of events.
const (
	kmPerMile     = 1.609344
	litresPerGal  = 3.785411784
	kpaPerPSI     = 6.894757293168
	noConversion  = 1.0
	pathInfo      = "/"
	pathNominal   = "/battery/nominal_capacity"
	pathSystem    = "/diagnostics/system_status"
	pathTroubleCs = "/diagnostics/dtcs"
)

// units returns the factors that turn an item's distances, volumes and
// pressures into km, litres and kPa.
func units(u smartcar.UnitSystem) (dist, vol, press float64) {
	if u == smartcar.Imperial {
		return kmPerMile, litresPerGal, kpaPerPSI
	}
	return noConversion, noConversion, noConversion
}

// normalize decodes one successful batch item and returns its signal and the
// metric event data. requested is the unit system the request asked for; the
// item's own sc-unit-system header wins when present.
func normalize(item smartcar.BatchItem, requested smartcar.UnitSystem) (events.Signal, any, error) {
	sig, ok := events.SignalForPath(item.Path)
	if !ok {
		return "", nil, fmt.Errorf("no signal for path %q", item.Path)
	}
	unit := requested
	if item.Meta.UnitSystem != "" {
		unit = item.Meta.UnitSystem
	}
	dist, vol, press := units(unit)

	decode := func(v any) error {
		if err := item.Decode(v); err != nil {
			return fmt.Errorf("decode %s: %w", item.Path, err)
		}
		return requireKeys(item.Path, item.Body)
	}
	sig, data, err := convert(item, sig, decode, dist, vol, press)
	if err != nil {
		return "", nil, err
	}
	if err := checkData(data); err != nil {
		return "", nil, fmt.Errorf("normalize %s: %w", item.Path, err)
	}
	return sig, data, nil
}

// convert decodes the item with decode and converts it to metric event data.
func convert(item smartcar.BatchItem, sig events.Signal, decode func(any) error, dist, vol, press float64) (events.Signal, any, error) {
	switch item.Path {
	case pathInfo:
		var v smartcar.Info
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		return sig, events.InfoData{Make: v.Make, Model: v.Model, Year: v.Year}, nil
	case "/vin":
		var v smartcar.VIN
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		return sig, events.VINData{VIN: v.VIN}, nil
	case "/odometer":
		var v smartcar.Odometer
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		return sig, events.OdometerData{DistanceKm: v.Distance * dist}, nil
	case "/location":
		var v smartcar.Location
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		return sig, events.LocationData{Latitude: v.Latitude, Longitude: v.Longitude}, nil
	case "/battery":
		var v smartcar.Battery
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		return sig, events.BatteryData{PercentRemaining: v.PercentRemaining, RangeKm: v.Range * dist}, nil
	case "/battery/capacity":
		var v smartcar.BatteryCapacity
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		c := v.Capacity
		return sig, events.BatteryCapacityData{CapacityKWh: &c}, nil
	case pathNominal:
		var v smartcar.NominalCapacity
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		d := events.BatteryCapacityData{}
		if v.Capacity != nil {
			n := v.Capacity.Nominal
			d.NominalKWh = &n
			d.Source = v.Capacity.Source
		}
		return sig, d, nil
	case "/charge":
		var v smartcar.Charge
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		return sig, events.ChargeData{IsPluggedIn: v.IsPluggedIn, State: v.State}, nil
	case "/charge/limit":
		var v smartcar.ChargeLimit
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		return sig, events.ChargeLimitData{Limit: v.Limit}, nil
	case "/fuel":
		var v smartcar.Fuel
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		return sig, events.FuelData{
			AmountRemainingL: v.AmountRemaining * vol,
			PercentRemaining: v.PercentRemaining,
			RangeKm:          v.Range * dist,
		}, nil
	case "/tires/pressure":
		var v smartcar.TirePressure
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		return sig, events.TirePressureData{
			FrontLeftKPa:  v.FrontLeft * press,
			FrontRightKPa: v.FrontRight * press,
			BackLeftKPa:   v.BackLeft * press,
			BackRightKPa:  v.BackRight * press,
		}, nil
	case "/engine/oil":
		var v smartcar.EngineOil
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		return sig, events.EngineOilData{LifeRemaining: v.LifeRemaining}, nil
	case "/security":
		var v smartcar.LockStatus
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		return sig, events.LockStatusData{
			IsLocked:     v.IsLocked,
			Doors:        openings(v.Doors),
			Windows:      openings(v.Windows),
			Sunroof:      openings(v.Sunroof),
			Storage:      openings(v.Storage),
			ChargingPort: openings(v.ChargingPort),
		}, nil
	case pathSystem:
		var v smartcar.DiagnosticSystemStatus
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		systems := make([]events.DiagnosticSystem, 0, len(v.Systems))
		for _, s := range v.Systems {
			ds := events.DiagnosticSystem{SystemID: s.SystemID, Status: s.Status}
			if s.Description != nil {
				ds.Description = *s.Description
			}
			systems = append(systems, ds)
		}
		return sig, events.DiagnosticsData{Systems: systems}, nil
	case pathTroubleCs:
		var v smartcar.DiagnosticTroubleCodes
		if err := decode(&v); err != nil {
			return "", nil, err
		}
		codes := make([]events.TroubleCode, 0, len(v.ActiveCodes))
		for _, c := range v.ActiveCodes {
			codes = append(codes, events.TroubleCode{Code: c.Code, Timestamp: c.Timestamp})
		}
		return sig, events.DiagnosticsData{ActiveCodes: codes}, nil
	}
	return "", nil, fmt.Errorf("no normalization for path %q", item.Path)
}

func openings(in []smartcar.OpenStatus) []events.Opening {
	out := make([]events.Opening, 0, len(in))
	for _, o := range in {
		out = append(out, events.Opening{Type: o.Type, Status: o.Status})
	}
	return out
}

// requiredKeys are the members each path's body must have (not null): a
// missing one would otherwise decode as a zero, e.g. a car at 0°N 0°E.
var requiredKeys = map[string][]string{
	pathInfo:            {"make", "model", "year"},
	"/vin":              {"vin"},
	"/odometer":         {"distance"},
	"/location":         {"latitude", "longitude"},
	"/battery":          {"percentRemaining", "range"},
	"/battery/capacity": {"capacity"},
	pathNominal:         nil, // capacity is null while undetermined
	"/charge":           {"isPluggedIn", "state"},
	"/charge/limit":     {"limit"},
	"/fuel":             {"amountRemaining", "percentRemaining", "range"},
	"/tires/pressure":   {"frontLeft", "frontRight", "backLeft", "backRight"},
	"/engine/oil":       {"lifeRemaining"},
	"/security":         {"isLocked"},
	pathSystem:          {"systems"},
	pathTroubleCs:       {"activeCodes"},
}

// requireKeys checks that body is a JSON object with every required member
// of path. It runs after a successful typed decode, so body is valid JSON.
func requireKeys(path string, body []byte) error {
	want := requiredKeys[path]
	var buf [8]bool
	var present []bool
	if len(want) <= len(buf) {
		present = buf[:len(want)]
	} else {
		present = make([]bool, len(want))
	}
	if !objectMembers(body, want, present) {
		return fmt.Errorf("decode %s: body is not a JSON object", path)
	}
	for n, k := range want {
		if !present[n] {
			return fmt.Errorf("decode %s: missing %q", path, k)
		}
	}
	return nil
}

var vinPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,17}$`)

// checkData rejects values the event schemas do not allow (a fraction above
// 1, a negative or infinite distance, an unknown state), so that a response
// Smartcar got wrong becomes an error event rather than an invalid event.
func checkData(data any) error {
	var c checker
	switch d := data.(type) {
	case events.InfoData:
		c.nonEmpty("make", d.Make)
		c.nonEmpty("model", d.Model)
		c.within("year", float64(d.Year), 1900, 2100)
	case events.VINData:
		if !vinPattern.MatchString(d.VIN) {
			c.fail("vin %q is not 1-17 letters and digits", d.VIN)
		}
	case events.OdometerData:
		c.nonNegative("distance", d.DistanceKm)
	case events.LocationData:
		c.within("latitude", d.Latitude, -90, 90)
		c.within("longitude", d.Longitude, -180, 180)
	case events.BatteryData:
		c.within("percentRemaining", d.PercentRemaining, 0, 1)
		c.nonNegative("range", d.RangeKm)
	case events.BatteryCapacityData:
		if d.CapacityKWh != nil {
			c.nonNegative("capacity", *d.CapacityKWh)
		}
		if d.NominalKWh != nil {
			c.nonNegative("nominal capacity", *d.NominalKWh)
		}
		c.oneOf("source", d.Source, "", "SMARTCAR", "USER_SELECTED")
		for _, a := range d.Available {
			c.nonNegative("available capacity", a.CapacityKWh)
		}
	case events.ChargeData:
		c.oneOf("state", d.State, events.ChargeStateCharging, events.ChargeStateFullyCharged, events.ChargeStateNotCharging)
	case events.ChargeLimitData:
		c.within("limit", d.Limit, 0, 1)
	case events.FuelData:
		c.nonNegative("amountRemaining", d.AmountRemainingL)
		c.within("percentRemaining", d.PercentRemaining, 0, 1)
		c.nonNegative("range", d.RangeKm)
	case events.TirePressureData:
		c.nonNegative("frontLeft", d.FrontLeftKPa)
		c.nonNegative("frontRight", d.FrontRightKPa)
		c.nonNegative("backLeft", d.BackLeftKPa)
		c.nonNegative("backRight", d.BackRightKPa)
	case events.EngineOilData:
		c.within("lifeRemaining", d.LifeRemaining, 0, 1)
	case events.LockStatusData:
		for _, list := range [][]events.Opening{d.Doors, d.Windows, d.Sunroof, d.Storage, d.ChargingPort} {
			for _, o := range list {
				c.nonEmpty("opening type", o.Type)
				c.oneOf("opening status", o.Status, events.OpeningOpen, events.OpeningClosed,
					events.OpeningLocked, events.OpeningUnlocked, events.OpeningUnknown)
			}
		}
	case events.DiagnosticsData:
		if d.Systems == nil && d.ActiveCodes == nil {
			c.fail("no systems and no active codes")
		}
		for _, s := range d.Systems {
			c.nonEmpty("systemId", s.SystemID)
			c.oneOf("system status", s.Status, "OK", "ALERT")
		}
		for _, tc := range d.ActiveCodes {
			c.nonEmpty("trouble code", tc.Code)
		}
	}
	return c.err
}

// checker keeps the first problem found.
type checker struct{ err error }

func (c *checker) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

func (c *checker) within(name string, v, lo, hi float64) {
	if !(v >= lo && v <= hi) { // also false for NaN
		c.fail("%s %v is outside %v..%v", name, v, lo, hi)
	}
}

func (c *checker) nonNegative(name string, v float64) {
	if !(v >= 0) || math.IsInf(v, 1) {
		c.fail("%s %v is negative or infinite", name, v)
	}
}

func (c *checker) nonEmpty(name, v string) {
	if v == "" {
		c.fail("%s is empty", name)
	}
}

func (c *checker) oneOf(name, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		c.fail("%s %q is not one of %q", name, v, allowed)
	}
}
