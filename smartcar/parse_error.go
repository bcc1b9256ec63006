package smartcar

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// errorWire holds every error body shape Smartcar sends: v2.0, v1.0, OAuth
// and v3 (see https://smartcar.com/docs/api-reference/api-errors).
type errorWire struct {
	// v2.0
	Type                 string          `json:"type"`
	Code                 json.RawMessage `json:"code"`
	Description          string          `json:"description"`
	DocURL               string          `json:"docURL"`
	RequestID            string          `json:"requestId"`
	Resolution           json.RawMessage `json:"resolution"`
	SuggestedUserMessage string          `json:"suggestedUserMessage"`
	Detail               json.RawMessage `json:"detail"`
	// v1.0 ({error, message, code}) and OAuth ({error, error_description})
	Error            string `json:"error"`
	Message          string `json:"message"`
	ErrorDescription string `json:"error_description"`
	// v3 ({errors: [...]})
	Errors []v3ErrorWire `json:"errors"`
}

// v3ErrorWire is one error of a JSON:API {"errors": [...]} body. Fields of
// the flat body (description, docURL, requestId) are read too.
type v3ErrorWire struct {
	Type                 string          `json:"type"`
	Code                 json.RawMessage `json:"code"`
	Title                string          `json:"title"`
	Detail               json.RawMessage `json:"detail"`
	Description          string          `json:"description"`
	DocURL               string          `json:"docURL"`
	RequestID            string          `json:"requestId"`
	Resolution           json.RawMessage `json:"resolution"`
	SuggestedUserMessage string          `json:"suggestedUserMessage"`
	Links                struct {
		About json.RawMessage `json:"about"`
	} `json:"links"`
}

// v1Types maps API v1.0 error names onto the v2.0 types, so that v1.0
// errors classify (Retryable, NeedsReauth, Permanent) like their v2.0
// equivalents. Unknown v1.0 names are kept as sent.
var v1Types = map[string]string{
	"authentication_error":          TypeAuthentication,
	"permission_error":              TypePermission,
	"resource_not_found_error":      TypeResourceNotFound,
	"validation_error":              TypeValidation,
	"vehicle_state_error":           TypeVehicleState,
	"vehicle_not_capable_error":     TypeCompatibility,
	"smartcar_not_capable_error":    TypeCompatibility,
	"vehicle_owner_action_required": TypeConnectedServicesAccount,
	"rate_limit_error":              TypeRateLimit,
	"monthly_limit_exceeded":        TypeBilling,
	"server_error":                  TypeServer,
	"gateway_timeout_error":         TypeUpstream,
}

const maxSnippet = 256

// parseError turns a non-2xx response into a *Error. status is the HTTP
// status (or a batch item's code), h its canonical headers, body the raw
// body, and requestID, when set, the id to report (a batch's outer
// SC-Request-Id). Every secret is redacted, from the raw body and again from
// the decoded fields (a JSON escape such as \u0061 can spell a secret).
func parseError(status int, h http.Header, body []byte, requestID string, secrets secrets) *Error {
	return decodeError(status, h, redactBytes(body, secrets), requestID).redact(secrets)
}

func decodeError(status int, h http.Header, body []byte, requestID string) *Error {
	e := &Error{
		StatusCode: status,
		RequestID:  cmp.Or(requestID, header(h, "Sc-Request-Id")),
		RetryAfter: parseRetryAfter(header(h, "Retry-After")),
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		e.Type, e.Code = TypeSDK, "INVALID_RESPONSE"
		e.Description = "empty error body"
		return e
	}
	var w errorWire
	err := json.Unmarshal(trimmed, &w)
	var ute *json.UnmarshalTypeError
	if err != nil && !errors.As(err, &ute) {
		// An HTML page from a proxy, plain text, or broken JSON. (Valid JSON
		// of the wrong shape only gives an UnmarshalTypeError: it is decoded
		// as far as it goes and lands in the default case below.)
		e.Type, e.Code = TypeSDK, "INVALID_RESPONSE"
		e.Description = "non-JSON error body: " + snippet(trimmed)
		e.Err = err
		return e
	}
	e.RequestID = cmp.Or(e.RequestID, w.RequestID)
	switch {
	case w.Type != "": // v2.0
		e.Type = w.Type
		e.Code = flexString(w.Code)
		e.Description = w.Description
		e.DocURL = w.DocURL
		e.Resolution = resolution(w.Resolution)
		e.SuggestedUserMessage = w.SuggestedUserMessage
		e.Detail = parseDetail(w.Detail)
	case len(w.Errors) > 0: // v3 JSON:API: report the first error
		x := w.Errors[0]
		e.Type = cmp.Or(x.Type, TypeSDK)
		e.Code = flexString(x.Code)
		var detail string
		if json.Unmarshal(x.Detail, &detail) != nil {
			e.Detail = parseDetail(x.Detail) // a validation error's list
		}
		e.Description = cmp.Or(detail, x.Description, x.Title)
		var about link // a string or {"href": ...}
		_ = about.UnmarshalJSON(x.Links.About)
		e.DocURL = cmp.Or(string(about), x.DocURL)
		e.RequestID = cmp.Or(e.RequestID, x.RequestID)
		e.Resolution = resolution(x.Resolution)
		e.SuggestedUserMessage = x.SuggestedUserMessage
	case w.Error != "" && (w.Message != "" || len(w.Code) > 0): // v1.0
		e.Type = cmp.Or(v1Types[w.Error], w.Error)
		e.Code = flexString(w.Code)
		e.Description = w.Message
		e.DocURL = w.DocURL
		e.Resolution = resolution(w.Resolution)
	case w.Error != "": // OAuth
		e.Type = TypeOAuth
		e.Code = w.Error
		e.Description = w.ErrorDescription
	default:
		e.Type, e.Code = TypeSDK, "INVALID_RESPONSE"
		e.Description = "unrecognised error body: " + snippet(trimmed)
	}
	return e
}

