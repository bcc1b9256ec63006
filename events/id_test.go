package events_test

import (
	"regexp"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/events"
)

func TestEventID(t *testing.T) {
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	ids := map[string]string{
		"EventID":                 events.EventID("default/v1/1700000000", "/odometer"),
		"EventID other path":      events.EventID("default/v1/1700000000", "/location"),
		"EventID other job":       events.EventID("default/v1/1700001800", "/odometer"),
		"EventID shifted":         events.EventID("default/v1/1700000000/", "odometer"),
		"ErrorEventID":            events.ErrorEventID("default/v1/1700000000", "/odometer"),
		"StatusEventID":           events.StatusEventID("default/v1/1700000000", events.StatusNeedsReauth),
		"StatusEventID other":     events.StatusEventID("default/v1/1700000000", events.StatusDisabled),
		"StatusEventID other job": events.StatusEventID("default/v1/1700001800", events.StatusNeedsReauth),
	}
	seen := map[string]string{}
	for name, id := range ids {
		if !hex32.MatchString(id) {
			t.Errorf("%s = %q, want 32 lowercase hex characters", name, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s share id %s", name, other, id)
		}
		seen[id] = name
	}
	if a, b := events.EventID("default/v1/1700000000", "/odometer"), ids["EventID"]; a != b {
		t.Errorf("EventID is not deterministic: %s then %s", b, a)
	}
	if a, b := events.StatusEventID("default/v1/1700000000", events.StatusNeedsReauth), ids["StatusEventID"]; a != b {
		t.Errorf("StatusEventID is not deterministic: %s then %s", b, a)
	}
}
