package smartcar_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// ignoreErr skips the wrapped cause, which tests check with errors.Is/As.
var ignoreErr = cmpopts.IgnoreFields(smartcar.Error{}, "Err")

func TestVehicle_Odometer_errors(t *testing.T) {
	future := time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   *smartcar.Error
		// Retry-After as an HTTP date is relative to now, so it is checked by range.
		wantRetryAtLeast time.Duration
		retryable        bool
		reauth           bool
	}{
		{
			name:   "v2 vehicle rate limit with retry-after",
			status: 429,
			header: map[string]string{"Retry-After": "30", "SC-Request-Id": "req-9"},
			body: `{"type":"RATE_LIMIT","code":"VEHICLE","description":"slow down","docURL":"https://smartcar.com/docs/rl",
				"statusCode":429,"requestId":"req-9","resolution":{"type":"RETRY_LATER"},"suggestedUserMessage":"Try later."}`,
			want: &smartcar.Error{StatusCode: 429, Type: "RATE_LIMIT", Code: "VEHICLE", Description: "slow down",
				DocURL: "https://smartcar.com/docs/rl", RequestID: "req-9", Resolution: smartcar.Resolution{Type: "RETRY_LATER"},
				SuggestedUserMessage: "Try later.", RetryAfter: 30 * time.Second},
			retryable: true,
		},
		{
			name:   "v2 app rate limit without retry-after",
			status: 429,
			body:   `{"type":"RATE_LIMIT","code":"SMARTCAR_API","description":"app limit","requestId":"req-body"}`,
			want: &smartcar.Error{StatusCode: 429, Type: "RATE_LIMIT", Code: "SMARTCAR_API", Description: "app limit",
				RequestID: "req-body"},
			retryable: true,
		},
		{
			name:      "v2 asleep with a null resolution type",
			status:    409,
			body:      `{"type":"VEHICLE_STATE","code":"ASLEEP","description":"zzz","statusCode":409,"resolution":{"type":null}}`,
			want:      &smartcar.Error{StatusCode: 409, Type: "VEHICLE_STATE", Code: "ASLEEP", Description: "zzz"},
			retryable: true,
		},
		{
			name:   "v2 permission with a bare string resolution and null code",
			status: 403,
			body:   `{"type":"PERMISSION","code":null,"description":"no scope","resolution":"REAUTHENTICATE"}`,
			want: &smartcar.Error{StatusCode: 403, Type: "PERMISSION", Description: "no scope",
				Resolution: smartcar.Resolution{Type: "REAUTHENTICATE"}},
		},
		{
			name:   "v2 connected services account with a resolution url",
			status: 400,
			body: `{"type":"CONNECTED_SERVICES_ACCOUNT","code":"AUTHENTICATION_FAILED","description":"relogin",
				"resolution":{"type":"REAUTHENTICATE","url":"https://connect.example/re"}}`,
			want: &smartcar.Error{StatusCode: 400, Type: "CONNECTED_SERVICES_ACCOUNT", Code: "AUTHENTICATION_FAILED",
				Description: "relogin", Resolution: smartcar.Resolution{Type: "REAUTHENTICATE", URL: "https://connect.example/re"}},
			reauth: true,
		},
		{
			name:   "v2 validation with detail",
			status: 400,
			body:   `{"type":"VALIDATION","code":null,"description":"bad","detail":[{"field":["requests"],"message":"\"requests\" is required"}]}`,
			want: &smartcar.Error{StatusCode: 400, Type: "VALIDATION", Description: "bad",
				Detail: []map[string]any{{"field": []any{"requests"}, "message": `"requests" is required`}}},
		},
		{
			name:      "v2 with a malformed resolution and detail",
			status:    500,
			body:      `{"type":"SERVER","code":"INTERNAL","description":"oops","resolution":42,"detail":"x"}`,
			want:      &smartcar.Error{StatusCode: 500, Type: "SERVER", Code: "INTERNAL", Description: "oops"},
			retryable: true,
		},
		{
			name:      "v2 with a numeric code and a badly typed field",
			status:    502,
			body:      `{"type":"UPSTREAM","code":12,"description":"oem","statusCode":"502"}`,
			want:      &smartcar.Error{StatusCode: 502, Type: "UPSTREAM", Code: "12", Description: "oem"},
			retryable: true,
		},
		{
			name:   "v1 vehicle state",
			status: 409,
			header: map[string]string{"SC-Request-Id": "req-v1"},
			body:   `{"error":"vehicle_state_error","message":"Vehicle is asleep","code":"VS_000","statusCode":409}`,
			want: &smartcar.Error{StatusCode: 409, Type: "VEHICLE_STATE", Code: "VS_000", Description: "Vehicle is asleep",
				RequestID: "req-v1"},
			retryable: true,
		},
		{
			name:   "v1 owner action required",
			status: 400,
			body:   `{"error":"vehicle_owner_action_required","message":"log in","code":"VOA_000"}`,
			want:   &smartcar.Error{StatusCode: 400, Type: "CONNECTED_SERVICES_ACCOUNT", Code: "VOA_000", Description: "log in"},
			reauth: true,
		},
		{
			name:   "v1 unknown error name is kept",
			status: 418,
			body:   `{"error":"teapot_error","message":"short and stout"}`,
			want:   &smartcar.Error{StatusCode: 418, Type: "teapot_error", Description: "short and stout"},
		},
		{
			name:   "oauth",
			status: 401,
			body:   `{"error":"invalid_client","error_description":"Invalid client."}`,
			want:   &smartcar.Error{StatusCode: 401, Type: smartcar.TypeOAuth, Code: "invalid_client", Description: "Invalid client."},
		},
		{
			name:   "v3 errors array",
			status: 502,
			body: `{"errors":[{"status":"502","type":"UPSTREAM","code":"INVALID_DATA","title":"Bad Gateway","detail":"bad data",
				"links":{"about":"https://smartcar.com/docs/up"},"resolution":{"type":"RETRY_LATER"},"suggestedUserMessage":"later"}]}`,
			want: &smartcar.Error{StatusCode: 502, Type: "UPSTREAM", Code: "INVALID_DATA", Description: "bad data",
				DocURL: "https://smartcar.com/docs/up", Resolution: smartcar.Resolution{Type: "RETRY_LATER"}, SuggestedUserMessage: "later"},
			retryable: true,
		},
		{
			name:   "html 502 from a proxy with retry-after as a date",
			status: 502,
			header: map[string]string{"Content-Type": "text/html", "Retry-After": future},
			body:   "<html>\n<body>  Bad   Gateway </body></html>",
			want: &smartcar.Error{StatusCode: 502, Type: smartcar.TypeSDK, Code: "INVALID_RESPONSE",
				Description: "non-JSON error body: <html> <body> Bad Gateway </body></html>"},
			wantRetryAtLeast: 110 * time.Minute,
			retryable:        true,
		},
		{
			name:   "html 404 is not retryable",
			status: 404,
			header: map[string]string{"Content-Type": "text/html"},
			body:   "<h1>Not Found</h1>",
			want: &smartcar.Error{StatusCode: 404, Type: smartcar.TypeSDK, Code: "INVALID_RESPONSE",
				Description: "non-JSON error body: <h1>Not Found</h1>"},
		},
		{
			name:   "broken json",
			status: 500,
			body:   `{"type":`,
			want: &smartcar.Error{StatusCode: 500, Type: smartcar.TypeSDK, Code: "INVALID_RESPONSE",
				Description: `non-JSON error body: {"type":`},
			retryable: true,
		},
		{
			name:      "empty body with garbage retry-after",
			status:    503,
			header:    map[string]string{"Retry-After": "soon"},
			want:      &smartcar.Error{StatusCode: 503, Type: smartcar.TypeSDK, Code: "INVALID_RESPONSE", Description: "empty error body"},
			retryable: true,
		},
		{
			name:   "json of an unknown shape",
			status: 400,
			body:   `{"message":"nope"}`,
			want: &smartcar.Error{StatusCode: 400, Type: smartcar.TypeSDK, Code: "INVALID_RESPONSE",
				Description: `unrecognised error body: {"message":"nope"}`},
		},
		{
			name:   "json of the wrong kind",
			status: 500,
			body:   `["x"]`,
			want: &smartcar.Error{StatusCode: 500, Type: smartcar.TypeSDK, Code: "INVALID_RESPONSE",
				Description: `unrecognised error body: ["x"]`},
			retryable: true,
		},
		{
			name:   "the access token is redacted",
			status: 401,
			body:   `{"type":"AUTHENTICATION","description":"token secret-token is expired","suggestedUserMessage":"secret-token"}`,
			want: &smartcar.Error{StatusCode: 401, Type: "AUTHENTICATION", Description: "token REDACTED is expired",
				SuggestedUserMessage: "REDACTED"},
		},
		{
			name:      "fractional retry-after",
			status:    429,
			header:    map[string]string{"Retry-After": "1.5"},
			body:      `{"type":"RATE_LIMIT","code":"VEHICLE"}`,
			want:      &smartcar.Error{StatusCode: 429, Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 1500 * time.Millisecond},
			retryable: true,
		},
		{
			name:      "absurd retry-after is capped",
			status:    429,
			header:    map[string]string{"Retry-After": "99999999999999"},
			body:      `{"type":"RATE_LIMIT","code":"VEHICLE"}`,
			want:      &smartcar.Error{StatusCode: 429, Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 365 * 24 * time.Hour},
			retryable: true,
		},
		{
			name:      "negative retry-after and a past date are ignored",
			status:    429,
			header:    map[string]string{"Retry-After": "-5"},
			body:      `{"type":"RATE_LIMIT","code":"VEHICLE"}`,
			want:      &smartcar.Error{StatusCode: 429, Type: "RATE_LIMIT", Code: "VEHICLE"},
			retryable: true,
		},
		{
			name:      "retry-after date in the past",
			status:    429,
			header:    map[string]string{"Retry-After": "Mon, 02 Jan 2006 15:04:05 GMT"},
			body:      `{"type":"RATE_LIMIT","code":"VEHICLE"}`,
			want:      &smartcar.Error{StatusCode: 429, Type: "RATE_LIMIT", Code: "VEHICLE"},
			retryable: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, reply{status: tt.status, header: tt.header, body: tt.body})
			odo, err := srv.client().Vehicle("vid", "secret-token").Odometer(context.Background())
			if odo != nil {
				t.Errorf("odometer = %+v, want nil", odo)
			}
			e, ok := smartcar.AsError(err)
			if !ok {
				t.Fatalf("error = %v (%T), want *smartcar.Error", err, err)
			}
			got := *e
			if tt.wantRetryAtLeast > 0 {
				if got.RetryAfter < tt.wantRetryAtLeast || got.RetryAfter > tt.wantRetryAtLeast+20*time.Minute {
					t.Errorf("RetryAfter = %v, want about %v", got.RetryAfter, tt.wantRetryAtLeast)
				}
				got.RetryAfter = 0
			}
			if diff := cmp.Diff(*tt.want, got, ignoreErr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if e.Retryable() != tt.retryable || e.Permanent() == tt.retryable {
				t.Errorf("Retryable() = %v, Permanent() = %v, want retryable %v", e.Retryable(), e.Permanent(), tt.retryable)
			}
			if e.NeedsReauth() != tt.reauth {
				t.Errorf("NeedsReauth() = %v, want %v", e.NeedsReauth(), tt.reauth)
			}
			d, ok := smartcar.RetryAfter(err)
			if ok != (e.RetryAfter > 0) || d != e.RetryAfter {
				t.Errorf("RetryAfter(err) = %v, %v; want %v", d, ok, e.RetryAfter)
			}
			if strings.Contains(e.Error(), "secret-token") {
				t.Errorf("error text %q contains the access token", e.Error())
			}
		})
	}
}

