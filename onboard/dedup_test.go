package onboard_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/onboard"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestHandler_Webhook_dedupRetention checks that a delivered eventId is
// remembered for DefaultDedupTTL, 7 days as Smartcar asks, where it is
// stored: the rig's Redis key for the mark lives that long.
func TestHandler_Webhook_dedupRetention(t *testing.T) {
	if onboard.DefaultDedupTTL < 7*24*time.Hour {
		t.Fatalf("DefaultDedupTTL = %s, want at least 7 days", onboard.DefaultDedupTTL)
	}
	r := newRig(t)
	id := r.sim.VehicleIDs()[0]
	r.register(t, id)
	if err := r.sim.SendWebhook(ctxT(t), r.webhookURL(), smartcartest.EventVehicleState, id); err != nil {
		t.Fatal(err)
	}
	body, _ := r.last()
	var wh struct {
		EventID string `json:"eventId"`
	}
	if err := json.Unmarshal(body, &wh); err != nil || wh.EventID == "" {
		t.Fatalf("delivery %s: no eventId (%v)", body, err)
	}
	ttl, err := testserver.Redis(t).PTTL(ctxT(t), r.prefix+":webhook_event:"+wh.EventID).Result()
	if err != nil {
		t.Fatal(err)
	}
	if least := onboard.DefaultDedupTTL - time.Minute; ttl < least || ttl > onboard.DefaultDedupTTL {
		t.Errorf("the mark of event %s expires in %s, want %s", wh.EventID, ttl, onboard.DefaultDedupTTL)
	}
}
