package smartcar

import (
	"bytes"
	"cmp"
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// Signal statuses.
const (
	SignalSuccess = "SUCCESS"
	SignalError   = "ERROR"
)

// Signal is one API v3 signal of a vehicle ("odometer-traveleddistance"),
// from GET /v3/vehicles/{id}/signals, /signals/{code} or a VEHICLE_STATE
// webhook. A signal the vehicle could not provide has Status SignalError,
// its own Err (like a failed batch item: COMPATIBILITY:VEHICLE_NOT_CAPABLE,
// VEHICLE_STATE:ASLEEP, ...) and no Body. Read Body with Decode or one of the
// typed helpers (Scalar, Bool, Text) and the *Body types of this package.
type Signal struct {
	Code   string // lowercase group-name, e.g. "tractionbattery-stateofcharge"
	Name   string // e.g. "StateOfCharge"
	Group  string // e.g. "TractionBattery"
	Status string // SignalSuccess or SignalError (another value is kept as sent)
	Err    *Error // set when Status is SignalError
	Body   json.RawMessage
	// RetrievedAt is when Smartcar read the value, OEMUpdatedAt when the
	// vehicle's manufacturer last updated it (from epoch milliseconds; zero
	// when absent).
	RetrievedAt  time.Time
	OEMUpdatedAt time.Time
}

// Decode unmarshals the signal's body into v, or returns the signal's error.
// A body that does not fit v is a SDK_ERROR *Error with Code
// INVALID_RESPONSE.
func (s *Signal) Decode(v any) error {
	if s.Err != nil {
		return s.Err
	}
	return decodeBody(s.Body, v)
}

// Signals is every signal of a vehicle (all pages of GET
// /v3/vehicles/{id}/signals), in the order Smartcar sent them, with the
// vehicle the response included.
type Signals struct {
	// Vehicle is the included vehicle (id, make, model, year); nil when the
	// response did not include it.
	Vehicle *Info
	Items   []Signal
	// Meta is the metadata of the first page (its request id).
	Meta Meta
}

// Get returns the signal with code, if the vehicle has it.
func (s *Signals) Get(code string) (*Signal, bool) {
	for i := range s.Items {
		if s.Items[i].Code == code {
			return &s.Items[i], true
		}
	}
	return nil, false
}

// Codes returns the codes of the signals, in order.
func (s *Signals) Codes() []string {
	codes := make([]string, len(s.Items))
	for i := range s.Items {
		codes[i] = s.Items[i].Code
	}
	return codes
}

// signalWire is a signal resource: {id, type, attributes: {code, name,
// group, status, body}, meta: {retrievedAt, oemUpdatedAt}, links}.
type signalWire struct {
	ID         string `json:"id"`
	Attributes struct {
		Code   string           `json:"code"`
		Name   string           `json:"name"`
		Group  string           `json:"group"`
		Status signalStatusWire `json:"status"`
		Body   json.RawMessage  `json:"body"`
	} `json:"attributes"`
	Meta signalMetaWire `json:"meta"`
}

// signalStatusWire is {"value": "SUCCESS"|"ERROR", "error": {...}}.
type signalStatusWire struct {
	Value string           `json:"value"`
	Error *signalErrorWire `json:"error"`
}

// signalErrorWire is the error of a failed signal, command execution or
// webhook error: the fields of a v2 error body.
type signalErrorWire struct {
	Type                 string          `json:"type"`
	Code                 json.RawMessage `json:"code"`
	Description          string          `json:"description"`
	Detail               json.RawMessage `json:"detail"`
	Title                string          `json:"title"`
	DocURL               string          `json:"docURL"`
	Resolution           json.RawMessage `json:"resolution"`
	SuggestedUserMessage string          `json:"suggestedUserMessage"`
}

type signalMetaWire struct {
	RetrievedAt  flexTime `json:"retrievedAt"`
	OEMUpdatedAt flexTime `json:"oemUpdatedAt"`
}

// toError turns an embedded error object into a *Error without a status
// code; requestID is the response's. A missing type is SDK_ERROR.
func (w *signalErrorWire) toError(requestID string, sec secrets) *Error {
	e := &Error{
		Type:                 cmp.Or(w.Type, TypeSDK),
		Code:                 flexString(w.Code),
		Description:          cmp.Or(w.Description, w.Title),
		DocURL:               w.DocURL,
		RequestID:            requestID,
		Resolution:           resolution(w.Resolution),
		SuggestedUserMessage: w.SuggestedUserMessage,
	}
	if e.Description == "" && len(w.Detail) > 0 && w.Detail[0] == '"' {
		_ = json.Unmarshal(w.Detail, &e.Description)
	}
	return e.redact(sec)
}

// newSignal builds a Signal from the parts every wire form has. errw, when
// not nil, is an error sent beside the status (webhooks). Secrets are
// redacted from the signal's error.
func newSignal(code, name, group string, st signalStatusWire, errw *signalErrorWire, body json.RawMessage,
	meta signalMetaWire, requestID string, sec secrets) Signal {
	s := Signal{
		Code:         code,
		Name:         name,
		Group:        group,
		Status:       strings.ToUpper(strings.TrimSpace(st.Value)),
		RetrievedAt:  time.Time(meta.RetrievedAt),
		OEMUpdatedAt: time.Time(meta.OEMUpdatedAt),
	}
	if errw == nil {
		errw = st.Error
	}
	switch {
	case errw != nil:
		s.Status, s.Err = SignalError, errw.toError(requestID, sec)
	case s.Status == SignalError:
		s.Err = &Error{Type: TypeSDK, Code: "INVALID_RESPONSE", RequestID: requestID,
			Description: "signal " + snippet([]byte(code)) + " has status ERROR and no error"}
	case s.Status == "":
		s.Status = SignalSuccess
	}
	if s.Err == nil && len(body) > 0 && !bytes.Equal(body, []byte("null")) {
		s.Body = body
	}
	return s
}

// signal converts a signal resource.
func (w *signalWire) signal(requestID string, sec secrets) Signal {
	a := &w.Attributes
	return newSignal(cmp.Or(a.Code, w.ID), a.Name, a.Group, a.Status, nil, a.Body, w.Meta, requestID, sec)
}

// signalsPage is one page of GET /v3/vehicles/{id}/signals, decoded in one
// pass: the bodies stay raw (Signal.Body), the included vehicle is read
// from its {"vehicle": {...}} object as Smartcar sends it.
type signalsPage struct {
	Data     []signalWire `json:"data"`
	Meta     pageMeta     `json:"meta"`
	Links    pageLinks    `json:"links"`
	Included struct {
		Vehicle *vehicleWire `json:"vehicle"`
	} `json:"included"`
}

// maxPooledSignals bounds the pages signalPages keeps: a page longer than
// that (Smartcar's pages hold at most 100) is left to the garbage collector.
const maxPooledSignals = 1000

// signalPages recycles the pages Signals decodes into (they are garbage
// once converted into Signals), so that a call does not allocate and grow
// the resource slice again. A pooled page is all zero up to its capacity:
// encoding/json decodes into an existing element without zeroing it, and a
// left-over Body or error would otherwise leak into the next page.
var signalPages = sync.Pool{New: func() any { return new(signalsPage) }}

// getSignalsPage returns an empty page from the pool.
func getSignalsPage() *signalsPage { return signalPages.Get().(*signalsPage) }

// reset zeroes p, keeping the capacity of its resource slice.
func (p *signalsPage) reset() {
	clear(p.Data)
	*p = signalsPage{Data: p.Data[:0]}
}

// putSignalsPage zeroes p and returns it to the pool.
func putSignalsPage(p *signalsPage) {
	if cap(p.Data) > maxPooledSignals {
		return
	}
	p.reset()
	signalPages.Put(p)
}

// signalDoc is GET /v3/vehicles/{id}/signals/{code}: the signal wrapped in
// {"data": ...} or bare.
type signalDoc struct {
	Data *signalWire `json:"data"`
	signalWire
}

// vehicleWire is a vehicle resource ({id, type, attributes: {make, model,
// year}}); the attributes are also read from the top level, as v2 sends them.
type vehicleWire struct {
	ID         string           `json:"id"`
	Type       string           `json:"type"`
	Attributes vehicleAttrsWire `json:"attributes"`
	vehicleAttrsWire
}

type vehicleAttrsWire struct {
	Make  string  `json:"make"`
	Model string  `json:"model"`
	Year  flexInt `json:"year"`
}

func (w *vehicleWire) info(meta Meta) *Info {
	return &Info{
		ID:    w.ID,
		Make:  cmp.Or(w.Attributes.Make, w.Make),
		Model: cmp.Or(w.Attributes.Model, w.Model),
		Year:  int(cmp.Or(w.Attributes.Year, w.Year)),
		Meta:  meta,
	}
}

// vehicleDoc is GET /v3/vehicles/{id}: the resource wrapped in {"data": ...} or bare.
type vehicleDoc struct {
	Data *vehicleWire `json:"data"`
	vehicleWire
}
