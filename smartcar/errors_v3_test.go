package smartcar_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

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
