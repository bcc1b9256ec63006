package smartcar_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

func TestVehicleV3_errors(t *testing.T) {
	now := time.Date(2026, 12, 14, 9, 30, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name          string
		status        int
		header        map[string]string
		body          string
		want          *smartcar.Error
		retryable     bool
		quota         bool
		wantNotBefore time.Time
	}{
		{
			name:   "flat quota exhausted",
			status: 430,
			body: `{"type":"BILLING","code":"VEHICLE_REQUEST_LIMIT","description":"monthly limit","docURL":"https://smartcar.com/docs/errors/api-errors/v3/billing",
				"statusCode":430,"requestId":"req-body","resolution":{"type":"CONTACT_SUPPORT"},"suggestedUserMessage":"Later."}`,
			want: &smartcar.Error{StatusCode: 430, Type: "BILLING", Code: "VEHICLE_REQUEST_LIMIT", Description: "monthly limit",
				DocURL: "https://smartcar.com/docs/errors/api-errors/v3/billing", RequestID: "req-v3",
				Resolution: smartcar.Resolution{Type: "CONTACT_SUPPORT"}, SuggestedUserMessage: "Later."},
			quota:         true,
			wantNotBefore: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name:   "json:api quota exhausted",
			status: 430,
			body:   `{"errors":[{"status":"430","type":"BILLING","code":"VEHICLE_REQUEST_LIMIT","title":"Billing","detail":"spent","requestId":"r"}]}`,
			want: &smartcar.Error{StatusCode: 430, Type: "BILLING", Code: "VEHICLE_REQUEST_LIMIT", Description: "spent",
				RequestID: "req-v3"},
			quota:         true,
			wantNotBefore: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		},
		{
			name:   "json:api upstream with links.about as an object",
			status: 502,
			body: `{"errors":[{"status":"502","type":"UPSTREAM","code":"INVALID_DATA","title":"Bad Gateway","detail":"bad data",
				"links":{"about":{"href":"https://smartcar.com/docs/up"}},"resolution":{"type":"RETRY_LATER"},"suggestedUserMessage":"later"},
				{"type":"SERVER"}]}`,
			want: &smartcar.Error{StatusCode: 502, Type: "UPSTREAM", Code: "INVALID_DATA", Description: "bad data",
				DocURL: "https://smartcar.com/docs/up", RequestID: "req-v3", Resolution: smartcar.Resolution{Type: "RETRY_LATER"},
				SuggestedUserMessage: "later"},
			retryable: true,
		},
		{
			name:   "json:api validation with a detail list",
			status: 400,
			body:   `{"errors":[{"type":"VALIDATION","code":"PARAMETER","title":"missing userId","detail":[{"field":["sc-user-id"]}]}]}`,
			want: &smartcar.Error{StatusCode: 400, Type: "VALIDATION", Code: "PARAMETER", Description: "missing userId",
				RequestID: "req-v3", Detail: []map[string]any{{"field": []any{"sc-user-id"}}}},
		},
		{
			name:   "flat missing user id",
			status: 400,
			body:   `{"type":"VALIDATION","code":"PARAMETER","description":"missing userId","statusCode":400}`,
			want:   &smartcar.Error{StatusCode: 400, Type: "VALIDATION", Code: "PARAMETER", Description: "missing userId", RequestID: "req-v3"},
		},
		{
			name:   "vehicle rate limit",
			status: 429,
			header: map[string]string{"Retry-After": "120"},
			body:   `{"type":"RATE_LIMIT","code":"VEHICLE","description":"slow down"}`,
			want: &smartcar.Error{StatusCode: 429, Type: "RATE_LIMIT", Code: "VEHICLE", Description: "slow down", RequestID: "req-v3",
				RetryAfter: 2 * time.Minute},
			retryable:     true,
			wantNotBefore: now.Add(2 * time.Minute),
		},
		{
			name:   "permission",
			status: 403,
			body:   `{"type":"PERMISSION","code":null,"description":"user uid did not connect vid","resolution":{"type":"REAUTHENTICATE"}}`,
			want: &smartcar.Error{StatusCode: 403, Type: "PERMISSION", Description: "user uid did not connect vid", RequestID: "req-v3",
				Resolution: smartcar.Resolution{Type: "REAUTHENTICATE"}},
		},
		{
			name:   "other billing errors are not a spent quota",
			status: 430,
			body:   `{"type":"BILLING","code":"VEHICLE_LIMIT","description":"too many vehicles"}`,
			want:   &smartcar.Error{StatusCode: 430, Type: "BILLING", Code: "VEHICLE_LIMIT", Description: "too many vehicles", RequestID: "req-v3"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newV3Fake(t, map[string][]reply{"GET /v3/vehicles/vid/signals": {{status: tt.status, header: tt.header, body: tt.body}}})
			_, err := f.app(t).Vehicle("vid", "uid").Signals(t.Context())
			e, ok := err.(*smartcar.Error)
			if !ok {
				t.Fatalf("error %v (%T), want *smartcar.Error", err, err)
			}
			if diff := cmp.Diff(tt.want, e, ignoreErr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if e.Retryable() != tt.retryable || e.Permanent() == tt.retryable || e.QuotaExhausted() != tt.quota {
				t.Errorf("Retryable %v Permanent %v QuotaExhausted %v; want retryable %v, quota %v",
					e.Retryable(), e.Permanent(), e.QuotaExhausted(), tt.retryable, tt.quota)
			}
			wrapped := fmt.Errorf("poll: %w", err)
			nb, ok := smartcar.NotBefore(wrapped, now)
			if !nb.Equal(tt.wantNotBefore) || ok == tt.wantNotBefore.IsZero() {
				t.Errorf("NotBefore = %v, %v; want %v", nb, ok, tt.wantNotBefore)
			}
		})
	}
}

func TestError_NotBefore(t *testing.T) {
	quota := &smartcar.Error{Type: smartcar.TypeBilling, Code: "VEHICLE_REQUEST_LIMIT", StatusCode: 430, RetryAfter: time.Hour}
	tests := []struct {
		now  time.Time
		want time.Time
	}{
		{time.Date(2026, 1, 31, 23, 59, 59, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		// 00:30 on 1 March in UTC+1 is still February in UTC.
		{time.Date(2026, 3, 1, 0, 30, 0, 0, time.FixedZone("CET", 3600)), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		if got := quota.NotBefore(tt.now); !got.Equal(tt.want) {
			t.Errorf("NotBefore(%v) = %v, want %v (the quota wins over Retry-After)", tt.now, got, tt.want)
		}
	}
	if got := (&smartcar.Error{Type: smartcar.TypeServer}).NotBefore(time.Now()); !got.IsZero() {
		t.Errorf("NotBefore of a server error = %v, want zero", got)
	}
	if _, ok := smartcar.NotBefore(errors.New("plain"), time.Now()); ok {
		t.Error("NotBefore(plain error) reported a time")
	}
	if !strings.Contains(quota.Error(), "BILLING:VEHICLE_REQUEST_LIMIT") {
		t.Errorf("Error() = %q", quota.Error())
	}
}