func TestClient_responseBodies(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		wantCode string
		wantIs   error
	}{
		{name: "success body too large", status: 200, body: `{"distance":` + strings.Repeat("1", 100) + `}`, wantCode: "RESPONSE_TOO_LARGE"},
		{name: "error body too large", status: 500, body: `{"type":"SERVER","description":"` + strings.Repeat("x", 100) + `"}`, wantCode: "RESPONSE_TOO_LARGE"},
		{name: "malformed success body", status: 200, body: `{"distance":`, wantCode: "INVALID_RESPONSE", wantIs: io.ErrUnexpectedEOF},
		{name: "empty success body", status: 200, body: ``, wantCode: "INVALID_RESPONSE"},
		{name: "mistyped success body", status: 200, body: `{"distance":"far"}`, wantCode: "INVALID_RESPONSE"},
		{name: "html success body", status: 200, body: `<html></html>`, wantCode: "INVALID_RESPONSE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, reply{status: tt.status, body: tt.body, header: map[string]string{"SC-Request-Id": "req-b"}})
			c := srv.client(smartcar.WithMaxResponseBytes(64))
			_, err := c.Vehicle("vid", "tok").Odometer(context.Background())
			e := checkErr(t, err, smartcar.TypeSDK, tt.wantCode)
			if e.StatusCode != tt.status || e.RequestID != "req-b" || e.Err == nil {
				t.Errorf("error status=%d request id=%q cause=%v, want %d, req-b and a cause", e.StatusCode, e.RequestID, e.Err, tt.status)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
		})
	}
}

