package kvregistry

import (
	"reflect"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/registry"
)

func TestMirrorVehicle_roundTrip(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 30, 1, 123456789, time.UTC)
	for _, v := range []registry.Vehicle{
		{ID: "v1", GrantID: "g", Status: events.StatusConnected, ConnectedAt: at},
		{ID: "v2", GrantID: "g", UserID: "u", Tags: []string{"fleet", "", "a,b", "\x00\xff", string(make([]byte, 300))},
			Status: events.StatusNeedsReauth, Reason: "token revoked", LastPoll: at.Add(time.Hour), ConnectedAt: at},
		{ID: "v3", Tags: []string{}, Status: "something-new"},
		{ID: "v4", LastPoll: time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), ConnectedAt: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if got := compactVehicle(v).vehicle(); !reflect.DeepEqual(got, v) {
			t.Errorf("round trip of\n%+v gives\n%+v", v, got)
		}
	}
}

func TestMirrorVehicle_sharesStrings(t *testing.T) {
	a := compactVehicle(registry.Vehicle{ID: "a", GrantID: string([]byte("grant-1")), Tags: []string{string([]byte("fleet"))}})
	b := compactVehicle(registry.Vehicle{ID: "b", GrantID: string([]byte("grant-1")), Tags: []string{string([]byte("fleet"))}})
	if a.grant != b.grant || a.tags != b.tags {
		t.Error("equal grants or tag sets are not shared")
	}
	// The tags handed out are the caller's own.
	va, vb := a.vehicle(), b.vehicle()
	va.Tags[0] = "changed"
	if vb.Tags[0] != "fleet" || a.vehicle().Tags[0] != "fleet" {
		t.Error("a caller's change to Tags reached the mirror")
	}
}
