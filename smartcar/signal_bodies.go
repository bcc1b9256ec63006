package smartcar

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
)

// Signal codes whose bodies the typed decoders below read.
const (
	SignalOdometer               = "odometer-traveleddistance"
	SignalLocation               = "location-preciselocation"
	SignalIsLocked               = "closure-islocked"
	SignalDoors                  = "closure-doors"
	SignalWindows                = "closure-windows"
	SignalTires                  = "wheel-tires"
	SignalIsOnline               = "connectivitystatus-isonline"
	SignalIsAsleep               = "connectivitystatus-isasleep"
	SignalGearState              = "transmission-gearstate"
	SignalLowVoltageSoC          = "lowvoltagebattery-stateofcharge"
	SignalVIN                    = "vehicleidentification-vin"
	SignalStateOfCharge          = "tractionbattery-stateofcharge"
	SignalBatteryRange           = "tractionbattery-range"
	SignalNominalCapacity        = "tractionbattery-nominalcapacity"
	SignalIsCharging             = "charge-ischarging"
	SignalIsChargingCable        = "charge-ischargingcableconnected"
	SignalDetailedChargingStatus = "charge-detailedchargingstatus"
	SignalChargeLimits           = "charge-chargelimits"
	SignalChargeRate             = "charge-chargerate"
	SignalFuelLevel              = "internalcombustionengine-fuellevel"
	SignalFuelAmount             = "internalcombustionengine-amountremaining"
	SignalFuelRange              = "internalcombustionengine-range"
	SignalOilLife                = "internalcombustionengine-oillife"
)

// Conversion factors to metric units.
const (
	kmPerMile      = 1.609344
	kPaPerPSI      = 6.894757293168361
	kPaPerBar      = 100
	litersPerUSGal = 3.785411784
)

// ScalarBody is a {unit, value} signal body: odometer, ranges, state of
// charge, fuel level, capacities, charge rate. A state of charge sent as
// {"percentage": 75} reads as {unit: "percent", value: 75}. A body without a
// numeric value does not decode.
type ScalarBody struct {
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
}

// scalarWire is every form of a scalar body. A number absent (or null)
// stays NaN, which JSON cannot carry: newScalarWire starts with both NaN.
type scalarWire struct {
	Unit       string  `json:"unit"`
	Value      float64 `json:"value"`
	Percentage float64 `json:"percentage"`
}

func newScalarWire() scalarWire { return scalarWire{Value: math.NaN(), Percentage: math.NaN()} }

var errNoScalar = errors.New("smartcar: scalar signal body has no numeric value")

func (w *scalarWire) scalar() (ScalarBody, error) {
	switch {
	case !math.IsNaN(w.Value):
		return ScalarBody{Unit: w.Unit, Value: w.Value}, nil
	case !math.IsNaN(w.Percentage):
		return ScalarBody{Unit: "percent", Value: w.Percentage}, nil
	}
	return ScalarBody{}, errNoScalar
}

