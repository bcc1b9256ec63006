package smartcar

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Response is the raw result of Vehicle.Request: a 2xx status, the response
// headers, the undecoded body and the metadata.
type Response struct {
	StatusCode int
	Headers    http.Header
	Body       json.RawMessage
	Meta       Meta
}

// Decode unmarshals the body into v. A body that does not fit v is a
// SDK_ERROR *Error with Code INVALID_RESPONSE.
func (r *Response) Decode(v any) error {
	return decodeBody(r.Body, v)
}

func decodeBody(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{Type: TypeSDK, Code: "INVALID_RESPONSE", Description: "decode response body: " + err.Error(), Err: err}
	}
	return nil
}

// metaFrom reads the response metadata from canonical headers. A non-empty
// requestID (a batch's outer SC-Request-Id) wins over the header.
func metaFrom(h http.Header, requestID string) Meta {
	if requestID == "" {
		requestID = header(h, "Sc-Request-Id")
	}
	return Meta{
		RequestID:  requestID,
		DataAge:    parseTime(header(h, "Sc-Data-Age")),
		FetchedAt:  parseTime(header(h, "Sc-Fetched-At")),
		UnitSystem: UnitSystem(header(h, "Sc-Unit-System")),
	}
}

// header looks up a canonical header key without re-canonicalising it.
func header(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// parseTime parses an ISO-8601 header; anything unparsable is the zero
// time, and so is a time whose UTC year is outside 1..9999 (such as
// "9999-12-31T23:59:59-23:59"), which could not be encoded as RFC 3339 again.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if y := t.UTC().Year(); err != nil || y < 1 || y > 9999 {
		return time.Time{}
	}
	return t
}

// maxRetryAfter caps absurd Retry-After values so the duration cannot overflow.
const maxRetryAfter = 365 * 24 * time.Hour

// parseRetryAfter reads a Retry-After value: seconds (Smartcar's form, a
// fraction is accepted) or an HTTP date. Absent, malformed or past values
// give 0.
func parseRetryAfter(s string) time.Duration {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if secs <= 0 || math.IsNaN(secs) {
			return 0
		}
		if secs >= maxRetryAfter.Seconds() {
			return maxRetryAfter
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(s); err == nil {
		if d := time.Until(t); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

// redact replaces every secret in s by REDACTED.
func redact(s string, secrets secrets) string {
	for _, sec := range secrets {
		if sec != "" && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, "REDACTED")
		}
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// metaSetter is implemented by every typed response, so generic helpers can
// attach the metadata after decoding without reflection.
type metaSetter interface{ setMeta(Meta) }

func (v *Vehicles) setMeta(m Meta)               { v.Meta = m }
func (v *User) setMeta(m Meta)                   { v.Meta = m }
func (v *Info) setMeta(m Meta)                   { v.Meta = m }
func (v *VIN) setMeta(m Meta)                    { v.Meta = m }
func (v *Odometer) setMeta(m Meta)               { v.Meta = m }
func (v *Location) setMeta(m Meta)               { v.Meta = m }
func (v *Battery) setMeta(m Meta)                { v.Meta = m }
func (v *BatteryCapacity) setMeta(m Meta)        { v.Meta = m }
func (v *NominalCapacity) setMeta(m Meta)        { v.Meta = m }
func (v *Charge) setMeta(m Meta)                 { v.Meta = m }
func (v *ChargeLimit) setMeta(m Meta)            { v.Meta = m }
func (v *Fuel) setMeta(m Meta)                   { v.Meta = m }
func (v *TirePressure) setMeta(m Meta)           { v.Meta = m }
func (v *EngineOil) setMeta(m Meta)              { v.Meta = m }
func (v *LockStatus) setMeta(m Meta)             { v.Meta = m }
func (v *DiagnosticSystemStatus) setMeta(m Meta) { v.Meta = m }
func (v *DiagnosticTroubleCodes) setMeta(m Meta) { v.Meta = m }
func (v *ActionResponse) setMeta(m Meta)         { v.Meta = m }
func (v *Permissions) setMeta(m Meta)            { v.Meta = m }
func (v *ServiceHistory) setMeta(m Meta)         { v.Meta = m }
func (v *WebhookSubscription) setMeta(m Meta)    { v.Meta = m }
func (v *Compatibility) setMeta(m Meta)          { v.Meta = m }
func (v *Connections) setMeta(m Meta)            { v.Meta = m }
func (v *DeletedConnections) setMeta(m Meta)     { v.Meta = m }
