package smartcartest

import (
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"time"
)

// reading is what a GET endpoint renders from.
type reading struct {
	s     *Server
	v     *vehicle
	st    *simState
	u     units
	now   time.Time  // server clock
	query url.Values // nil inside a batch
}

// endpoint is a GET vehicle endpoint.
type endpoint struct {
	scope  string
	kinds  kinds // capable powertrains; 0 = all
	data   bool  // has SC-Data-Age / SC-Fetched-At
	render func(rd *reading) ([]byte, *apiError)
}

// endpoints are the GET vehicle endpoints of API v2.0 by path, with the
// permission each needs (https://smartcar.com/docs/api-reference).
var endpoints = map[string]*endpoint{
	"/":                          {scope: "read_vehicle_info", render: renderInfo},
	"/vin":                       {scope: "read_vin", render: renderVIN},
	"/odometer":                  {scope: "read_odometer", data: true, render: renderOdometer},
	"/location":                  {scope: "read_location", data: true, render: renderLocation},
	"/battery":                   {scope: "read_battery", kinds: electric, data: true, render: renderBattery},
	"/battery/capacity":          {scope: "read_battery", kinds: electric, data: true, render: renderCapacity},
	"/battery/nominal_capacity":  {scope: "read_battery", kinds: electric, data: true, render: renderNominalCapacity},
	"/charge":                    {scope: "read_charge", kinds: electric, data: true, render: renderCharge},
	"/charge/limit":              {scope: "read_charge", kinds: electric, data: true, render: renderChargeLimit},
	"/fuel":                      {scope: "read_fuel", kinds: burning, data: true, render: renderFuel},
	"/tires/pressure":            {scope: "read_tires", data: true, render: renderTires},
	"/engine/oil":                {scope: "read_engine_oil", kinds: burning, data: true, render: renderOil},
	"/security":                  {scope: "read_security", data: true, render: renderSecurity},
	"/service/history":           {scope: "read_service_history", data: true, render: renderServiceHistory},
	"/diagnostics/system_status": {scope: "read_diagnostics", data: true, render: renderSystemStatus},
	"/diagnostics/dtcs":          {scope: "read_diagnostics", data: true, render: renderDTCs},
}

func renderInfo(rd *reading) ([]byte, *apiError) {
	b := make([]byte, 0, 128)
	b = append(b, `{"id":`...)
	b = strconv.AppendQuote(b, rd.v.ID)
	b = append(b, `,"make":`...)
	b = strconv.AppendQuote(b, rd.v.Make)
	b = append(b, `,"model":`...)
	b = strconv.AppendQuote(b, rd.v.Model)
	b = append(b, `,"year":`...)
	b = strconv.AppendInt(b, int64(rd.v.Year), 10)
	return append(b, '}'), nil
}

func renderVIN(rd *reading) ([]byte, *apiError) {
	return []byte(`{"vin":"` + rd.v.VIN + `"}`), nil
}

func renderOdometer(rd *reading) ([]byte, *apiError) {
	b := make([]byte, 0, 32)
	b = append(b, `{"distance":`...)
	b = appendNum(b, rd.u.distance(rd.v.odometer(rd.st)), 2)
	return append(b, '}'), nil
}

func renderLocation(rd *reading) ([]byte, *apiError) {
	lat, lon := rd.st.pos[0], rd.st.pos[1]
	b := make([]byte, 0, 48)
	b = append(b, `{"latitude":`...)
	b = appendNum(b, lat, 6)
	b = append(b, `,"longitude":`...)
	b = appendNum(b, lon, 6)
	return append(b, '}'), nil
}

func renderBattery(rd *reading) ([]byte, *apiError) {
	b := make([]byte, 0, 48)
	b = append(b, `{"percentRemaining":`...)
	b = appendNum(b, rd.st.soc, 4)
	b = append(b, `,"range":`...)
	b = appendNum(b, rd.u.distance(rd.v.batteryRange(rd.st)), 1)
	return append(b, '}'), nil
}

