package smartcar

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Paths of the GET endpoints a batch can ask for. PathAttributes ("/") is the
// vehicle itself (Info). Batch also accepts any other GET path, such as the
// make-specific "/tesla/charge/ammeter"; read those with Item and Decode.
const (
	PathAttributes             = "/"
	PathVIN                    = "/vin"
	PathOdometer               = "/odometer"
	PathLocation               = "/location"
	PathBattery                = "/battery"
	PathBatteryCapacity        = "/battery/capacity"
	PathNominalCapacity        = "/battery/nominal_capacity"
	PathCharge                 = "/charge"
	PathChargeLimit            = "/charge/limit"
	PathFuel                   = "/fuel"
	PathTirePressure           = "/tires/pressure"
	PathEngineOil              = "/engine/oil"
	PathLockStatus             = "/security"
	PathDiagnosticSystemStatus = "/diagnostics/system_status"
	PathDiagnosticTroubleCodes = "/diagnostics/dtcs"
)

// NormalizePath gives a vehicle path its canonical form: one leading slash,
// no trailing slash, surrounding spaces removed; "" and "/" are
// PathAttributes. "odometer/" becomes "/odometer".
func NormalizePath(p string) string {
	if len(p) > 1 && p[0] == '/' && p[len(p)-1] != '/' && p[len(p)-1] != ' ' && p[1] != ' ' {
		return p // already canonical: the common case, without allocating
	}
	p = strings.Trim(strings.TrimSpace(p), "/")
	if p == "" {
		return PathAttributes
	}
	return "/" + p
}

// BatchItem is the result of one path of a batch: its status, headers
// (canonical keys), undecoded body and metadata, and Err when the status is
// not 2xx (or the path is missing from the response).
type BatchItem struct {
	Path       string
	StatusCode int
	Headers    http.Header
	Body       json.RawMessage
	Meta       Meta
	Err        *Error
}

// Decode unmarshals the item's body into v, or returns the item's error.
func (it BatchItem) Decode(v any) error {
	if it.Err != nil {
		return it.Err
	}
	return decodeBody(it.Body, v)
}

// BatchResponse is the result of a batch request. One path's failure is that
// path's own *Error and does not affect the others.
type BatchResponse struct {
	// Meta is the metadata of the batch response itself (its request id).
	Meta  Meta
	items []BatchItem
}

// Items returns one item per requested path, in request order, followed by
// any item the response contained that was not requested.
func (b *BatchResponse) Items() []BatchItem { return slices.Clone(b.items) }

// Item returns the item of path (normalized first); ok is false if the path
// was neither requested nor returned.
func (b *BatchResponse) Item(path string) (BatchItem, bool) {
	path = NormalizePath(path)
	for i := range b.items {
		if b.items[i].Path == path {
			return b.items[i], true
		}
	}
	return BatchItem{}, false
}

// batchGet decodes the item of path into a new T with the item's metadata.
func batchGet[T any, PT interface {
	*T
	metaSetter
}](b *BatchResponse, path string) (PT, error) {
	it, ok := b.Item(path)
	if !ok {
		return nil, validationError("NOT_REQUESTED", "batch: path "+path+" was not requested")
	}
	out := PT(new(T))
	if err := it.Decode(out); err != nil {
		return nil, err
	}
	out.setMeta(it.Meta)
	return out, nil
}

// Info returns the attributes ("/") of the batch.
func (b *BatchResponse) Info() (*Info, error) { return batchGet[Info](b, PathAttributes) }

// VIN returns the "/vin" item.
func (b *BatchResponse) VIN() (*VIN, error) { return batchGet[VIN](b, PathVIN) }

// Odometer returns the "/odometer" item.
func (b *BatchResponse) Odometer() (*Odometer, error) { return batchGet[Odometer](b, PathOdometer) }

// Location returns the "/location" item.
func (b *BatchResponse) Location() (*Location, error) { return batchGet[Location](b, PathLocation) }

// Battery returns the "/battery" item.
func (b *BatchResponse) Battery() (*Battery, error) { return batchGet[Battery](b, PathBattery) }

// BatteryCapacity returns the "/battery/capacity" item.
func (b *BatchResponse) BatteryCapacity() (*BatteryCapacity, error) {
	return batchGet[BatteryCapacity](b, PathBatteryCapacity)
}

// NominalCapacity returns the "/battery/nominal_capacity" item.
func (b *BatchResponse) NominalCapacity() (*NominalCapacity, error) {
	return batchGet[NominalCapacity](b, PathNominalCapacity)
}

// Charge returns the "/charge" item.
func (b *BatchResponse) Charge() (*Charge, error) { return batchGet[Charge](b, PathCharge) }

// ChargeLimit returns the "/charge/limit" item.
func (b *BatchResponse) ChargeLimit() (*ChargeLimit, error) {
	return batchGet[ChargeLimit](b, PathChargeLimit)
}

// Fuel returns the "/fuel" item.
func (b *BatchResponse) Fuel() (*Fuel, error) { return batchGet[Fuel](b, PathFuel) }

// TirePressure returns the "/tires/pressure" item.
func (b *BatchResponse) TirePressure() (*TirePressure, error) {
	return batchGet[TirePressure](b, PathTirePressure)
}

// EngineOil returns the "/engine/oil" item.
func (b *BatchResponse) EngineOil() (*EngineOil, error) { return batchGet[EngineOil](b, PathEngineOil) }

