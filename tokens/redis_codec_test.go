package tokens

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestRedisVehicleCodec(t *testing.T) {
	at := time.Date(2026, 5, 1, 8, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name     string
		v        Vehicle
		wantFast bool // the fast decoder handles it; otherwise encoding/json does
	}{
		{"plain", Vehicle{ID: "v", GrantID: "g-1", Tags: []string{"a", "b c"}, Status: StatusConnected, ConnectedAt: at}, true},
		{"no_tags", Vehicle{ID: "v", GrantID: "g", Status: StatusDisabled, Reason: "x|y", LastPoll: at, ConnectedAt: at}, true},
		{"zero_time", Vehicle{ID: "v", GrantID: "g", Status: StatusConnected}, true},
		{"unicode", Vehicle{ID: "v", GrantID: "ünï", Tags: []string{"日本"}, Status: StatusConnected, ConnectedAt: at}, true},
		{"escaped_quote", Vehicle{ID: "v", GrantID: `g"1`, Tags: []string{`a\b`}, Status: StatusConnected, ConnectedAt: at}, false},
		{"html_escaped", Vehicle{ID: "v", GrantID: "<g&>", Status: StatusNeedsReauth, ConnectedAt: at}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := encodeRedisVehicle(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			fast, ok := decodeRegistrationFast(reg)
			if ok != tt.wantFast {
				t.Errorf("fast decoder ok = %v, want %v for %s", ok, tt.wantFast, reg)
			}
			if ok {
				var slow redisVehicle
				if err := json.Unmarshal([]byte(reg), &slow); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(slow, fast); diff != "" {
					t.Errorf("fast decoder differs from encoding/json (-json +fast):\n%s", diff)
				}
			}
			got, err := decodeRedisVehicle(tt.v.ID, reg, formatState(tt.v.Status, tt.v.LastPoll, tt.v.Reason))
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
	} {
		if r, ok := decodeRegistrationFast(s); ok {
			t.Errorf("decodeRegistrationFast(%q) = %+v, true; want false", s, r)
		}
	}
}