func TestError_classification(t *testing.T) {
	tests := []struct {
		err                          smartcar.Error
		retryable, reauth, rateLimit bool
	}{
		{err: smartcar.Error{Type: smartcar.TypeRateLimit, Code: "VEHICLE"}, retryable: true, rateLimit: true},
		{err: smartcar.Error{Type: smartcar.TypeUpstream, Code: "RATE_LIMIT", StatusCode: 429}, retryable: true, rateLimit: true},
		{err: smartcar.Error{Type: smartcar.TypeSDK, Code: "TIMEOUT"}, retryable: true},
		{err: smartcar.Error{Type: smartcar.TypeSDK, Code: "INVALID_RESPONSE", StatusCode: 408}, retryable: true},
		{err: smartcar.Error{Type: smartcar.TypeSDK, Code: "INVALID_RESPONSE", StatusCode: 403}},
		{err: smartcar.Error{Type: smartcar.TypeServer, Code: "INTERNAL"}, retryable: true},
		{err: smartcar.Error{Type: smartcar.TypeServer}, retryable: true},
		{err: smartcar.Error{Type: smartcar.TypeServer, Code: "RECORD_NOT_FOUND"}},
		{err: smartcar.Error{Type: smartcar.TypeVehicleState, Code: "ASLEEP"}, retryable: true},
		{err: smartcar.Error{Type: smartcar.TypeVehicleState, Code: "REMOTE_ACCESS_DISABLED"}, reauth: true},
		{err: smartcar.Error{Type: smartcar.TypeVehicleState, Code: "CHARGING_IN_PROGRESS"}},
		{err: smartcar.Error{Type: smartcar.TypeAuthentication}},
		{err: smartcar.Error{Type: smartcar.TypePermission, Resolution: smartcar.Resolution{Type: "REAUTHENTICATE"}}},
		{err: smartcar.Error{Type: smartcar.TypeCompatibility, Code: "VEHICLE_NOT_CAPABLE"}},
		{err: smartcar.Error{Type: smartcar.TypeBilling, Code: "VEHICLE_REQUEST_LIMIT"}},
		{err: smartcar.Error{Type: smartcar.TypeConnectedServicesAccount, Code: "SUBSCRIPTION"}, reauth: true},
		{err: smartcar.Error{Type: smartcar.TypeOAuth, Code: "invalid_grant"}, reauth: true},
		{err: smartcar.Error{Type: smartcar.TypeOAuth, Code: "invalid_client"}},
		{err: smartcar.Error{Type: "SOMETHING_NEW", StatusCode: 503}, retryable: true},
		{err: smartcar.Error{Type: "SOMETHING_NEW", StatusCode: 429}, retryable: true, rateLimit: true},
		{err: smartcar.Error{Type: "SOMETHING_NEW", StatusCode: 404}},
		{err: smartcar.Error{Type: "SOMETHING_NEW", StatusCode: 400, Resolution: smartcar.Resolution{Type: "REAUTHENTICATE"}}, reauth: true},
	}
	for _, tt := range tests {
		t.Run(tt.err.Type+":"+tt.err.Code, func(t *testing.T) {
			e := tt.err
			if got := e.Retryable(); got != tt.retryable {
				t.Errorf("Retryable() = %v, want %v", got, tt.retryable)
			}
			if got := e.Permanent(); got == tt.retryable {
				t.Errorf("Permanent() = %v, want %v", got, !tt.retryable)
			}
			if got := e.NeedsReauth(); got != tt.reauth {
				t.Errorf("NeedsReauth() = %v, want %v", got, tt.reauth)
			}
			if got := e.IsRateLimit(); got != tt.rateLimit {
				t.Errorf("IsRateLimit() = %v, want %v", got, tt.rateLimit)
			}
		})
	}
}

