package redisregistry

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/registry"
)

func TestRedisVehicleCodec(t *testing.T) {
	at := time.Date(2026, 5, 1, 8, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name     string
		v        registry.Vehicle
		wantFast bool // the fast decoder handles it; otherwise encoding/json does
	}{
		{"plain", registry.Vehicle{ID: "v", GrantID: "g-1", Tags: []string{"a", "b c"}, Status: events.StatusConnected, ConnectedAt: at}, true},
		{"user_id", registry.Vehicle{ID: "v", GrantID: "g-1", UserID: "u-1", Tags: []string{"a"}, Status: events.StatusConnected, ConnectedAt: at}, true},
		{"user_id_no_tags", registry.Vehicle{ID: "v", GrantID: "g-1", UserID: "u-1", Status: events.StatusConnected, ConnectedAt: at}, true},
		{"user_id_escaped", registry.Vehicle{ID: "v", GrantID: "g", UserID: `u"1`, Status: events.StatusConnected, ConnectedAt: at}, false},
		{"no_tags", registry.Vehicle{ID: "v", GrantID: "g", Status: events.StatusDisabled, Reason: "x|y", LastPoll: at, ConnectedAt: at}, true},
		{"zero_time", registry.Vehicle{ID: "v", GrantID: "g", Status: events.StatusConnected}, true},
		{"unicode", registry.Vehicle{ID: "v", GrantID: "ünï", Tags: []string{"日本"}, Status: events.StatusConnected, ConnectedAt: at}, true},
		{"escaped_quote", registry.Vehicle{ID: "v", GrantID: `g"1`, Tags: []string{`a\b`}, Status: events.StatusConnected, ConnectedAt: at}, false},
		{"html_escaped", registry.Vehicle{ID: "v", GrantID: "<g&>", Status: events.StatusNeedsReauth, ConnectedAt: at}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := encodeRegistration(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			fast, ok := decodeRegistrationFast(reg)
			if ok != tt.wantFast {
				t.Errorf("fast decoder ok = %v, want %v for %s", ok, tt.wantFast, reg)
			}
			if ok {
				var slow registration
				if err := json.Unmarshal([]byte(reg), &slow); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(slow, fast); diff != "" {
					t.Errorf("fast decoder differs from encoding/json (-json +fast):\n%s", diff)
				}
			}
			got, err := decodeVehicle(tt.v.ID, reg, formatState(tt.v.Status, tt.v.LastPoll, tt.v.Reason))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.v, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRegistrationFast_rejects(t *testing.T) {
	for _, s := range []string{
		``, `{}`, `{"grant_id":"g"}`,
		`{"connected_at":"2026-05-01T08:00:00Z","grant_id":"g"}`, // other key order
		`{"grant_id":"g","tags":["a",],"connected_at":"2026-05-01T08:00:00Z"}`,
		`{"grant_id":"g","tags":["a"],"connected_at":"2026-05-01T08:00:00Z"} `,
		"{\"grant_id\":\"g\x01\",\"connected_at\":\"2026-05-01T08:00:00Z\"}",
		`{"grant_id":"g","connected_at":"yesterday"}`,
		`{"grant_id":"g","connected_at":"2026-05-01T08:00:00Z","extra":1}`,
		`{"grant_id":"g","tags":["a"],"user_id":"u","connected_at":"2026-05-01T08:00:00Z"}`, // user_id after tags
		`{"grant_id":"g","user_id":5,"connected_at":"2026-05-01T08:00:00Z"}`,
	} {
		if r, ok := decodeRegistrationFast(s); ok {
			t.Errorf("decodeRegistrationFast(%q) = %+v, true; want false", s, r)
		}
	}
}
