package normalize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Item is the data of one event: its signal, the data (one of the data types
// of package events) and when it was true.
type Item struct {
	Signal events.Signal
	Data   events.Data
	// Key names the item within its delivery, for its event id
	// (events.EventID(job, Key)): the path of a v2 item; for v3 signals the
	// v2 path of the signal when it has one ("/battery"), else the signal
	// ("connectivity") or, for a generic signal event, "signals/<code>".
	Key string
	// Time is the data's age: SC-Data-Age (v2), the latest oemUpdatedAt of
	// the signals it was made of (v3); zero when unknown.
	Time time.Time
	// FetchedAt is when Smartcar fetched the data: SC-Fetched-At (v2), the
	// latest retrievedAt of its signals (v3); zero when unknown.
	FetchedAt time.Time
	// RequestID is a v2 item's SC-Request-Id; empty for v3 signals (the
	// response has one for all of them).
	RequestID string
}

// FromBatchItem normalizes one successful API v2 batch item. requested is
// the unit system the request asked for; the item's own SC-Unit-System wins
// when present. A body without a member its signal needs (or with null
// there), or with a value out of range, is an error: a v2 body carries all
// its parts or none.
func FromBatchItem(item smartcar.BatchItem, requested smartcar.UnitSystem) (Item, error) {
	if item.Err != nil {
		return Item{}, fmt.Errorf("normalize %s: %w", item.Path, item.Err)
	}
	sig, ok := SignalForPath(item.Path)
	if !ok {
		return Item{}, fmt.Errorf("no signal for path %q", item.Path)
	}
	unit := requested
	if item.Meta.UnitSystem != "" {
		unit = item.Meta.UnitSystem
	}
	data, err := fromBody(item.Path, item.Body, units(unit))
	if err != nil {
		return Item{}, err
	}
	if err := Check(data); err != nil {
		return Item{}, fmt.Errorf("normalize %s: %w", item.Path, err)
	}
	return Item{Signal: sig, Data: data, Key: item.Path, Time: item.Meta.DataAge,
		FetchedAt: item.Meta.FetchedAt, RequestID: item.Meta.RequestID}, nil
}

// unitNames are the units of a v2 body's distances, volumes and pressures,
// in the names the v3 bodies use, so that both go through the same
// conversions (smartcar.ScalarBody).
type unitNames struct{ distance, volume, pressure string }

func units(u smartcar.UnitSystem) unitNames {
	if u == smartcar.Imperial {
		return unitNames{"miles", "gallons", "psi"}
	}
	return unitNames{"kilometers", "liters", "kilopascals"}
}

// v2 bodies, with a pointer for each member a signal needs: nil is missing
// or null (which would otherwise decode as a zero, e.g. a car at 0°N 0°E).
type (
	infoWire struct {
		Make  *string `json:"make"`
		Model *string `json:"model"`
		Year  *int    `json:"year"`
	}
	vinWire struct {
		VIN *string `json:"vin"`
	}
	odometerWire struct {
		Distance *float64 `json:"distance"`
	}
	locationWire struct {
		Latitude  *float64 `json:"latitude"`
		Longitude *float64 `json:"longitude"`
	}
	batteryWire struct {
		PercentRemaining *float64 `json:"percentRemaining"`
		Range            *float64 `json:"range"`
	}
	capacityWire struct {
		Capacity *float64 `json:"capacity"`
	}
	chargeWire struct {
		IsPluggedIn *bool   `json:"isPluggedIn"`
		State       *string `json:"state"`
	}
	chargeLimitWire struct {
		Limit *float64 `json:"limit"`
	}
	fuelWire struct {
		AmountRemaining  *float64 `json:"amountRemaining"`
		PercentRemaining *float64 `json:"percentRemaining"`
		Range            *float64 `json:"range"`
	}
	tiresWire struct {
		FrontLeft  *float64 `json:"frontLeft"`
		FrontRight *float64 `json:"frontRight"`
		BackLeft   *float64 `json:"backLeft"`
		BackRight  *float64 `json:"backRight"`
	}
	oilWire struct {
		LifeRemaining *float64 `json:"lifeRemaining"`
	}
	securityWire struct {
		IsLocked     *bool                 `json:"isLocked"`
		Doors        []smartcar.OpenStatus `json:"doors"`
		Windows      []smartcar.OpenStatus `json:"windows"`
		Sunroof      []smartcar.OpenStatus `json:"sunroof"`
		Storage      []smartcar.OpenStatus `json:"storage"`
		ChargingPort []smartcar.OpenStatus `json:"chargingPort"`
	}
	systemsWire struct {
		Systems *[]smartcar.DiagnosticSystem `json:"systems"`
	}
	dtcsWire struct {
		ActiveCodes *[]smartcar.TroubleCode `json:"activeCodes"`
	}
)

// members collects the members a body lacks.
type members struct {
	path    string
	missing string
}

func (m *members) need(name string, present bool) {
	if !present && m.missing == "" {
		m.missing = name
	}
}

func (m *members) err() error {
	if m.missing == "" {
		return nil
	}
	return fmt.Errorf("decode %s: missing %q", m.path, m.missing)
}

// decodeObject decodes body, which must be one JSON object, into v.
func decodeObject(path string, body json.RawMessage, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) == 0 || b[0] != '{' {
		return fmt.Errorf("decode %s: body is not a JSON object", path)
	}
	return nil
}

