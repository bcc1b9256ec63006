package normalize

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// A reader decodes the body of one API v3 signal, converts it to the units
// and form of events and checks its range. Its value is what the setters of
// the composites (v3.go) take: a float64, bool or string, or a type below.
type reader func(s *smartcar.Signal) (any, error)

// readers are the v3 codes that feed a daemon signal.
var readers = map[string]reader{
	smartcar.SignalVIN:                    readVIN,
	smartcar.SignalOdometer:               readKilometers("distance"),
	smartcar.SignalLocation:               readLocation,
	smartcar.SignalStateOfCharge:          readFraction("percentRemaining"),
	smartcar.SignalBatteryRange:           readKilometers("range"),
	smartcar.SignalNominalCapacity:        readCapacity,
	smartcar.SignalDetailedChargingStatus: readChargeState,
	smartcar.SignalIsCharging:             readIsCharging,
	smartcar.SignalIsChargingCable:        readBool,
	smartcar.SignalChargeLimits:           readChargeLimit,
	smartcar.SignalFuelLevel:              readFraction("percentRemaining"),
	smartcar.SignalFuelAmount:             readLiters,
	smartcar.SignalFuelRange:              readKilometers("range"),
	smartcar.SignalTires:                  readTires,
	smartcar.SignalOilLife:                readFraction("lifeRemaining"),
	smartcar.SignalIsLocked:               readBool,
	smartcar.SignalDoors:                  readClosures("door"),
	smartcar.SignalWindows:                readClosures("window"),
	smartcar.SignalIsOnline:               readBool,
	smartcar.SignalIsAsleep:               readBool,
}

func readVIN(s *smartcar.Signal) (any, error) {
	v, err := s.Text()
	if err != nil {
		return nil, err
	}
	var c checker
	c.vin(v)
	return v, c.err
}

func readKilometers(name string) reader {
	return func(s *smartcar.Signal) (any, error) {
		b, err := s.Scalar()
		if err != nil {
			return nil, err
		}
		km, err := kilometers(b.Unit, b.Value)
		if err != nil {
			return nil, err
		}
		var c checker
		c.nonNegative(name, km)
		return km, c.err
	}
}

func readLiters(s *smartcar.Signal) (any, error) {
	b, err := s.Scalar()
	if err != nil {
		return nil, err
	}
	l, err := liters(b.Unit, b.Value)
	if err != nil {
		return nil, err
	}
	var c checker
	c.nonNegative("amountRemaining", l)
	return l, c.err
}

func readFraction(name string) reader {
	return func(s *smartcar.Signal) (any, error) {
		b, err := s.Scalar()
		if err != nil {
			return nil, err
		}
		f, err := fraction(b)
		if err != nil {
			return nil, err
		}
		var c checker
		c.fraction(name, f)
		return f, c.err
	}
}

func readCapacity(s *smartcar.Signal) (any, error) {
	b, err := s.Scalar()
	if err != nil {
		return nil, err
	}
	kwh, err := kilowattHours(b)
	if err != nil {
		return nil, err
	}
	var c checker
	c.nonNegative("nominal capacity", kwh)
	return kwh, c.err
}

func readBool(s *smartcar.Signal) (any, error) { return s.Bool() }

func readChargeState(s *smartcar.Signal) (any, error) {
	v, err := s.Text()
	if err != nil {
		return nil, err
	}
	var c checker
	c.chargeState(v)
	return v, c.err
}

// chargeState is the state charge-ischarging implies: without
// charge-detailedchargingstatus a full battery reads NOT_CHARGING.
type chargeState string

func readIsCharging(s *smartcar.Signal) (any, error) {
	v, err := s.Bool()
	if err != nil {
		return nil, err
	}
	if v {
		return chargeState(events.ChargeStateCharging), nil
	}
	return chargeState(events.ChargeStateNotCharging), nil
}

func readChargeLimit(s *smartcar.Signal) (any, error) {
	var w struct {
		ActiveLimit *float64 `json:"activeLimit"`
		Unit        string   `json:"unit"`
	}
	if err := s.Decode(&w); err != nil {
		return nil, err
	}
	if w.ActiveLimit == nil {
		return nil, fmt.Errorf("no activeLimit")
	}
	f, err := smartcar.ChargeLimitsBody{ActiveLimit: *w.ActiveLimit, Unit: w.Unit}.Fraction()
	if err != nil {
		return nil, err
	}
	var c checker
	c.fraction("limit", f)
	return f, c.err
}