// UnmarshalJSON reads {unit, value} or {percentage}.
func (s *ScalarBody) UnmarshalJSON(b []byte) error {
	w := newScalarWire()
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	v, err := w.scalar()
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// unitError is a body in a unit a conversion does not know.
func unitError(unit, want string) error {
	return &Error{Type: TypeSDK, Code: "UNIT", Description: "cannot convert " + snippet([]byte(unit)) + " to " + want}
}

func unitIs(unit string, names ...string) bool {
	for _, n := range names {
		if strings.EqualFold(unit, n) {
			return true
		}
	}
	return false
}

// Kilometers returns a distance in km; miles and meters are converted.
func (s ScalarBody) Kilometers() (float64, error) {
	switch {
	case unitIs(s.Unit, "kilometers", "kilometres", "km"):
		return s.Value, nil
	case unitIs(s.Unit, "miles", "mi"):
		return s.Value * kmPerMile, nil
	case unitIs(s.Unit, "meters", "metres", "m"):
		return s.Value / 1000, nil
	}
	return 0, unitError(s.Unit, "kilometers")
}

// Kilopascals returns a pressure in kPa; psi and bar are converted.
func (s ScalarBody) Kilopascals() (float64, error) { return kilopascals(s.Unit, s.Value) }

func kilopascals(unit string, v float64) (float64, error) {
	switch {
	case unitIs(unit, "kilopascals", "kpa"):
		return v, nil
	case unitIs(unit, "psi"):
		return v * kPaPerPSI, nil
	case unitIs(unit, "bar"):
		return v * kPaPerBar, nil
	}
	return 0, unitError(unit, "kilopascals")
}

// Liters returns a volume in liters; US gallons are converted.
func (s ScalarBody) Liters() (float64, error) {
	switch {
	case unitIs(s.Unit, "liters", "litres", "l"):
		return s.Value, nil
	case unitIs(s.Unit, "gallons", "gal"):
		return s.Value * litersPerUSGal, nil
	}
	return 0, unitError(s.Unit, "liters")
}

// Fraction returns a percentage (0-100) as a fraction (0-1), the form of
// the v2 API's percentRemaining and charge limit. 76.82 percent is 0.7682,
// the number v2 would send, not 76.82/100 (0.7681999999999999).
func (s ScalarBody) Fraction() (float64, error) {
	if !unitIs(s.Unit, "percent", "percentage", "%") {
		return 0, unitError(s.Unit, "a fraction")
	}
	return percentToFraction(s.Value), nil
}

// percentToFraction divides v by 100 in decimal: the shortest decimal form
// of v with its point moved two places, so that the result is the float64
// closest to that decimal.
func percentToFraction(v float64) float64 {
	if v == 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return v / 100
	}
	b := strconv.AppendFloat(make([]byte, 0, 32), v, 'e', -1, 64) // d.ddde±XX
	i := bytes.LastIndexByte(b, 'e')
	exp, err := strconv.Atoi(string(b[i+1:]))
	if err != nil {
		return v / 100
	}
	b = strconv.AppendInt(b[:i+1], int64(exp-2), 10)
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return v / 100
	}
	return f
}

// Metric returns the value in the metric unit of its quantity: miles become
// kilometers, psi and bar kilopascals, gallons liters; any other unit
// (percent, kilowattHours, kilowatts) is returned as it is.
func (s ScalarBody) Metric() ScalarBody {
	if v, err := s.Kilometers(); err == nil && !unitIs(s.Unit, "kilometers") {
		return ScalarBody{Unit: "kilometers", Value: v}
	}
	if v, err := s.Kilopascals(); err == nil && !unitIs(s.Unit, "kilopascals") {
		return ScalarBody{Unit: "kilopascals", Value: v}
	}
	if v, err := s.Liters(); err == nil && !unitIs(s.Unit, "liters") {
		return ScalarBody{Unit: "liters", Value: v}
	}
	return s
}

// BoolBody is a {"value": true} signal body (closure-islocked,
// charge-ischarging, connectivitystatus-isonline, ...).
type BoolBody struct {
	Value bool `json:"value"`
}

// TextBody is a {"value": "..."} signal body: an enum
// (charge-detailedchargingstatus CHARGING | NOT_CHARGING | FULLY_CHARGED,
// transmission-gearstate P | R | N | D) or a string (the VIN).
type TextBody struct {
	Value string `json:"value"`
}

// LocationBody is the body of location-preciselocation.
type LocationBody struct {
	Latitude     float64 `json:"latitude"`
	Longitude    float64 `json:"longitude"`
	Heading      float64 `json:"heading"`
	Direction    string  `json:"direction"`    // "NE"
	LocationType string  `json:"locationType"` // "CURRENT"
}

// Closure is one door or window: its position in the grid and its state.
// IsLocked is nil for windows.
type Closure struct {
	Row      int   `json:"row"`
	Column   int   `json:"column"`
	IsOpen   bool  `json:"isOpen"`
	IsLocked *bool `json:"isLocked"`
}

// ClosuresBody is the body of closure-doors and closure-windows.
type ClosuresBody struct {
	Values      []Closure `json:"values"`
	RowCount    int       `json:"rowCount"`
	ColumnCount int       `json:"columnCount"`
}

