package smartcartest

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
)

// signalDef is one API v3 signal the simulator serves. The v3 /signals
// endpoints and the v4 webhooks both build signals from these, from the
// same state the v2.0 endpoints read.
type signalDef struct {
	code, name, group string
	scope             string // v2.0 permission that covers it
	kinds             kinds  // powertrains that have it; 0 = all
	moves             moves  // what moves its oemUpdatedAt
	body              func(sc *signalCtx) any
}

// moves says when a signal's value changes, which is when the OEM's data
// for it is new (its oemUpdatedAt).
type moves uint8

const (
	whileDriving moves = iota // odometer, location, fuel: only on the road
	withBattery               // state of charge and charging: on the road and while charging
	always                    // drifts all the time (tires, 12 V battery)
	atEvents                  // changes at a park, a drive or a command (locks, limits)
)

// signalCtx is what a signal body reads: the state at t.
type signalCtx struct {
	v  *vehicle
	st simState // state at t
	t  float64  // simulated Unix seconds
}

// Signal bodies; field order is the JSON order.
type (
	scalarBody struct {
		Unit  string  `json:"unit"`
		Value float64 `json:"value"`
	}
	boolBody struct {
		Value bool `json:"value"`
	}
	stringBody struct {
		Value string `json:"value"`
	}
	locationBody struct {
		Latitude     float64 `json:"latitude"`
		Longitude    float64 `json:"longitude"`
		Heading      float64 `json:"heading"`
		Direction    string  `json:"direction"`
		LocationType string  `json:"locationType"`
	}
	closure struct {
		Row      int   `json:"row"`
		Column   int   `json:"column"`
		IsOpen   bool  `json:"isOpen"`
		IsLocked *bool `json:"isLocked,omitempty"`
	}
	closuresBody struct {
		Values      []closure `json:"values"`
		RowCount    int       `json:"rowCount"`
		ColumnCount int       `json:"columnCount"`
	}
	tire struct {
		Row          int     `json:"row"`
		Column       int     `json:"column"`
		TirePressure float64 `json:"tirePressure"`
	}
	tiresBody struct {
		Unit        string `json:"unit"`
		Values      []tire `json:"values"`
		RowCount    int    `json:"rowCount"`
		ColumnCount int    `json:"columnCount"`
	}
	chargeLimit struct {
		Type  string  `json:"type"`
		Limit float64 `json:"limit"`
	}
	chargeLimitsBody struct {
		ActiveLimit float64       `json:"activeLimit"`
		Unit        string        `json:"unit"`
		Values      []chargeLimit `json:"values"`
	}
)

