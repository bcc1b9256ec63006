package smartcar

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error types from the Smartcar API (https://smartcar.com/docs/api-reference/api-errors
// links a page per type). TypeSDK marks a
// failure produced on the client side: a transport error, a timeout or a
// response body that could not be understood.
const (
	TypeAuthentication           = "AUTHENTICATION"
	TypePermission               = "PERMISSION"
	TypeResourceNotFound         = "RESOURCE_NOT_FOUND"
	TypeValidation               = "VALIDATION"
	TypeConnectedServicesAccount = "CONNECTED_SERVICES_ACCOUNT"
	TypeBilling                  = "BILLING"
	TypeCompatibility            = "COMPATIBILITY"
	TypeRateLimit                = "RATE_LIMIT"
	TypeUpstream                 = "UPSTREAM"
	TypeVehicleState             = "VEHICLE_STATE"
	TypeServer                   = "SERVER"
	TypeSDK                      = "SDK_ERROR"
	// TypeOAuth is used for token-endpoint errors ({"error": "invalid_grant", ...});
	// the OAuth error string is then in Code.
	TypeOAuth = "OAUTH"
)

// Resolution tells a caller what Smartcar suggests doing about an error.
type Resolution struct {
	Type string `json:"type,omitempty"` // RETRY_LATER, REAUTHENTICATE, CONTACT_SUPPORT or ""
	URL  string `json:"url,omitempty"`
}

// Error is every failure of a request to Smartcar: an API error body (v2.0,
// v1.0 or OAuth), a body that is not JSON, or a transport failure. It never
// holds an access token, refresh token or client secret.
type Error struct {
	StatusCode           int
	Type                 string
	Code                 string
	Description          string
	DocURL               string
	RequestID            string
	Resolution           Resolution
	SuggestedUserMessage string
	Detail               []map[string]any
	RetryAfter           time.Duration // from the Retry-After header; 0 when absent
	Err                  error         // the underlying transport or decoding error, if any
}

// Error formats the error as Smartcar's SDKs do: "TYPE:CODE - description".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Type)
	if e.Code != "" {
		b.WriteByte(':')
		b.WriteString(e.Code)
	}
	if e.Description != "" {
		b.WriteString(" - ")
		b.WriteString(e.Description)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.RequestID != "" {
		b.WriteString(" request_id=")
		b.WriteString(e.RequestID)
	}
	return b.String()
}

// Unwrap returns the underlying transport or decoding error.
func (e *Error) Unwrap() error { return e.Err }

// IsRateLimit reports whether Smartcar throttled the request (RATE_LIMIT:*).
func (e *Error) IsRateLimit() bool { return e.Type == TypeRateLimit || e.StatusCode == 429 }

// Retryable reports whether the same request may succeed later without anyone
// acting: rate limits, upstream and server faults, a sleeping or unreachable
// vehicle, state preconditions, and client-side transport failures (but not
// an unparsable 4xx body). A spent monthly quota is not retryable: see
// QuotaExhausted and NotBefore.
func (e *Error) Retryable() bool {
	switch e.Type {
	case TypeRateLimit, TypeUpstream:
		return true
	case TypeSDK:
		// A client-side failure: retry, unless the server answered a 4xx
		// the SDK could not parse (an HTML 404 page will not change).
		return e.StatusCode < 400 || e.StatusCode >= 500 || e.StatusCode == 408 || e.StatusCode == 429
	case TypeServer:
		return e.Code == "" || e.Code == "INTERNAL"
	case TypeVehicleState:
		switch e.Code {
		case "REMOTE_ACCESS_DISABLED",
			"CHARGING_IN_PROGRESS", "CHARGING_PLUG_CONNECTED", "CHARGING_PLUG_NOT_CONNECTED":
			return false
		}
		return true
	case TypeAuthentication, TypePermission, TypeResourceNotFound, TypeValidation,
		TypeConnectedServicesAccount, TypeBilling, TypeCompatibility, TypeOAuth:
		return false
	}
	// Unknown type: 429 and 5xx retry, everything else is permanent.
	return e.StatusCode == 429 || e.StatusCode >= 500 || e.StatusCode == 0
}

// NeedsReauth reports whether the user must go through Smartcar Connect again
// before this grant or vehicle works: a rejected refresh token or code
// (invalid_grant), a connected-services account problem, or remote access
// switched off in the car. An AUTHENTICATION error on a data call is not
// included: refreshing the access token usually fixes it.
func (e *Error) NeedsReauth() bool {
	switch e.Type {
	case TypeOAuth:
		return e.Code == "invalid_grant"
	case TypeConnectedServicesAccount:
		return true
	case TypeVehicleState:
		return e.Code == "REMOTE_ACCESS_DISABLED"
	}
	return e.Resolution.Type == "REAUTHENTICATE" && e.Type != TypePermission
}

// Permanent reports whether repeating the request cannot help until a human
// acts (programming errors, permissions, compatibility, billing, invalid
// credentials) or, for an exhausted quota (QuotaExhausted), until the time
// NotBefore returns. Exactly one of Permanent and Retryable is true.
func (e *Error) Permanent() bool { return !e.Retryable() }

// QuotaExhausted reports whether the vehicle's monthly request quota is spent
// (BILLING:VEHICLE_REQUEST_LIMIT, HTTP 430): no request for that vehicle can
// succeed before the billing period resets, which NotBefore tells. It is not
// Retryable: retrying sooner only repeats the 430.
func (e *Error) QuotaExhausted() bool {
	return e.Type == TypeBilling && e.Code == "VEHICLE_REQUEST_LIMIT"
}

// NotBefore returns the earliest time, seen from now, at which the same
// request may succeed: for an exhausted quota the start of the next calendar
// month in UTC (when the billing period resets), else now plus RetryAfter
// when Smartcar sent one. It returns the zero time when the error names no
// such time.
func (e *Error) NotBefore(now time.Time) time.Time {
	switch {
	case e.QuotaExhausted():
		return nextMonthUTC(now)
	case e.RetryAfter > 0:
		return now.Add(e.RetryAfter)
	}
	return time.Time{}
}

// nextMonthUTC is 00:00 UTC on the first day of the month after now's.
func nextMonthUTC(now time.Time) time.Time {
	u := now.UTC()
	return time.Date(u.Year(), u.Month()+1, 1, 0, 0, 0, 0, time.UTC)
}

// AsError returns err as a *Error if it is one (or wraps one).
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// NotBefore returns Error.NotBefore(now) if err is a *Error (or wraps one)
// that names the earliest time the request may succeed again.
func NotBefore(err error, now time.Time) (time.Time, bool) {
	if e, ok := AsError(err); ok {
		if t := e.NotBefore(now); !t.IsZero() {
			return t, true
		}
	}
	return time.Time{}, false
}

// RetryAfter returns how long Smartcar asked the caller to wait, if err is a
// *Error carrying a Retry-After header.
func RetryAfter(err error) (time.Duration, bool) {
	if e, ok := AsError(err); ok && e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return 0, false
}