// AnyOpen reports whether any door or window is open.
func (c ClosuresBody) AnyOpen() bool {
	for _, v := range c.Values {
		if v.IsOpen {
			return true
		}
	}
	return false
}

// Tire is the pressure of one tire, in the unit of its TiresBody.
type Tire struct {
	Row          int     `json:"row"`
	Column       int     `json:"column"`
	TirePressure float64 `json:"tirePressure"`
}

// TiresBody is the body of wheel-tires; row 0 is the front axle, column 0
// the left side.
type TiresBody struct {
	Unit        string `json:"unit"`
	Values      []Tire `json:"values"`
	RowCount    int    `json:"rowCount"`
	ColumnCount int    `json:"columnCount"`
}

// Kilopascals returns the pressure of the tire at row and column in kPa
// (psi and bar are converted); ok is false when there is no such tire or the
// unit is unknown.
func (t TiresBody) Kilopascals(row, column int) (kPa float64, ok bool) {
	for _, v := range t.Values {
		if v.Row == row && v.Column == column {
			p, err := kilopascals(t.Unit, v.TirePressure)
			return p, err == nil
		}
	}
	return 0, false
}

// ChargeLimitValue is one configured charge limit (type GLOBAL, or per
// location), in the unit of its ChargeLimitsBody.
type ChargeLimitValue struct {
	Type  string  `json:"type"`
	Limit float64 `json:"limit"`
}

// ChargeLimitsBody is the body of charge-chargelimits.
type ChargeLimitsBody struct {
	ActiveLimit float64            `json:"activeLimit"`
	Unit        string             `json:"unit"`
	Values      []ChargeLimitValue `json:"values"`
}

// Fraction returns the active limit as a fraction (80 percent is 0.8), the
// form of the v2 API's charge limit. A limit already at most 1 with no unit
// is taken as a fraction.
func (c ChargeLimitsBody) Fraction() (float64, error) {
	switch {
	case unitIs(c.Unit, "percent", "percentage", "%"), c.Unit == "" && c.ActiveLimit > 1:
		return percentToFraction(c.ActiveLimit), nil
	case c.Unit == "" || unitIs(c.Unit, "fraction"):
		return c.ActiveLimit, nil
	}
	return 0, unitError(c.Unit, "a fraction")
}

// Scalar decodes the signal's {unit, value} body (or returns its error).
func (s *Signal) Scalar() (ScalarBody, error) {
	w := newScalarWire()
	if err := s.Decode(&w); err != nil {
		return ScalarBody{}, err
	}
	b, err := w.scalar()
	if err != nil {
		return ScalarBody{}, &Error{Type: TypeSDK, Code: "INVALID_RESPONSE",
			Description: "signal " + snippet([]byte(s.Code)) + " has no numeric value", Err: err}
	}
	return b, nil
}

// Bool decodes the signal's {"value": bool} body (or returns its error).
func (s *Signal) Bool() (bool, error) {
	// Named as the public body so that a decode error reads the same; the
	// pointer tells a missing or null value from false in the same pass.
	type BoolBody struct {
		Value *bool `json:"value"`
	}
	var b BoolBody
	if err := s.Decode(&b); err != nil {
		return false, err
	}
	if b.Value == nil {
		return false, s.noValue()
	}
	return *b.Value, nil
}

// Text decodes the signal's {"value": "..."} body (or returns its error).
func (s *Signal) Text() (string, error) {
	type TextBody struct { // see Bool
		Value *string `json:"value"`
	}
	var b TextBody
	if err := s.Decode(&b); err != nil {
		return "", err
	}
	if b.Value == nil {
		return "", s.noValue()
	}
	return *b.Value, nil
}

// noValue is the error of a {"value": ...} body without a value (missing or
// null).
func (s *Signal) noValue() error {
	return &Error{Type: TypeSDK, Code: "INVALID_RESPONSE", Description: "signal " + snippet([]byte(s.Code)) + " has no value"}
}
