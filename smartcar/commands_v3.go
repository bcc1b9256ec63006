package smartcar

import (
	"cmp"
	"context"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Command execution statuses.
const (
	CommandPending = "PENDING"
	CommandSuccess = "SUCCESS"
	CommandFailed  = "FAILED"
)

// Commands of API v3, for VehicleV3.Command.
const (
	CommandLock           = "security/lock"
	CommandUnlock         = "security/unlock"
	CommandStartCharge    = "charge/start"
	CommandStopCharge     = "charge/stop"
	CommandSetChargeLimit = "charge/limit"
)

// CommandExecution is the state of a v3 command: the answer of the command
// itself (HTTP 200 when it ran synchronously, 202 while it is still running)
// or of VehicleV3.CommandExecution. A FAILED execution carries the reason in
// Err.
type CommandExecution struct {
	ID            string // "exec_..."; pass it to VehicleV3.CommandExecution
	CommandType   string // e.g. "security-lock"
	Status        string // CommandPending, CommandSuccess or CommandFailed
	ExecutionMode string // "sync" or "async"
	Err           *Error // set when Status is CommandFailed
	ExecutedAt    time.Time
	CompletedAt   time.Time // zero while pending
	Duration      time.Duration
	StatusCode    int // HTTP status of the answer: 200, or 202 while the command runs
	Meta          Meta
}

// Pending reports whether the command is still running: read its outcome
// later with VehicleV3.CommandExecution.
func (c *CommandExecution) Pending() bool { return c.Status == CommandPending }

// Failed reports whether the command failed (Err says why).
func (c *CommandExecution) Failed() bool { return c.Status == CommandFailed }

// execWire is a command-execution resource.
type execWire struct {
	ID         string `json:"id"`
	Attributes struct {
		CommandType   string           `json:"commandType"`
		Status        signalStatusWire `json:"status"`
		ExecutionMode string           `json:"executionMode"`
	} `json:"attributes"`
	Meta struct {
		ExecutedAt        flexTime `json:"executedAt"`
		CompletedAt       flexTime `json:"completedAt"`
		DurationInSeconds float64  `json:"durationInSeconds"`
	} `json:"meta"`
}

// execDoc is a command execution wrapped in {"data": ...} or bare.
type execDoc struct {
	Data *execWire `json:"data"`
	execWire
}

func (d *execDoc) execution(status int, meta Meta, sec secrets) *CommandExecution {
	w := &d.execWire
	if d.Data != nil {
		w = d.Data
	}
	a := &w.Attributes
	c := &CommandExecution{
		ID:            w.ID,
		CommandType:   a.CommandType,
		Status:        strings.ToUpper(strings.TrimSpace(a.Status.Value)),
		ExecutionMode: a.ExecutionMode,
		ExecutedAt:    time.Time(w.Meta.ExecutedAt),
		CompletedAt:   time.Time(w.Meta.CompletedAt),
		StatusCode:    status,
		Meta:          meta,
	}
	if s := w.Meta.DurationInSeconds; s > 0 && s < 365*24*3600 { // a bound that cannot overflow
		c.Duration = time.Duration(s * float64(time.Second))
	}
	if c.Status == "" {
		c.Status = CommandSuccess
		if status == http.StatusAccepted {
			c.Status = CommandPending
		}
	}
	if e := a.Status.Error; e != nil {
		c.Status, c.Err = CommandFailed, e.toError(meta.RequestID, sec)
	} else if c.Status == CommandFailed {
		c.Err = &Error{Type: TypeSDK, Code: "INVALID_RESPONSE", RequestID: meta.RequestID,
			Description: "command execution " + snippet([]byte(c.ID)) + " FAILED without an error"}
	}
	return c
}

// Command sends a v3 command (POST /v3/vehicles/{id}/commands/{command},
// command like CommandLock or "navigation/destination") with body as JSON
// (nil sends {}; []byte and json.RawMessage are sent as they are). A 202
// answer is a pending execution: read its outcome with CommandExecution. A
// command that ran and failed is returned with Status CommandFailed and its
// Err; an error answer is a *Error as usual.
func (v *VehicleV3) Command(ctx context.Context, command string, body any) (*CommandExecution, error) {
	command = strings.Trim(strings.TrimSpace(command), "/")
	if command == "" || strings.Contains(command, "..") {
		return nil, validationError("PARAMETER", `command "`+command+`" must look like "security/lock"`)
	}
	raw, err := encodeBody(body)
	if err != nil {
		return nil, err
	}
	segs := strings.Split(command, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	r := v.request(http.MethodPost, v.base+"/commands/"+strings.Join(segs, "/"), raw)
	r.allowEmpty = true
	var doc execDoc
	meta, status, err := fetchV3(ctx, v.client, &v.b, &r, &doc)
	if err != nil {
		return nil, err
	}
	return doc.execution(status, meta, r.secrets), nil
}

// CommandExecution reads the state of a command execution (GET
// /v3/vehicles/{id}/command-executions/{executionID}).
func (v *VehicleV3) CommandExecution(ctx context.Context, executionID string) (*CommandExecution, error) {
	if strings.TrimSpace(executionID) == "" {
		return nil, validationError("PARAMETER", "command execution id is empty")
	}
	r := v.request(http.MethodGet, v.base+"/command-executions/"+url.PathEscape(executionID), nil)
	var doc execDoc
	meta, status, err := fetchV3(ctx, v.client, &v.b, &r, &doc)
	if err != nil {
		return nil, err
	}
	c := doc.execution(status, meta, r.secrets)
	c.ID = cmp.Or(c.ID, executionID)
	return c, nil
}

// Lock locks the vehicle (CommandLock).
func (v *VehicleV3) Lock(ctx context.Context) (*CommandExecution, error) {
	return v.Command(ctx, CommandLock, nil)
}

// Unlock unlocks the vehicle (CommandUnlock).
func (v *VehicleV3) Unlock(ctx context.Context) (*CommandExecution, error) {
	return v.Command(ctx, CommandUnlock, nil)
}

// StartCharge starts charging (CommandStartCharge).
func (v *VehicleV3) StartCharge(ctx context.Context) (*CommandExecution, error) {
	return v.Command(ctx, CommandStartCharge, nil)
}

// StopCharge stops charging (CommandStopCharge).
func (v *VehicleV3) StopCharge(ctx context.Context) (*CommandExecution, error) {
	return v.Command(ctx, CommandStopCharge, nil)
}

// SetChargeLimit sets the charge limit, a fraction in [0, 1] like
// Vehicle.SetChargeLimit (Smartcar accepts 0.5 to 1); it is sent as a
// percentage, {"limit": 80}. A value outside [0, 1], such as 80 for 80 %,
// fails before sending with a VALIDATION *Error.
func (v *VehicleV3) SetChargeLimit(ctx context.Context, limit float64) (*CommandExecution, error) {
	if math.IsNaN(limit) || limit < 0 || limit > 1 {
		return nil, validationError("PARAMETER", "charge limit "+ftoa(limit)+" must be a fraction between 0 and 1")
	}
	percent := math.Round(limit*1e4) / 100 // 0.8 -> 80, not 80.00000000000001
	return v.Command(ctx, CommandSetChargeLimit, []byte(`{"limit":`+ftoa(percent)+`}`))
}