// signalDefs are the signals by code, in code order (the order /signals
// lists them in).
var signalDefs = sortDefs([]*signalDef{
	{"odometer-traveleddistance", "TraveledDistance", "Odometer", "read_odometer", 0, whileDriving,
		func(sc *signalCtx) any {
			return scalarBody{"kilometers", round(sc.v.odometer(&sc.st), 2)}
		}},
	{"location-preciselocation", "PreciseLocation", "Location", "read_location", 0, whileDriving, bodyLocation},
	{"closure-islocked", "IsLocked", "Closure", "read_security", 0, atEvents,
		func(sc *signalCtx) any { return boolBody{sc.st.locked} }},
	{"closure-doors", "Doors", "Closure", "read_security", 0, atEvents, func(sc *signalCtx) any {
		return closures(&sc.st.locked)
	}},
	{"closure-windows", "Windows", "Closure", "read_security", 0, atEvents, func(sc *signalCtx) any {
		return closures(nil)
	}},
	{"wheel-tires", "Tires", "Wheel", "read_tires", 0, always, bodyTires},
	{"connectivitystatus-isonline", "IsOnline", "ConnectivityStatus", "read_vehicle_info", 0, atEvents,
		func(sc *signalCtx) any { return boolBody{!sc.st.asleep} }},
	{"connectivitystatus-isasleep", "IsAsleep", "ConnectivityStatus", "read_vehicle_info", 0, atEvents,
		func(sc *signalCtx) any { return boolBody{sc.st.asleep} }},
	{"transmission-gearstate", "GearState", "Transmission", "read_vehicle_info", 0, whileDriving,
		func(sc *signalCtx) any {
			if sc.st.driving {
				return stringBody{"D"}
			}
			return stringBody{"P"}
		}},
	{"lowvoltagebattery-stateofcharge", "StateOfCharge", "LowVoltageBattery", "read_battery", 0, always,
		func(sc *signalCtx) any {
			// Topped up while driving, drains slowly while parked.
			v := 95.0
			if !sc.st.driving {
				v = math.Max(70, 95-0.5*(sc.st.dataTime()-sc.st.since)/3600)
			}
			return scalarBody{"percent", round(v, 1)}
		}},
	{"vehicleidentification-vin", "VIN", "VehicleIdentification", "read_vin", 0, atEvents,
		func(sc *signalCtx) any { return stringBody{sc.v.VIN} }},

	{"tractionbattery-stateofcharge", "StateOfCharge", "TractionBattery", "read_battery", electric, withBattery,
		func(sc *signalCtx) any { return scalarBody{"percent", round(sc.st.soc*100, 2)} }},
	{"tractionbattery-range", "Range", "TractionBattery", "read_battery", electric, withBattery,
		func(sc *signalCtx) any { return scalarBody{"kilometers", round(sc.v.batteryRange(&sc.st), 1)} }},
	{"tractionbattery-nominalcapacity", "NominalCapacity", "TractionBattery", "read_battery", electric, atEvents,
		func(sc *signalCtx) any { return scalarBody{"kilowattHours", round(sc.v.h.capacity, 1)} }},
	{"charge-ischarging", "IsCharging", "Charge", "read_charge", electric, withBattery,
		func(sc *signalCtx) any { return boolBody{sc.st.charging} }},
	{"charge-ischargingcableconnected", "IsChargingCableConnected", "Charge", "read_charge", electric, atEvents,
		func(sc *signalCtx) any { return boolBody{sc.st.plugged} }},
	{"charge-detailedchargingstatus", "DetailedChargingStatus", "Charge", "read_charge", electric, withBattery,
		func(sc *signalCtx) any { return stringBody{chargeState(sc.v.Kind, &sc.st)} }},
	{"charge-chargelimits", "ChargeLimits", "Charge", "read_charge", electric, atEvents, func(sc *signalCtx) any {
		pct := round(sc.st.limit*100, 2)
		return chargeLimitsBody{ActiveLimit: pct, Unit: "percent", Values: []chargeLimit{{"GLOBAL", pct}}}
	}},
	{"charge-chargerate", "ChargeRate", "Charge", "read_charge", electric, withBattery, func(sc *signalCtx) any {
		rate := 0.0
		if sc.st.charging {
			rate = round(sc.st.power, 1)
		}
		return scalarBody{"kilowatts", rate}
	}},
	{"charge-timetocomplete", "TimeToComplete", "Charge", "read_charge", electric, withBattery,
		func(sc *signalCtx) any {
			// The car's estimate: off by up to 10% either way, session by session.
			minutes := 0.0
			if st := &sc.st; st.charging {
				minutes = math.Ceil((st.target() - st.soc) * sc.v.h.capacity / st.power * 60 * st.eta)
			}
			return scalarBody{"minutes", minutes}
		}},

	{"internalcombustionengine-fuellevel", "FuelLevel", "InternalCombustionEngine", "read_fuel", burning,
		whileDriving, func(sc *signalCtx) any { return scalarBody{"percent", round(sc.st.fuel*100, 2)} }},
	{"internalcombustionengine-amountremaining", "AmountRemaining", "InternalCombustionEngine", "read_fuel",
		burning, whileDriving, func(sc *signalCtx) any {
			return scalarBody{"liters", round(sc.st.fuel*sc.v.h.tank, 2)}
		}},
	{"internalcombustionengine-range", "Range", "InternalCombustionEngine", "read_fuel", burning, whileDriving,
		func(sc *signalCtx) any { return scalarBody{"kilometers", round(sc.v.fuelRange(&sc.st), 1)} }},
	{"internalcombustionengine-oillife", "OilLife", "InternalCombustionEngine", "read_engine_oil", burning,
		whileDriving, func(sc *signalCtx) any {
			used := math.Mod(sc.v.odometer(&sc.st)-sc.v.lastService, sc.v.oilInterval)
			return scalarBody{"percent", round((1-used/sc.v.oilInterval)*100, 0)}
		}},
})