// fromBody decodes a v2 body and converts it to event data.
func fromBody(path string, body json.RawMessage, u unitNames) (events.Data, error) {
	m := members{path: path}
	switch path {
	case smartcar.PathAttributes:
		var w infoWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		m.need("make", w.Make != nil)
		m.need("model", w.Model != nil)
		m.need("year", w.Year != nil)
		if err := m.err(); err != nil {
			return nil, err
		}
		return events.InfoData{Make: *w.Make, Model: *w.Model, Year: *w.Year}, nil
	case smartcar.PathVIN:
		var w vinWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		if m.need("vin", w.VIN != nil); m.err() != nil {
			return nil, m.err()
		}
		return events.VINData{VIN: *w.VIN}, nil
	case smartcar.PathOdometer:
		var w odometerWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		if m.need("distance", w.Distance != nil); m.err() != nil {
			return nil, m.err()
		}
		km, err := kilometers(u.distance, *w.Distance)
		if err != nil {
			return nil, err
		}
		return events.OdometerData{DistanceKm: km}, nil
	case smartcar.PathLocation:
		var w locationWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		m.need("latitude", w.Latitude != nil)
		m.need("longitude", w.Longitude != nil)
		if err := m.err(); err != nil {
			return nil, err
		}
		return events.LocationData{Latitude: *w.Latitude, Longitude: *w.Longitude}, nil
	case smartcar.PathBattery:
		var w batteryWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		m.need("percentRemaining", w.PercentRemaining != nil)
		m.need("range", w.Range != nil)
		if err := m.err(); err != nil {
			return nil, err
		}
		km, err := kilometers(u.distance, *w.Range)
		if err != nil {
			return nil, err
		}
		return events.BatteryData{PercentRemaining: *w.PercentRemaining, RangeKm: km}, nil
	case smartcar.PathBatteryCapacity:
		var w capacityWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		if m.need("capacity", w.Capacity != nil); m.err() != nil {
			return nil, m.err()
		}
		return events.BatteryCapacityData{CapacityKWh: w.Capacity}, nil
	case smartcar.PathNominalCapacity:
		// capacity is null while undetermined; the selection URL holds a
		// token and is never copied.
		var w smartcar.NominalCapacity
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		d := events.BatteryCapacityData{}
		if w.Capacity != nil {
			n := w.Capacity.Nominal
			d.NominalKWh, d.Source = &n, w.Capacity.Source
		}
		return d, nil
	case smartcar.PathCharge:
		var w chargeWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		m.need("isPluggedIn", w.IsPluggedIn != nil)
		m.need("state", w.State != nil)
		if err := m.err(); err != nil {
			return nil, err
		}
		return events.ChargeData{IsPluggedIn: *w.IsPluggedIn, State: *w.State}, nil
	case smartcar.PathChargeLimit:
		var w chargeLimitWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		if m.need("limit", w.Limit != nil); m.err() != nil {
			return nil, m.err()
		}
		return events.ChargeLimitData{Limit: *w.Limit}, nil
	case smartcar.PathFuel:
		var w fuelWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		m.need("amountRemaining", w.AmountRemaining != nil)
		m.need("percentRemaining", w.PercentRemaining != nil)
		m.need("range", w.Range != nil)
		if err := m.err(); err != nil {
			return nil, err
		}
		l, err := liters(u.volume, *w.AmountRemaining)
		if err != nil {
			return nil, err
		}
		km, err := kilometers(u.distance, *w.Range)
		if err != nil {
			return nil, err
		}
		return events.FuelData{AmountRemainingL: l, PercentRemaining: *w.PercentRemaining, RangeKm: km}, nil
	case smartcar.PathTirePressure:
		var w tiresWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		m.need("frontLeft", w.FrontLeft != nil)
		m.need("frontRight", w.FrontRight != nil)
		m.need("backLeft", w.BackLeft != nil)
		m.need("backRight", w.BackRight != nil)
		if err := m.err(); err != nil {
			return nil, err
		}
		var d events.TirePressureData
		for _, t := range []struct {
			dst *float64
			v   float64
		}{{&d.FrontLeftKPa, *w.FrontLeft}, {&d.FrontRightKPa, *w.FrontRight}, {&d.BackLeftKPa, *w.BackLeft}, {&d.BackRightKPa, *w.BackRight}} {
			p, err := kilopascals(u.pressure, t.v)
			if err != nil {
				return nil, err
			}
			*t.dst = p
		}
		return d, nil
	case smartcar.PathEngineOil:
		var w oilWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		if m.need("lifeRemaining", w.LifeRemaining != nil); m.err() != nil {
			return nil, m.err()
		}
		return events.EngineOilData{LifeRemaining: *w.LifeRemaining}, nil
	case smartcar.PathLockStatus:
		var w securityWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		if m.need("isLocked", w.IsLocked != nil); m.err() != nil {
			return nil, m.err()
		}
		return events.LockStatusData{
			IsLocked:     *w.IsLocked,
			Doors:        openings(w.Doors),
			Windows:      openings(w.Windows),
			Sunroof:      openings(w.Sunroof),
			Storage:      openings(w.Storage),
			ChargingPort: openings(w.ChargingPort),
		}, nil
	case smartcar.PathDiagnosticSystemStatus:
		var w systemsWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		if m.need("systems", w.Systems != nil); m.err() != nil {
			return nil, m.err()
		}
		systems := make([]events.DiagnosticSystem, 0, len(*w.Systems))
		for _, s := range *w.Systems {
			ds := events.DiagnosticSystem{SystemID: s.SystemID, Status: s.Status}
			if s.Description != nil {
				ds.Description = *s.Description
			}
			systems = append(systems, ds)
		}
		return events.DiagnosticsData{Systems: systems}, nil
	case smartcar.PathDiagnosticTroubleCodes:
		var w dtcsWire
		if err := decodeObject(path, body, &w); err != nil {
			return nil, err
		}
		if m.need("activeCodes", w.ActiveCodes != nil); m.err() != nil {
			return nil, m.err()
		}
		codes := make([]events.TroubleCode, 0, len(*w.ActiveCodes))
		for _, c := range *w.ActiveCodes {
			codes = append(codes, events.TroubleCode{Code: c.Code, Timestamp: c.Timestamp})
		}
		return events.DiagnosticsData{ActiveCodes: codes}, nil
	}
	return nil, fmt.Errorf("no normalization for path %q", path)
}

func openings(in []smartcar.OpenStatus) []events.Opening {
	out := make([]events.Opening, 0, len(in))
	for _, o := range in {
		out = append(out, events.Opening{Type: o.Type, Status: o.Status})
	}
	return out
}
