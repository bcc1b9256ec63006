package normalize

import (
	"fmt"
	"math"
	"regexp"
	"slices"

	"github.com/smartcar-poller/smartcar-poller/events"
)

var vinPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,17}$`)

// Check rejects data the event schemas do not allow (a fraction above 1, a
// latitude beyond 90, a negative or infinite distance, an unknown state), so
// that data Smartcar got wrong is refused rather than published as an
// invalid event. Every item this package returns has passed it; the parts of
// a v3 signal are checked with the same rules as they are read.
func Check(data events.Data) error {
	var c checker
	switch d := data.(type) {
	case events.InfoData:
		c.nonEmpty("make", d.Make)
		c.nonEmpty("model", d.Model)
		c.within("year", float64(d.Year), 1900, 2100)
	case events.VINData:
		c.vin(d.VIN)
	case events.OdometerData:
		c.nonNegative("distance", d.DistanceKm)
	case events.LocationData:
		c.location(d.Latitude, d.Longitude)
	case events.BatteryData:
		c.fraction("percentRemaining", d.PercentRemaining)
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
		c.chargeState(d.State)
	case events.ChargeLimitData:
		c.fraction("limit", d.Limit)
	case events.FuelData:
		c.nonNegative("amountRemaining", d.AmountRemainingL)
		c.fraction("percentRemaining", d.PercentRemaining)
		c.nonNegative("range", d.RangeKm)
	case events.TirePressureData:
		c.nonNegative("frontLeft", d.FrontLeftKPa)
		c.nonNegative("frontRight", d.FrontRightKPa)
		c.nonNegative("backLeft", d.BackLeftKPa)
		c.nonNegative("backRight", d.BackRightKPa)
	case events.EngineOilData:
		c.fraction("lifeRemaining", d.LifeRemaining)
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
	case events.ConnectivityData:
	case events.DoorsData:
		c.closures("door", d.Doors, d.RowCount, d.ColumnCount)
	case events.WindowsData:
		c.closures("window", d.Windows, d.RowCount, d.ColumnCount)
	case events.SignalData:
		if err := events.ValidateCode(d.Code); err != nil {
			c.fail("%w", err)
		}
	default:
		c.fail("no checks for %T", data)
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

func (c *checker) fraction(name string, v float64) { c.within(name, v, 0, 1) }

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

func (c *checker) location(lat, lon float64) {
	c.within("latitude", lat, -90, 90)
	c.within("longitude", lon, -180, 180)
}

func (c *checker) vin(v string) {
	if !vinPattern.MatchString(v) {
		c.fail("vin %q is not 1-17 letters and digits", v)
	}
}

func (c *checker) chargeState(s string) {
	c.oneOf("state", s, events.ChargeStateCharging, events.ChargeStateFullyCharged, events.ChargeStateNotCharging)
}

// closures checks a door or window grid: places inside it, each once.
func (c *checker) closures(what string, list []events.Closure, rows, columns int) {
	if list == nil {
		c.fail("no %s list", what)
	}
	if rows < 0 || columns < 0 {
		c.fail("%s grid %dx%d is negative", what, rows, columns)
	}
	seen := map[[2]int]bool{}
	for _, v := range list {
		at := [2]int{v.Row, v.Column}
		switch {
		case v.Row < 0 || v.Column < 0 || v.Row >= rows || v.Column >= columns:
			c.fail("%s at row %d, column %d is outside the %dx%d grid", what, v.Row, v.Column, rows, columns)
		case seen[at]:
			c.fail("two %ss at row %d, column %d", what, v.Row, v.Column)
		}
		seen[at] = true
	}
}