func TestError_Error(t *testing.T) {
	tests := []struct {
		err  smartcar.Error
		want string
	}{
		{smartcar.Error{Type: "VEHICLE_STATE", Code: "ASLEEP", Description: "zzz", StatusCode: 409, RequestID: "r1"},
			"VEHICLE_STATE:ASLEEP - zzz (HTTP 409) request_id=r1"},
		{smartcar.Error{Type: "PERMISSION", Description: "no"}, "PERMISSION - no"},
		{smartcar.Error{Type: "SDK_ERROR"}, "SDK_ERROR"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	wrapped := fmt.Errorf("batch: %w", &smartcar.Error{Type: smartcar.TypeRateLimit, RetryAfter: time.Second})
	if d, ok := smartcar.RetryAfter(wrapped); !ok || d != time.Second {
		t.Errorf("RetryAfter(wrapped) = %v, %v; want 1s, true", d, ok)
	}
	if _, ok := smartcar.RetryAfter(errors.New("plain")); ok {
		t.Error("RetryAfter(plain error) reported a duration")
	}
}

func TestError_longNonJSONBody(t *testing.T) {
	body := strings.Repeat("é", 300) // 600 bytes of two-byte runes
	srv := serve(t, reply{status: 502, body: body})
	_, err := srv.client().GetUser(context.Background(), "tok")
	e := checkErr(t, err, smartcar.TypeSDK, "INVALID_RESPONSE")
	want := "non-JSON error body: " + strings.Repeat("é", 128) + "…"
	if e.Description != want {
		t.Errorf("description = %q, want %q", e.Description, want)
	}
}

func TestVehicle_Request_tooLarge(t *testing.T) {
	srv := serve(t, reply{body: `{"data":"` + strings.Repeat("x", 100) + `"}`})
	_, err := srv.client(smartcar.WithMaxResponseBytes(32), smartcar.WithMaxResponseBytes(0)).
		Vehicle("vid", "tok").Request(context.Background(), "GET", "/x", nil)
	checkErr(t, err, smartcar.TypeSDK, "RESPONSE_TOO_LARGE")
}
