package normalize_test

import (
	"testing"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

func TestStatusOf(t *testing.T) {
	tests := []struct {
		e    *smartcar.Error
		want events.Status // "" leaves the status
	}{
		{nil, ""},
		{&smartcar.Error{Type: "VEHICLE_STATE", Code: "UNREACHABLE"}, ""},
		{&smartcar.Error{Type: "VEHICLE_STATE", Code: "ASLEEP"}, ""},
		{&smartcar.Error{Type: "VEHICLE_STATE", Code: "REMOTE_ACCESS_DISABLED"}, events.StatusNeedsReauth},
		{&smartcar.Error{Type: "CONNECTED_SERVICES_ACCOUNT", Code: "AUTHENTICATION_FAILED"}, events.StatusNeedsReauth},
		{&smartcar.Error{Type: "PERMISSION", Code: ""}, events.StatusDisabled},
		{&smartcar.Error{Type: "COMPATIBILITY", Code: "VEHICLE_NOT_CAPABLE"}, events.StatusDisabled},
		{&smartcar.Error{Type: "BILLING", Code: "INVALID_PLAN"}, events.StatusDisabled},
		{&smartcar.Error{Type: "BILLING", Code: "VEHICLE_REQUEST_LIMIT"}, ""},
		{&smartcar.Error{Type: "RATE_LIMIT", Code: "VEHICLE"}, ""},
		{&smartcar.Error{Type: "UPSTREAM", Code: "UNKNOWN_ISSUE"}, ""},
		{&smartcar.Error{Type: "SERVER", Code: "INTERNAL"}, ""},
	}
	for _, tt := range tests {
		got, ok := normalize.StatusOf(tt.e)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("StatusOf(%v) = %q, %v; want %q", tt.e, got, ok, tt.want)
		}
	}
}