func renderCapacity(rd *reading) ([]byte, *apiError) {
	return []byte(`{"capacity":` + string(appendNum(nil, rd.v.h.capacity, 1)) + `}`), nil
}

func renderNominalCapacity(rd *reading) ([]byte, *apiError) {
	c := math.Round(rd.v.h.capacity*10) / 10
	return marshal(map[string]any{
		"availableCapacities": []map[string]any{{"capacity": c, "description": nil}},
		"capacity":            map[string]any{"nominal": c, "source": "SMARTCAR"},
		"url":                 nil,
	})
}

func renderCharge(rd *reading) ([]byte, *apiError) {
	return []byte(`{"isPluggedIn":` + strconv.FormatBool(rd.st.plugged) +
		`,"state":"` + chargeState(rd.v.Kind, rd.st) + `"}`), nil
}

func renderChargeLimit(rd *reading) ([]byte, *apiError) {
	return []byte(`{"limit":` + string(appendNum(nil, rd.st.limit, 2)) + `}`), nil
}

func renderFuel(rd *reading) ([]byte, *apiError) {
	b := make([]byte, 0, 64)
	b = append(b, `{"amountRemaining":`...)
	b = appendNum(b, rd.u.volume(rd.st.fuel*rd.v.h.tank), 2)
	b = append(b, `,"percentRemaining":`...)
	b = appendNum(b, rd.st.fuel, 4)
	b = append(b, `,"range":`...)
	b = appendNum(b, rd.u.distance(rd.v.fuelRange(rd.st)), 1)
	return append(b, '}'), nil
}

func renderTires(rd *reading) ([]byte, *apiError) {
	// Pressure breathes a little with the time of day.
	wave := tireWave(rd.st)
	b := make([]byte, 0, 96)
	for i, name := range []string{`{"frontLeft":`, `,"frontRight":`, `,"backLeft":`, `,"backRight":`} {
		b = append(b, name...)
		b = appendNum(b, rd.u.pressure(rd.v.tires[i]+wave), 1)
	}
	return append(b, '}'), nil
}

func renderOil(rd *reading) ([]byte, *apiError) {
	used := math.Mod(rd.v.odometer(rd.st)-rd.v.lastService, rd.v.oilInterval)
	return []byte(`{"lifeRemaining":` + string(appendNum(nil, 1-used/rd.v.oilInterval, 2)) + `}`), nil
}

type typedStatus struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

func renderSecurity(rd *reading) ([]byte, *apiError) {
	closed := func(types ...string) []typedStatus {
		out := make([]typedStatus, len(types))
		for i, t := range types {
			out[i] = typedStatus{t, "CLOSED"}
		}
		return out
	}
	port := []typedStatus{}
	if rd.v.Kind != ICE {
		status := "CLOSED"
		if rd.st.plugged {
			status = "OPEN"
		}
		port = append(port, typedStatus{"chargingPort", status})
	}
	return marshal(struct {
		IsLocked     bool          `json:"isLocked"`
		Doors        []typedStatus `json:"doors"`
		Windows      []typedStatus `json:"windows"`
		Sunroof      []typedStatus `json:"sunroof"`
		Storage      []typedStatus `json:"storage"`
		ChargingPort []typedStatus `json:"chargingPort"`
	}{
		IsLocked:     rd.st.locked,
		Doors:        closed("frontLeft", "frontRight", "backLeft", "backRight"),
		Windows:      closed("frontLeft", "frontRight", "backLeft", "backRight"),
		Sunroof:      closed("sunroof"),
		Storage:      closed("front", "rear"),
		ChargingPort: port,
	})
}