// flexString reads a code sent as a string or a number; anything else is "".
func flexString(raw json.RawMessage) string {
	var f FlexString
	if len(raw) == 0 || f.UnmarshalJSON(raw) != nil {
		return ""
	}
	return string(f)
}

// resolution reads a resolution leniently: a malformed one is empty.
func resolution(raw json.RawMessage) Resolution {
	var r Resolution
	if len(raw) == 0 || r.UnmarshalJSON(raw) != nil {
		return Resolution{}
	}
	return r
}

// parseDetail keeps a validation error's detail when it is a list of objects.
func parseDetail(raw json.RawMessage) []map[string]any {
	if len(raw) == 0 {
		return nil
	}
	var d []map[string]any
	if json.Unmarshal(raw, &d) != nil {
		return nil
	}
	return d
}

// snippet is the start of a body as one line of valid UTF-8.
func snippet(b []byte) string {
	if len(b) > maxSnippet {
		b = b[:maxSnippet]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
	if len(b) == maxSnippet {
		s += "…"
	}
	return s
}

// redact removes every secret from e's text fields and returns e.
func (e *Error) redact(secrets secrets) *Error {
	for _, f := range []*string{&e.Type, &e.Code, &e.Description, &e.DocURL, &e.RequestID,
		&e.SuggestedUserMessage, &e.Resolution.Type, &e.Resolution.URL} {
		*f = redact(*f, secrets)
	}
	for i, m := range e.Detail {
		if m != nil {
			e.Detail[i], _ = redactAny(m, secrets).(map[string]any)
		}
	}
	return e
}

// redactAny removes every secret from the strings (and keys) of a decoded
// JSON value.
func redactAny(v any, secrets secrets) any {
	switch x := v.(type) {
	case string:
		return redact(x, secrets)
	case []any:
		for i := range x {
			x[i] = redactAny(x[i], secrets)
		}
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[redact(k, secrets)] = redactAny(val, secrets)
		}
		return out
	}
	return v
}

func redactBytes(b []byte, secrets secrets) []byte {
	for _, s := range secrets {
		if s != "" && bytes.Contains(b, []byte(s)) {
			b = bytes.ReplaceAll(b, []byte(s), []byte("REDACTED"))
		}
	}
	return b
}

// UnmarshalJSON accepts a resolution as an object ({"type": ..., "url": ...},
// type may be null), a bare string ("REAUTHENTICATE") or null.
func (r *Resolution) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*r = Resolution{}
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*r = Resolution{Type: s}
		return nil
	}
	var w struct {
		Type *string `json:"type"`
		URL  *string `json:"url"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*r = Resolution{}
	if w.Type != nil {
		r.Type = *w.Type
	}
	if w.URL != nil {
		r.URL = *w.URL
	}
	return nil
}

// FlexString is a string that also accepts a JSON number when decoded (and
// null as ""), for fields whose type differs between Smartcar's docs and its
// responses.
type FlexString string

// UnmarshalJSON accepts a string, a number or null.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
	default:
		if _, err := strconv.ParseFloat(string(b), 64); err != nil {
			return errors.New("smartcar: FlexString: want a string or a number, got " + snippet(b))
		}
		*f = FlexString(b)
	}
	return nil
}