// LockStatus returns the "/security" item.
func (b *BatchResponse) LockStatus() (*LockStatus, error) {
	return batchGet[LockStatus](b, PathLockStatus)
}

// DiagnosticSystemStatus returns the "/diagnostics/system_status" item.
func (b *BatchResponse) DiagnosticSystemStatus() (*DiagnosticSystemStatus, error) {
	return batchGet[DiagnosticSystemStatus](b, PathDiagnosticSystemStatus)
}

// DiagnosticTroubleCodes returns the "/diagnostics/dtcs" item.
func (b *BatchResponse) DiagnosticTroubleCodes() (*DiagnosticTroubleCodes, error) {
	return batchGet[DiagnosticTroubleCodes](b, PathDiagnosticTroubleCodes)
}

// Batch fetches several GET paths of the vehicle in one request.
func (v *Vehicle) Batch(ctx context.Context, paths []string) (*BatchResponse, error) {
	if v.err != nil {
		return nil, v.err
	}
	return v.client.batch(ctx, v.url("/batch", ""), v.auth, v.unit, v.secrets, paths)
}

// Batch fetches several GET paths of vehicleID in one request, with the
// client's version and unit system. It is what a poller calls: no Vehicle is
// needed.
func (c *Client) Batch(ctx context.Context, accessToken, vehicleID string, paths []string) (*BatchResponse, error) {
	if c.err != nil {
		return nil, c.err
	}
	u := c.apiOrigin + "/v" + c.version + "/vehicles/" + url.PathEscape(vehicleID) + "/batch"
	return c.batch(ctx, u, []string{"Bearer " + accessToken}, c.unit, secrets{accessToken}, paths)
}

type batchWire struct {
	Responses []batchItemWire `json:"responses"`
}

type batchItemWire struct {
	Path    string          `json:"path"`
	Code    int             `json:"code"`
	Headers batchHeaders    `json:"headers"`
	Body    json.RawMessage `json:"body"`
}

func (c *Client) batch(ctx context.Context, u string, auth, unit []string, sec secrets, paths []string) (*BatchResponse, error) {
	if len(paths) == 0 {
		return nil, validationError("PARAMETER", "batch: no paths")
	}
	want := make([]string, 0, len(paths))
	for _, p := range paths {
		if p = NormalizePath(p); !slices.Contains(want, p) {
			want = append(want, p)
		}
	}
	r := request{method: http.MethodPost, url: u, auth: auth, unit: unit,
		body: batchBody(want), ctype: jsonContentType, secrets: sec}
	var w batchWire
	meta, err := c.doJSON(ctx, &r, &w)
	if err != nil {
		return nil, err
	}
	if w.Responses == nil {
		return nil, &Error{Type: TypeSDK, Code: "INVALID_RESPONSE", StatusCode: http.StatusOK,
			RequestID: meta.RequestID, Description: `batch response has no "responses"`}
	}
	res := &BatchResponse{Meta: meta, items: make([]BatchItem, 0, max(len(want), len(w.Responses)))}
	used := 0
	for _, p := range want {
		i := slices.IndexFunc(w.Responses, func(x batchItemWire) bool { return x.Code != -1 && NormalizePath(x.Path) == p })
		if i < 0 {
			res.items = append(res.items, BatchItem{Path: p, Err: &Error{Type: TypeSDK, Code: "MISSING_ITEM",
				RequestID: meta.RequestID, Description: "batch response has no item for " + p}})
			continue
		}
		res.items = append(res.items, newBatchItem(p, &w.Responses[i], meta.RequestID, sec))
		w.Responses[i].Code = -1 // matched
		used++
	}
	if used < len(w.Responses) {
		for i := range w.Responses {
			if w.Responses[i].Code != -1 {
				res.items = append(res.items, newBatchItem(NormalizePath(w.Responses[i].Path), &w.Responses[i], meta.RequestID, sec))
			}
		}
	}
	return res, nil
}

func newBatchItem(path string, w *batchItemWire, requestID string, sec secrets) BatchItem {
	it := BatchItem{Path: path, StatusCode: w.Code, Headers: w.Headers.h, Body: w.Body}
	if it.Headers == nil {
		it.Headers = http.Header{}
	}
	it.Meta = metaFrom(it.Headers, requestID)
	switch {
	case w.Code < 100 || w.Code > 599:
		// Not an HTTP status (missing, 0, 700): the item is malformed.
		it.Err = &Error{Type: TypeSDK, Code: "INVALID_RESPONSE", RequestID: requestID,
			Description: "batch item for " + path + " has status code " + strconv.Itoa(w.Code) + ", not an HTTP status"}
	case w.Code < 200 || w.Code > 299:
		it.Err = parseError(w.Code, it.Headers, w.Body, requestID, sec)
	}
	return it
}

// batchBody renders {"requests":[{"path":"/odometer"},...]} without reflection.
func batchBody(paths []string) []byte {
	n := len(`{"requests":[]}`)
	for _, p := range paths {
		n += len(p) + len(`{"path":""},`)
	}
	b := make([]byte, 0, n)
	b = append(b, `{"requests":[`...)
	for i, p := range paths {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"path":`...)
		b = appendJSONString(b, p)
		b = append(b, '}')
	}
	return append(b, "]}"...)
}

func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
