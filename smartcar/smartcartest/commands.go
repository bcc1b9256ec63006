package smartcartest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// command is a POST vehicle endpoint that changes the vehicle.
type command struct {
	scope string
	kinds kinds
	// apply validates body and changes st; it runs under the vehicle's lock.
	apply func(v *vehicle, st *simState, body map[string]json.RawMessage) *apiError
}

var commands = map[string]*command{
	"/charge":                 {scope: "control_charge", kinds: electric, apply: applyCharge},
	"/charge/limit":           {scope: "control_charge", kinds: electric, apply: applyChargeLimit},
	"/security":               {scope: "control_security", apply: applySecurity},
	"/navigation/destination": {scope: "control_navigation", apply: applyDestination},
}

var actionOK = []byte(`{"status":"success","message":"Successfully sent request to vehicle"}`)

func (s *Server) handleCommand(c *call, g *grant, v *vehicle, cmd *command) {
	if !g.scopes[cmd.scope] {
		c.fail(newError("PERMISSION", ""))
		return
	}
	if !v.capable(cmd.kinds) {
		c.fail(newError("COMPATIBILITY", "VEHICLE_NOT_CAPABLE"))
		return
	}
	var body map[string]json.RawMessage
	if err := readJSON(c.r, &body); err != nil {
		c.fail(err)
		return
	}
	if !s.admitVehicle(c, v, true) || s.fault(c, v.ID) {
		return
	}
	if err := v.change(s.simSeconds(c.now), func(st *simState) *apiError { return cmd.apply(v, st, body) }); err != nil {
		c.fail(err)
		return
	}
	c.json(http.StatusOK, actionOK)
}

// stringField reads a JSON string field.
func stringField(body map[string]json.RawMessage, name string) string {
	var v string
	_ = json.Unmarshal(body[name], &v)
	return v
}

// numberField reads a JSON number, or a string holding one (the node SDK
// sends the charge limit as a string).
func numberField(body map[string]json.RawMessage, name string) (float64, bool) {
	raw, ok := body[name]
	if !ok {
		return 0, false
	}
	var f float64
	if json.Unmarshal(raw, &f) == nil {
		return f, true
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		if f, err := strconv.ParseFloat(str, 64); err == nil {
			return f, true
		}
	}
	return 0, false
}

func applyCharge(v *vehicle, st *simState, body map[string]json.RawMessage) *apiError {
	action := strings.ToUpper(stringField(body, "action"))
	if action != "START" && action != "STOP" {
		return validationError("action", `"action" must be one of [START, STOP]`)
	}
	if !st.plugged {
		return newError("VEHICLE_STATE", "CHARGING_PLUG_NOT_CONNECTED")
	}
	state := chargeState(v.Kind, st)
	switch {
	case action == "START" && state == "FULLY_CHARGED":
		return newError("VEHICLE_STATE", "FULLY_CHARGED")
	case action == "START" && state == "CHARGING":
		return newError("VEHICLE_STATE", "CHARGING_IN_PROGRESS")
	case action == "STOP" && state != "CHARGING":
		return newError("VEHICLE_STATE", "NOT_CHARGING")
	}
	st.chargeStopped, st.forceCharge = action == "STOP", action == "START"
	return nil
}

func applyChargeLimit(v *vehicle, st *simState, body map[string]json.RawMessage) *apiError {
	limit, ok := numberField(body, "limit")
	if !ok || limit < 0.5 || limit > 1 {
		return validationError("limit", `"limit" must be a number from 0.5 to 1`)
	}
	st.limit = limit
	return nil
}

func applySecurity(v *vehicle, st *simState, body map[string]json.RawMessage) *apiError {
	switch strings.ToUpper(stringField(body, "action")) {
	case "LOCK":
		st.locked = true
	case "UNLOCK":
		st.locked = false
	default:
		return validationError("action", `"action" must be one of [LOCK, UNLOCK]`)
	}
	return nil
}

func applyDestination(v *vehicle, st *simState, body map[string]json.RawMessage) *apiError {
	lat, okLat := numberField(body, "latitude")
	lon, okLon := numberField(body, "longitude")
	switch {
	case !okLat || lat < -90 || lat > 90:
		return validationError("latitude", `"latitude" must be a number from -90 to 90`)
	case !okLon || lon < -180 || lon > 180:
		return validationError("longitude", `"longitude" must be a number from -180 to 180`)
	}
	st.destination, st.hasDest = [2]float64{lat, lon}, true
	return nil
}
