package smartcartest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

func TestServer_WebhooksV4(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithoutLimits())
	s.Connect(nil, nil)
	user := s.Users()[0]
	bev := parkedVehicle(t, s, clock, smartcartest.BEV) // parked: its lock only changes by command
	rc := &receiver{status: 200}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	w := s.AddWebhook(smartcartest.Webhook{URL: hook.URL, Triggers: []string{"closure-islocked"},
		Signals: []string{"closure-islocked", "odometer-traveleddistance", "tractionbattery-stateofcharge"}})
	app := appToken(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wait := func(what string, match func(d smartcartest.WebhookDelivery) bool) (smartcartest.WebhookDelivery, map[string]any) {
		t.Helper()
		d, err := s.WaitWebhookDelivery(ctx, match)
		if err != nil {
			t.Fatalf("%s: %v (deliveries: %+v)", what, err, s.WebhookDeliveries())
		}
		var p map[string]any
		if err := json.Unmarshal(d.Payload, &p); err != nil {
			t.Fatal(err)
		}
		return d, p
	}
	setStatus := func(code int) {
		rc.mu.Lock()
		rc.status = code
		rc.mu.Unlock()
	}
	lock := func(name string) {
		t.Helper()
		if r := v3(t, s, "POST", app, user, "/vehicles/"+bev.ID+"/commands/security/"+name, nil); r.status != 200 {
			t.Fatalf("%s: HTTP %d %s", name, r.status, r.body)
		}
	}
	subs := "/webhooks/" + w.ID + "/subscriptions"

	// Management API v3 refusals.
	if r := v3(t, s, "POST", app, "", "/webhooks/nope/subscriptions", map[string]any{"vehicleIds": []string{bev.ID}}); r.status != 404 {
		t.Errorf("unknown webhook: HTTP %d, want 404", r.status)
	}
	if r := v3(t, s, "POST", app, "", subs, map[string]any{"vehicleIds": []string{"not-connected"}}); r.status != 400 {
		t.Errorf("vehicle not connected: HTTP %d, want 400", r.status)
	}
	if r := v3(t, s, "GET", s.ManagementToken, "", subs, nil); r.status != 401 {
		t.Errorf("without an application token: HTTP %d, want 401", r.status)
	}

	// Subscribing sends FIRST_DELIVERY.
	r := v3(t, s, "POST", app, "", subs, map[string]any{"vehicleIds": []string{bev.ID}})
	if r.status != 202 || string(r.body) != `{"meta":{"message":"subscription creation in progress"}}` {
		t.Fatalf("subscribe: HTTP %d %s", r.status, r.body)
	}
	first, p := wait("first delivery", func(d smartcartest.WebhookDelivery) bool {
		return slices.Equal(d.Triggers, []string{"FIRST_DELIVERY"})
	})
	rc.mu.Lock()
	got := rc.got[0]
	rc.mu.Unlock()
	if got.signature != hmacHex(s.ManagementToken, got.body) || string(got.body) != string(first.Payload) {
		t.Errorf("delivery not signed with the AMT over the body it carries")
	}
	if p["eventType"] != "VEHICLE_STATE" || dig(p, "meta", "version") != "4.0" || dig(p, "meta", "webhookId") != w.ID ||
		dig(p, "meta", "signalCount") != 3.0 || dig(p, "meta", "mode") != "LIVE" || dig(p, "data", "user", "id") != user ||
		dig(p, "data", "vehicle", "id") != bev.ID || dig(p, "triggers", 0, "type") != "FIRST_DELIVERY" ||
		first.EventID == "" || dig(p, "eventId") != first.EventID || !first.OK || first.Status != 200 {
		t.Errorf("first delivery %+v: %s", first, first.Payload)
	}
	var codes []string
	for _, sg := range dig(p, "data", "signals").([]any) {
		codes = append(codes, dig(sg, "code").(string))
		if dig(sg, "body") == nil || dig(sg, "meta", "retrievedAt") == nil {
			t.Errorf("signal %v", sg)
		}
	}
	if diff := cmp.Diff([]string{"closure-islocked", "odometer-traveleddistance", "tractionbattery-stateofcharge"}, codes); diff != "" {
		t.Errorf("signals (-want +got):\n%s", diff)
	}
	var list struct {
		Data []struct {
			Attributes struct{ WebhookID, VehicleID, UserID, CreatedAt string }
		}
		Meta metaDoc
	}
	for _, path := range []string{subs, "/subscriptions?filter[vehicleId]=" + bev.ID} {
		r := v3(t, s, "GET", app, "", path, nil)
		r.decode(t, &list)
		if r.status != 200 || len(list.Data) != 1 || list.Data[0].Attributes.UserID != user ||
			list.Data[0].Attributes.WebhookID != w.ID || list.Meta.TotalCount != 1 {
			t.Errorf("GET %s: HTTP %d %s", path, r.status, r.body)
		}
	}

	// A trigger signal that changes sends SIGNAL_UPDATED with the new value.
	lock("unlock")
	_, p = wait("unlock", func(d smartcartest.WebhookDelivery) bool {
		return slices.Equal(d.Triggers, []string{"SIGNAL_UPDATED:closure-islocked"})
	})
	if dig(p, "data", "signals", 0, "body", "value") != false {
		t.Errorf("after unlock: %v", dig(p, "data", "signals", 0))
	}
	// Other signals change without sending anything; the next lock is the third event.
	s.SetPlugged(bev.ID, true)
	clock.Advance(time.Minute)
	s.CheckWebhooks()
	lock("lock")
	third, _ := wait("lock", func(d smartcartest.WebhookDelivery) bool {
		return d.Attempt == 1 && dig(mustJSON(t, d.Payload), "data", "signals", 0, "body", "value") == true &&
			d.Triggers[0] != "FIRST_DELIVERY"
	})
	if n := len(s.WebhookDeliveries()); n != 3 || third.Triggers[0] != "SIGNAL_UPDATED:closure-islocked" {
		t.Errorf("%d deliveries, last %v; want 3, the lock", n, third.Triggers)
	}

	// A receiver that fails gets the same event again after 25, 50 and 100
	// simulated seconds, then nothing.
	setStatus(500)
	lock("unlock")
	a1, _ := wait("failing attempt 1", func(d smartcartest.WebhookDelivery) bool { return d.Attempt == 1 && !d.OK })
	if a1.Status != 500 || a1.GaveUp {
		t.Errorf("attempt 1: %+v", a1)
	}
	prev := a1
	for i, backoff := range []time.Duration{25 * time.Second, 50 * time.Second, 100 * time.Second} {
		clock.Advance(backoff - time.Second)
		if n := s.CheckWebhooks(); n != 0 { // not yet due
			t.Errorf("CheckWebhooks before the retry is due started %d deliveries", n)
		}
		clock.Advance(time.Second)
		if n := s.CheckWebhooks(); n != 1 {
			t.Errorf("CheckWebhooks when the retry is due started %d deliveries, want 1", n)
		}
		d, _ := wait("retry", func(d smartcartest.WebhookDelivery) bool { return d.Attempt == i+2 })
		if d.EventID != a1.EventID || string(d.Payload) != string(a1.Payload) || d.Time.Sub(prev.Time) != backoff ||
			d.OK || d.GaveUp != (i == 2) {
			t.Errorf("attempt %d: %v after the previous one, %+v", i+2, d.Time.Sub(prev.Time), d)
		}
		prev = d
	}
	// A retry that is answered 2xx ends it.
	lock("lock")
	b1, _ := wait("second event", func(d smartcartest.WebhookDelivery) bool { return d.Attempt == 1 && d.EventID != a1.EventID && !d.OK })
	setStatus(200)
	clock.Advance(25 * time.Second)
	s.CheckWebhooks()
	if d, _ := wait("retry answered", func(d smartcartest.WebhookDelivery) bool { return d.EventID == b1.EventID && d.Attempt == 2 }); !d.OK {
		t.Errorf("retry answered 200: %+v", d)
	}
	if st := s.Stats(); st.WebhookFailures != 5 || st.WebhookDeliveries != 9 {
		t.Errorf("stats: %d attempts, %d failed; want 9, 5", st.WebhookDeliveries, st.WebhookFailures)
	}

	// VEHICLE_ERROR while the vehicle is asleep, then RESOLVED.
	s.SetAsleep(bev.ID, true)
	s.CheckWebhooks()
	_, p = wait("error", func(d smartcartest.WebhookDelivery) bool { return d.EventType == "VEHICLE_ERROR" })
	if dig(p, "data", "errors", 0, "state") != "ERROR" || dig(p, "data", "errors", 0, "code") != "ASLEEP" {
		t.Errorf("VEHICLE_ERROR %v", dig(p, "data"))
	}
	s.SetAsleep(bev.ID, false)
	s.CheckWebhooks()
	_, p = wait("resolved", func(d smartcartest.WebhookDelivery) bool {
		return slices.Equal(d.Triggers, []string{"RESOLVED:VEHICLE_STATE:ASLEEP"})
	})
	if dig(p, "eventType") != "VEHICLE_ERROR" || dig(p, "data", "errors", 0, "state") != "RESOLVED" {
		t.Errorf("RESOLVED %v", p)
	}

	// Unsubscribe.
	if r := v3(t, s, "DELETE", app, "", subs, map[string]any{"vehicleIds": []string{bev.ID}}); r.status != 202 {
		t.Errorf("unsubscribe: HTTP %d %s", r.status, r.body)
	}
	if got := s.Subscriptions(bev.ID); len(got) != 0 {
		t.Errorf("subscriptions after unsubscribe: %v", got)
	}
	r = do(t, nil, "GET", s.URL+"/admin/webhooks/deliveries?vehicleId="+bev.ID+"&limit=2", nil)
	var recs []smartcartest.WebhookDelivery
	r.decode(t, &recs)
	if len(recs) != 2 || recs[1].EventType != "VEHICLE_ERROR" {
		t.Errorf("/admin/webhooks/deliveries: %s", r.body)
	}
}