func renderSystemStatus(rd *reading) ([]byte, *apiError) {
	type system struct {
		SystemID    string  `json:"systemId"`
		Status      string  `json:"status"`
		Description *string `json:"description"`
	}
	systems := []system{{"SYSTEM_AIRBAG", "OK", nil}, {"SYSTEM_ABS", "OK", nil}, {"SYSTEM_TPMS", "OK", nil}}
	if rd.v.alert {
		d := "Left rear tire sensor battery low"
		systems[2] = system{"SYSTEM_TPMS", "ALERT", &d}
	}
	if rd.v.Kind != ICE {
		systems = append(systems, system{"SYSTEM_EV_BATTERY", "OK", nil})
	}
	return marshal(map[string]any{"systems": systems})
}

func renderDTCs(rd *reading) ([]byte, *apiError) {
	type dtc struct {
		Code      string  `json:"code"`
		Timestamp *string `json:"timestamp"`
	}
	codes := []dtc{}
	if rd.v.alert {
		ts := rd.s.start.Add(-36 * time.Hour).UTC().Format(timeLayout)
		codes = append(codes, dtc{"C0750", &ts})
	}
	return marshal(map[string]any{"activeCodes": codes})
}

type serviceRecord struct {
	ServiceID        int               `json:"serviceId"`
	ServiceDate      string            `json:"serviceDate"`
	OdometerDistance float64           `json:"odometerDistance"`
	ServiceTasks     []serviceTask     `json:"serviceTasks"`
	ServiceDetails   map[string]string `json:"serviceDetails"`
	ServiceCost      serviceCost       `json:"serviceCost"`
}

type serviceTask struct {
	TaskID          int    `json:"taskId"`
	TaskDescription string `json:"taskDescription"`
}

type serviceCost struct {
	TotalCost float64 `json:"totalCost"`
	Currency  string  `json:"currency"`
}

// renderServiceHistory lists a service every oilInterval km, dated by the
// vehicle's average daily distance, filtered by start/end date (both
// spellings; default the last 12 months).
func renderServiceHistory(rd *reading) ([]byte, *apiError) {
	simNow := rd.s.simTime(rd.now)
	from, to := simNow.AddDate(-1, 0, 0), simNow
	for _, names := range [][2]string{{"startDate", "start_date"}, {"endDate", "end_date"}} {
		raw := rd.query.Get(names[0])
		if raw == "" {
			raw = rd.query.Get(names[1])
		}
		if raw == "" {
			continue
		}
		t, err := parseDate(raw)
		if err != nil {
			return nil, validationError(names[0], "must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS.SSSZ")
		}
		if names[0] == "startDate" {
			from = t
		} else {
			to = t
		}
	}
	kmPerDay := rd.v.h.kmPerDay
	odo := rd.v.odometer(rd.st)
	out := []serviceRecord{}
	for n := 1; float64(n)*rd.v.oilInterval <= odo; n++ {
		km := float64(n) * rd.v.oilInterval
		date := unixTime(rd.s.simStart + (km-rd.v.odo0)/kmPerDay*secondsInDay).Truncate(time.Minute)
		if date.Before(from) || date.After(to) || date.After(simNow) {
			continue
		}
		task := "tire rotation"
		if rd.v.Kind != BEV {
			task = "oil change"
		}
		out = append(out, serviceRecord{
			ServiceID:        rd.v.index*1000 + n,
			ServiceDate:      date.UTC().Format(timeLayout),
			OdometerDistance: math.Round(rd.u.distance(km)),
			ServiceTasks:     []serviceTask{{TaskID: n, TaskDescription: task}},
			ServiceDetails:   map[string]string{"type": "dealership"},
			ServiceCost:      serviceCost{TotalCost: 100 + float64(n%3)*25, Currency: "USD"},
		})
	}
	return marshal(out)
}

func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}

// marshal encodes a response body; the bodies here cannot fail to encode.
func marshal(v any) ([]byte, *apiError) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, newError("SERVER", "INTERNAL")
	}
	return b, nil
}
