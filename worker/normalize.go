package worker

import (
	"fmt"

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
		return nil
	}
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