func mustJSON(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestServer_WebhookCloseStops: Close waits for deliveries in flight.
func TestServer_WebhookCloseStops(t *testing.T) {
	s := smartcartest.NewServer()
	s.Connect(nil, nil)
	block, arrived := make(chan struct{}), make(chan struct{}, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		arrived <- struct{}{}
		<-block
	}))
	defer hook.Close()
	defer close(block)
	w := s.AddWebhook(smartcartest.Webhook{URL: hook.URL})
	v := s.VehicleIDs()[0]
	if r := v3(t, s, "POST", s.AppToken(), "", "/webhooks/"+w.ID+"/subscriptions", map[string]any{"vehicleIds": []string{v}}); r.status != 202 {
		t.Fatalf("subscribe: HTTP %d", r.status)
	}
	select { // the delivery hangs in the receiver
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("no FIRST_DELIVERY arrived")
	}
	done := make(chan struct{})
	go func() {
		s.Close() // cancels the delivery that hangs in the receiver
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while a delivery hung")
	}
}

// TestServer_WebhookRecordLimit: delivery records are bounded like request
// records, and waiting still finds new ones after old ones are forgotten.
func TestServer_WebhookRecordLimit(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithRecordLimit(3))
	s.Connect(nil, nil)
	hook := httptest.NewServer(&receiver{status: 503})
	defer hook.Close()
	// The VIN never changes: the only event is the first delivery.
	w := s.AddWebhook(smartcartest.Webhook{URL: hook.URL, Signals: []string{"odometer-traveleddistance"},
		Triggers: []string{"vehicleidentification-vin"}})
	if r := v3(t, s, "POST", s.AppToken(), "", "/webhooks/"+w.ID+"/subscriptions",
		map[string]any{"vehicleIds": []string{s.VehicleIDs()[0]}}); r.status != 202 {
		t.Fatalf("subscribe: HTTP %d", r.status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for attempt := 1; attempt <= 4; attempt++ {
		if attempt > 1 {
			clock.Advance(100 * time.Second) // past every backoff
			s.CheckWebhooks()
		}
		d, err := s.WaitWebhookDelivery(ctx, func(d smartcartest.WebhookDelivery) bool { return d.Attempt == attempt })
		if err != nil || d.Status != 503 || d.GaveUp != (attempt == 4) {
			t.Fatalf("attempt %d: %+v, %v", attempt, d, err)
		}
	}
	if got := s.WebhookDeliveries(); len(got) > 3 || got[len(got)-1].Attempt != 4 {
		t.Errorf("%d records kept (limit 3), last %+v", len(got), got[len(got)-1])
	}
}