var signalByCode = func() map[string]*signalDef {
	m := make(map[string]*signalDef, len(signalDefs))
	for _, d := range signalDefs {
		m[d.code] = d
	}
	return m
}()

// SignalCodes returns the codes of every API v3 signal the simulator
// serves, in code order. A vehicle whose powertrain lacks one answers it as
// an ERROR signal with COMPATIBILITY:VEHICLE_NOT_CAPABLE.
func SignalCodes() []string {
	out := make([]string, len(signalDefs))
	for i, d := range signalDefs {
		out[i] = d.code
	}
	return out
}

func sortDefs(defs []*signalDef) []*signalDef {
	slices.SortFunc(defs, func(a, b *signalDef) int {
		switch {
		case a.code < b.code:
			return -1
		case a.code > b.code:
			return 1
		}
		return 0
	})
	return defs
}

func closures(locked *bool) closuresBody {
	b := closuresBody{RowCount: 2, ColumnCount: 2}
	for row := range 2 {
		for col := range 2 {
			b.Values = append(b.Values, closure{Row: row, Column: col, IsLocked: locked})
		}
	}
	return b
}

func bodyLocation(sc *signalCtx) any {
	heading := sc.st.heading
	dirs := [...]string{"N", "NE", "E", "SE", "S", "SW", "W", "NW"}
	return locationBody{Latitude: round(sc.st.pos[0], 6), Longitude: round(sc.st.pos[1], 6), Heading: round(heading, 1),
		Direction: dirs[int(math.Round(heading/45))%8], LocationType: "CURRENT"}
}

func bodyTires(sc *signalCtx) any {
	// The same pressures as /tires/pressure: they breathe with the time of day.
	wave := tireWave(&sc.st)
	b := tiresBody{Unit: "kilopascals", RowCount: 2, ColumnCount: 2}
	for i, p := range sc.v.tires {
		b.Values = append(b.Values, tire{Row: i / 2, Column: i % 2, TirePressure: round(p+wave, 1)})
	}
	return b
}

// tireWave is how far tire pressures are off their base at the data's time.
func tireWave(st *simState) float64 {
	return 3 * math.Sin(2*math.Pi*st.dataTime()/secondsInDay)
}

// changedAt is the simulated second the value of a signal that moves like
// m last changed. A sleeping vehicle's data is frozen when it fell asleep.
func (sc *signalCtx) changedAt(m moves) float64 {
	st := &sc.st
	switch {
	case m == always:
		return st.dataTime()
	case st.driving && m != atEvents:
		return sc.t
	case m == whileDriving:
		return st.moved
	case m == withBattery && st.charging:
		return sc.t
	case m == withBattery:
		return st.battery
	}
	return st.event
}

// signal is one built signal: a body, or the error that stands in for it.
type signal struct {
	def          *signalDef
	body         any
	err          *apiError
	retrievedAt  int64 // epoch ms
	oemUpdatedAt int64 // epoch ms
}

// buildSignals builds the signals of defs for v at clock time now. scopes
// nil means every permission; a signal outside scopes is a PERMISSION error.
func (s *Server) buildSignals(v *vehicle, now time.Time, defs []*signalDef, scopes map[string]bool) []signal {
	t := s.simSeconds(now)
	sc := signalCtx{v: v, st: v.read(t), t: t}
	retrieved := now.UnixMilli()
	newest := now.Add(-v.lag)
	out := make([]signal, len(defs))
	for i, d := range defs {
		sg := signal{def: d, retrievedAt: retrieved}
		switch {
		case !v.capable(d.kinds):
			sg.err = newError("COMPATIBILITY", "VEHICLE_NOT_CAPABLE")
		case scopes != nil && !scopes[d.scope]:
			sg.err = newError("PERMISSION", "")
		default:
			sg.body = d.body(&sc)
			at := s.clockAt(sc.changedAt(d.moves))
			if at.After(newest) {
				at = newest
			}
			sg.oemUpdatedAt = at.UnixMilli()
		}
		out[i] = sg
	}
	return out
}

