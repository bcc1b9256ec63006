package events_test

import (
	"testing"

	"github.com/smartcar-poller/smartcar-poller/events"
)

func TestStatus(t *testing.T) {
	for _, tt := range []struct {
		s               events.Status
		valid, pollable bool
	}{
		{events.StatusConnected, true, true},
		{events.StatusRateLimited, true, true},
		{events.StatusNeedsReauth, true, false},
		{events.StatusDisabled, true, false},
		{events.StatusDisconnected, true, false},
		{"", false, false},
		{"asleep", false, false},
	} {
		if got := tt.s.Valid(); got != tt.valid {
			t.Errorf("Status(%q).Valid() = %v, want %v", tt.s, got, tt.valid)
		}
		if got := tt.s.Pollable(); got != tt.pollable {
			t.Errorf("Status(%q).Pollable() = %v, want %v", tt.s, got, tt.pollable)
		}
	}
	for _, s := range events.Statuses() {
		if !s.Valid() {
			t.Errorf("Statuses() holds %q, which is not Valid", s)
		}
	}
}
