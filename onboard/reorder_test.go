package onboard_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
)

// vehicleState is a VEHICLE_STATE delivery with an odometer reading taken
// at oem, and a location when lat is not 0.
func vehicleState(eventID, vehicleID string, km float64, oem time.Time, lat float64) []byte {
	meta := fmt.Sprintf(`{"retrievedAt":%d,"oemUpdatedAt":%d}`, oem.Add(time.Second).UnixMilli(), oem.UnixMilli())
	signals := fmt.Sprintf(`{"code":"odometer-traveleddistance","name":"TraveledDistance","group":"Odometer",
		"body":{"value":%g,"unit":"kilometers"},"meta":%s}`, km, meta)
	if lat != 0 {
		signals += fmt.Sprintf(`,{"code":"location-preciselocation","name":"PreciseLocation","group":"Location",
			"body":{"latitude":%g,"longitude":2.5},"meta":%s}`, lat, meta)
	}
	return fmt.Appendf(nil, `{"eventId":%q,"eventType":"VEHICLE_STATE","data":{"vehicle":{"id":%q},"user":{"id":"u"},
		"signals":[%s]},"triggers":[{"type":"SIGNAL_UPDATED","signal":{"code":"odometer-traveleddistance"}}],
		"meta":{"version":"4.0","deliveryId":"d-%s","deliveredAt":%d,"webhookId":"w","mode":"LIVE"}}`,
		eventID, vehicleID, signals, eventID, oem.Add(2*time.Second).UnixMilli())
}

// odometers returns the vehicle's odometer readings in the events stream.
func (r *rig) odometers(t *testing.T, vehicleID string) []float64 {
	t.Helper()
	var out []float64
	for _, ev := range r.events(t) {
		if s, _ := ev.Signal(); s != events.SignalOdometer || ev.VehicleID() != vehicleID {
			continue
		}
		var d events.OdometerData
		if err := ev.DecodeData(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d.DistanceKm)
	}
	return out
}

// TestHandler_Webhook_reordered: Smartcar delivers a newer state before an
// older one. The older odometer reading is left out (the latest state keeps
// the newer one); what the older delivery has that is new (a location) is
// published.
func TestHandler_Webhook_reordered(t *testing.T) {
	r := newRig(t)
	ctx := ctxT(t)
	id := r.sim.VehicleIDs()[0]
	r.register(t, id)
	t1 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	t2 := t1.Add(10 * time.Minute)
	r.postSigned(t, "state-2", vehicleState("state-2", id, 200, t2, 0))
	r.postSigned(t, "state-1", vehicleState("state-1", id, 100, t1, 48.5))
	if got := r.odometers(t, id); fmt.Sprint(got) != "[200]" {
		t.Errorf("odometer events %v, want only the newer reading", got)
	}
	latest, err := r.pub.Get(ctx, id, events.SignalOdometer)
	if err != nil {
		t.Fatal(err)
	}
	if !latest.Time.Equal(t2) {
		t.Errorf("latest odometer from %s, want the newer delivery's %s", latest.Time, t2)
	}
	if _, err := r.pub.Get(ctx, id, events.SignalLocation); err != nil {
		t.Errorf("the older delivery's location, new to the vehicle, was not published: %v", err)
	}
	// A newer delivery still goes through.
	r.postSigned(t, "state-3", vehicleState("state-3", id, 300, t2.Add(time.Minute), 0))
	if got := r.odometers(t, id); fmt.Sprint(got) != "[200 300]" {
		t.Errorf("odometer events %v, want 200 then 300", got)
	}
	if s := r.h.Stats(); s.StaleEvents != 1 || s.EventsPublished != 3 {
		t.Errorf("stats %+v, want 1 stale event and 3 published", s)
	}
}
