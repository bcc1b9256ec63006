package smartcartest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"time"
)

// DefaultAsyncCommandDuration is how long an asynchronous v3 command
// (charge start, stop and limit) takes, in simulated time.
const DefaultAsyncCommandDuration = 10 * time.Second

// WithAsyncCommandDuration sets how long asynchronous v3 commands take to
// complete, in simulated time (default 10s).
func WithAsyncCommandDuration(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.asyncCommand = d
		}
	}
}

// commandV3 is a v3 command: it carries out a v2.0 command, so both APIs
// change the vehicle the same way.
type commandV3 struct {
	typ   string // commandType: "security-lock"
	async bool   // answers 202 and completes DefaultAsyncCommandDuration later
	v2    *command
	// body turns the v3 body into the v2.0 command's body.
	body func(in map[string]json.RawMessage) (map[string]json.RawMessage, *apiError)
}

func action(a string) func(map[string]json.RawMessage) (map[string]json.RawMessage, *apiError) {
	return func(map[string]json.RawMessage) (map[string]json.RawMessage, *apiError) {
		return map[string]json.RawMessage{"action": json.RawMessage(`"` + a + `"`)}, nil
	}
}

// commandsV3 are the v3 commands by "group/name".
var commandsV3 = map[string]*commandV3{
	"security/lock":   {typ: "security-lock", v2: commands["/security"], body: action("LOCK")},
	"security/unlock": {typ: "security-unlock", v2: commands["/security"], body: action("UNLOCK")},
	"charge/start":    {typ: "charge-start", async: true, v2: commands["/charge"], body: action("START")},
	"charge/stop":     {typ: "charge-stop", async: true, v2: commands["/charge"], body: action("STOP")},
	"charge/limit": {typ: "charge-limit", async: true, v2: commands["/charge/limit"],
		body: func(in map[string]json.RawMessage) (map[string]json.RawMessage, *apiError) {
			pct, ok := numberField(in, "limit")
			if !ok || pct < 50 || pct > 100 {
				return nil, validationError("limit", `"limit" must be a percentage from 50 to 100`)
			}
			frac, _ := json.Marshal(pct / 100)
			return map[string]json.RawMessage{"limit": frac}, nil
		}},
	"navigation/destination": {typ: "navigation-destination", v2: commands["/navigation/destination"],
		body: func(in map[string]json.RawMessage) (map[string]json.RawMessage, *apiError) { return in, nil }},
}

// execution is one v3 command execution. done and err are guarded by the
// vehicle's mu; the rest never changes.
type execution struct {
	id, vehicleID, typ string
	async              bool
	executedAt         time.Time // clock
	completeAt         time.Time // clock: when it completes (async) or completed
	seconds            float64   // simulated duration
	done               bool
	err                *apiError
}

// pendingCommand is an asynchronous command waiting for its time.
type pendingCommand struct {
	at    float64 // simulated second it takes effect
	apply func(st *simState) *apiError
	exec  *execution
}

// settle carries out the pending commands due by t, in order; the caller
// holds v.mu. A command whose precondition no longer holds then (the
// vehicle drove off and unplugged) fails with that error.
func (v *vehicle) settle(t float64) {
	for len(v.pending) > 0 && v.pending[0].at <= t {
		p := v.pending[0]
		v.pending = v.pending[1:]
		p.exec.err = v.changeLocked(p.at, p.apply)
		p.exec.done = true
	}
}

// try runs f on a copy of the state at t: a command's preconditions,
// checked when it is sent.
func (v *vehicle) try(t float64, f func(*simState) *apiError) *apiError {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.settle(t)
	st := v.stateAt(t)
	return f(&st)
}