func readLocation(s *smartcar.Signal) (any, error) {
	var w locationWire
	if err := s.Decode(&w); err != nil {
		return nil, err
	}
	if w.Latitude == nil || w.Longitude == nil {
		return nil, fmt.Errorf("no latitude or longitude")
	}
	var c checker
	c.location(*w.Latitude, *w.Longitude)
	return events.LocationData{Latitude: *w.Latitude, Longitude: *w.Longitude}, c.err
}

func readTires(s *smartcar.Signal) (any, error) {
	var b smartcar.TiresBody
	if err := s.Decode(&b); err != nil {
		return nil, err
	}
	// Row 0 is the front axle, column 0 the left side.
	var d events.TirePressureData
	for _, t := range []struct {
		row, col int
		dst      *float64
		name     string
	}{{0, 0, &d.FrontLeftKPa, "frontLeft"}, {0, 1, &d.FrontRightKPa, "frontRight"},
		{1, 0, &d.BackLeftKPa, "backLeft"}, {1, 1, &d.BackRightKPa, "backRight"}} {
		p, ok := b.Kilopascals(t.row, t.col)
		if !ok {
			return nil, fmt.Errorf("no %s tire in unit %q", t.name, b.Unit)
		}
		*t.dst = p
	}
	return d, Check(d)
}

// closures is a door or window grid read from closure-doors or
// closure-windows.
type closures struct {
	list          []events.Closure
	rows, columns int
}

func readClosures(what string) reader {
	return func(s *smartcar.Signal) (any, error) {
		var w struct {
			Values []struct {
				Row      *int  `json:"row"`
				Column   *int  `json:"column"`
				IsOpen   *bool `json:"isOpen"`
				IsLocked *bool `json:"isLocked"`
			} `json:"values"`
			RowCount    int `json:"rowCount"`
			ColumnCount int `json:"columnCount"`
		}
		if err := s.Decode(&w); err != nil {
			return nil, err
		}
		if w.Values == nil {
			return nil, fmt.Errorf("no %s values", what)
		}
		c := closures{list: make([]events.Closure, 0, len(w.Values)), rows: w.RowCount, columns: w.ColumnCount}
		for i, v := range w.Values {
			if v.Row == nil || v.Column == nil || v.IsOpen == nil {
				return nil, fmt.Errorf("%s %d has no row, column or isOpen", what, i)
			}
			c.list = append(c.list, events.Closure{Row: *v.Row, Column: *v.Column, IsOpen: *v.IsOpen, IsLocked: v.IsLocked})
			// A body without the grid's size: the places say it.
			if w.RowCount == 0 {
				c.rows = max(c.rows, *v.Row+1)
			}
			if w.ColumnCount == 0 {
				c.columns = max(c.columns, *v.Column+1)
			}
		}
		var ck checker
		ck.closures(what, c.list, c.rows, c.columns)
		return c, ck.err
	}
}

// openings gives lock_status's list of closures c: a name per place
// (frontLeft, ... in a two-by-two grid, as v2 names them; else
// row<r>Column<c>) and OPEN or CLOSED.
func (c closures) openings() []events.Opening {
	out := make([]events.Opening, 0, len(c.list))
	for _, v := range c.list {
		status := events.OpeningClosed
		if v.IsOpen {
			status = events.OpeningOpen
		}
		out = append(out, events.Opening{Type: placeName(v.Row, v.Column, c.rows, c.columns), Status: status})
	}
	return out
}

func placeName(row, col, rows, cols int) string {
	if rows == 2 && cols == 2 {
		return [2][2]string{{"frontLeft", "frontRight"}, {"backLeft", "backRight"}}[row][col]
	}
	return "row" + strconv.Itoa(row) + "Column" + strconv.Itoa(col)
}

// generic is the item of the generic signal event of a v3 signal.
func generic(s *smartcar.Signal) (Item, error) {
	d := events.SignalData{Code: s.Code, Group: s.Group, Name: s.Name, Body: json.RawMessage(s.Body),
		RetrievedAt: utc(s.RetrievedAt), OEMUpdatedAt: utc(s.OEMUpdatedAt)}
	data := events.Data(d) // boxed once, for Check and the item
	if err := Check(data); err != nil {
		return Item{}, err
	}
	return Item{Signal: events.SignalGeneric, Data: data, Key: "signals/" + s.Code, Time: d.OEMUpdatedAt,
		FetchedAt: d.RetrievedAt}, nil
}