// Wire forms of a signal.
type (
	signalStatus struct {
		Value string         `json:"value"`
		Error *signalErrBody `json:"error,omitempty"`
	}
	signalErrBody struct {
		Type        string  `json:"type"`
		Code        *string `json:"code"`
		Description string  `json:"description,omitempty"`
	}
	signalMeta struct {
		RetrievedAt  int64 `json:"retrievedAt"`
		OEMUpdatedAt int64 `json:"oemUpdatedAt,omitempty"`
	}
	// signalResource is a signal of the v3 API.
	signalResource struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Attributes struct {
			Code   string       `json:"code"`
			Name   string       `json:"name"`
			Group  string       `json:"group"`
			Status signalStatus `json:"status"`
			Body   any          `json:"body,omitempty"`
		} `json:"attributes"`
		Meta  signalMeta        `json:"meta"`
		Links map[string]string `json:"links"`
	}
	// webhookSignal is a signal of a v4 VEHICLE_STATE webhook.
	webhookSignal struct {
		Code   string        `json:"code"`
		Name   string        `json:"name"`
		Group  string        `json:"group"`
		Body   any           `json:"body,omitempty"`
		Status *signalStatus `json:"status,omitempty"`
		Meta   signalMeta    `json:"meta"`
	}
)

func (sg *signal) status() signalStatus {
	if sg.err == nil {
		return signalStatus{Value: "SUCCESS"}
	}
	e := &signalErrBody{Type: sg.err.Type, Description: sg.err.Description}
	if sg.err.Code != "" {
		e.Code = &sg.err.Code
	}
	return signalStatus{Value: "ERROR", Error: e}
}

func (sg *signal) resource(vehicleID string) signalResource {
	var r signalResource
	r.ID, r.Type = sg.def.code, "signal"
	r.Attributes.Code, r.Attributes.Name, r.Attributes.Group = sg.def.code, sg.def.name, sg.def.group
	r.Attributes.Status = sg.status()
	r.Attributes.Body = sg.body
	r.Meta = signalMeta{RetrievedAt: sg.retrievedAt, OEMUpdatedAt: sg.oemUpdatedAt}
	r.Links = map[string]string{"self": "/vehicles/" + vehicleID + "/signals/" + sg.def.code}
	return r
}

func (sg *signal) webhook() webhookSignal {
	w := webhookSignal{Code: sg.def.code, Name: sg.def.name, Group: sg.def.group, Body: sg.body,
		Meta: signalMeta{RetrievedAt: sg.retrievedAt, OEMUpdatedAt: sg.oemUpdatedAt}}
	if sg.err != nil {
		st := sg.status()
		w.Status = &st
	}
	return w
}

// bodyJSON is the signal's body (or error) as JSON, to tell changes apart.
func (sg *signal) bodyJSON() string {
	var b []byte
	if sg.err != nil {
		b = []byte(sg.err.outcome())
	} else {
		b, _ = json.Marshal(sg.body) // bodies are plain structs: cannot fail
	}
	return string(b)
}

// defsOf returns the definitions of codes, skipping unknown ones.
func defsOf(codes []string) []*signalDef {
	out := make([]*signalDef, 0, len(codes))
	for _, c := range codes {
		if d := signalByCode[c]; d != nil {
			out = append(out, d)
		}
	}
	return out
}

// webhookSignals builds the v4 webhook signals of codes.
func (s *Server) webhookSignals(v *vehicle, now time.Time, codes []string) []webhookSignal {
	sigs := s.buildSignals(v, now, defsOf(codes), nil)
	out := make([]webhookSignal, len(sigs))
	for i := range sigs {
		out[i] = sigs[i].webhook()
	}
	return out
}

// vehicleResource is the v3 vehicle: GET /v3/vehicles/{id} and the
// included vehicle of /signals.
type vehicleResource struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Attributes struct {
		Make  string `json:"make"`
		Model string `json:"model"`
		Year  int    `json:"year"`
	} `json:"attributes"`
	Links map[string]string `json:"links"`
}

func (v *vehicle) resource() vehicleResource {
	var r vehicleResource
	r.ID, r.Type = v.ID, "vehicle"
	r.Attributes.Make, r.Attributes.Model, r.Attributes.Year = v.Make, v.Model, v.Year
	r.Links = map[string]string{"self": "/vehicles/" + v.ID}
	return r
}

// itoa is strconv.Itoa, for building links.
func itoa(n int) string { return strconv.Itoa(n) }