// handleCommandV3 is POST /v3/vehicles/{id}/commands/{group}/{name}: 200
// with a finished execution, or 202 with a pending one for asynchronous
// commands. Errors a v2.0 command would answer (scope, capability,
// validation, vehicle state) are answered the same way.
func (s *Server) handleCommandV3(c *call, v *vehicle, scopes map[string]bool, cmd *commandV3) {
	if !scopes[cmd.v2.scope] {
		c.fail(newError("PERMISSION", ""))
		return
	}
	if !v.capable(cmd.v2.kinds) {
		c.fail(newError("COMPATIBILITY", "VEHICLE_NOT_CAPABLE"))
		return
	}
	in := map[string]json.RawMessage{}
	raw, rerr := io.ReadAll(io.LimitReader(c.r.Body, 1<<20))
	if rerr == nil && len(bytes.TrimSpace(raw)) > 0 {
		rerr = json.Unmarshal(raw, &in)
	}
	if rerr != nil {
		e := newError("VALIDATION", "")
		e.Detail = []errorDetail{{Field: []string{"body"}, Message: "body must be a JSON object"}}
		c.fail(e)
		return
	}
	body, err := cmd.body(in)
	if err != nil {
		c.fail(err)
		return
	}
	if !s.admitVehicle(c, v, true) || s.fault(c, v.ID) {
		return
	}
	apply := func(st *simState) *apiError { return cmd.v2.apply(v, st, body) }
	t := s.simSeconds(c.now)
	ex := &execution{id: "exec_" + s.ids.uuid(), vehicleID: v.ID, typ: cmd.typ, async: cmd.async,
		executedAt: c.now}
	if cmd.async {
		if err := v.try(t, apply); err != nil {
			c.fail(err)
			return
		}
		ex.seconds = s.cfg.asyncCommand.Seconds()
		ex.completeAt = c.now.Add(time.Duration(float64(s.cfg.asyncCommand) / s.cfg.timeScale))
		v.mu.Lock()
		v.pending = append(v.pending, &pendingCommand{at: t + ex.seconds, apply: apply, exec: ex})
		slices.SortStableFunc(v.pending, func(a, b *pendingCommand) int { return cmp.Compare(a.at, b.at) })
		v.mu.Unlock()
	} else {
		if err := v.change(t, apply); err != nil {
			c.fail(err)
			return
		}
		ex.done, ex.completeAt = true, c.now
	}
	s.mu.Lock()
	s.v3.executions[ex.id] = ex
	s.mu.Unlock()
	s.hooks.kick()
	status := http.StatusOK
	if cmd.async {
		status = http.StatusAccepted
	}
	out, _ := json.Marshal(map[string]any{"data": s.executionResource(v, ex)}) // plain values: cannot fail
	c.json(status, out)
}

// handleCommandExecution is GET /v3/vehicles/{id}/command-executions/{id}:
// the outcome of a command. Not billed, not throttled.
func (s *Server) handleCommandExecution(c *call, v *vehicle, id string) {
	if s.fault(c, v.ID) {
		return
	}
	s.mu.RLock()
	ex := s.v3.executions[id]
	s.mu.RUnlock()
	if ex == nil || ex.vehicleID != v.ID {
		c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
		return
	}
	v.read(s.simSeconds(c.now)) // carries out what is due
	c.value(map[string]any{"data": s.executionResource(v, ex)})
}

type executionStatus struct {
	Value string         `json:"value"`
	Error *signalErrBody `json:"error,omitempty"`
}

// executionResource renders ex as it stands.
func (s *Server) executionResource(v *vehicle, ex *execution) map[string]any {
	v.mu.Lock()
	done, err := ex.done, ex.err
	v.mu.Unlock()
	st := executionStatus{Value: "PENDING"}
	meta := map[string]any{"executedAt": rfc3339(ex.executedAt)}
	switch {
	case done && err != nil:
		e := &signalErrBody{Type: err.Type, Description: err.Description}
		if err.Code != "" {
			e.Code = &err.Code
		}
		st = executionStatus{Value: "FAILED", Error: e}
	case done:
		st.Value = "SUCCESS"
	}
	if done {
		meta["completedAt"] = rfc3339(ex.completeAt)
		meta["durationInSeconds"] = ex.seconds
	}
	mode := "sync"
	if ex.async {
		mode = "async"
	}
	return map[string]any{
		"id":   ex.id,
		"type": "command-execution",
		"attributes": map[string]any{
			"commandType":   ex.typ,
			"status":        st,
			"executionMode": mode,
		},
		"meta":  meta,
		"links": map[string]string{"self": "/vehicles/" + ex.vehicleID + "/command-executions/" + ex.id},
	}
}
