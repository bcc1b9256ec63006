package onboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

func (r *rig) post(t *testing.T, body []byte, sig string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.webhookURL(), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if sig != "" {
		req.Header.Set("SC-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (r *rig) last() ([]byte, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastBody, r.lastSig
}

func TestHandler_Webhook_verify(t *testing.T) {
	r := newRig(t)
	if err := r.sim.VerifyWebhook(ctxT(t), r.webhookURL()); err != nil {
		t.Fatal(err)
	}
}

func TestHandler_Webhook_badSignature(t *testing.T) {
	r := newRig(t)
	id := r.sim.VehicleIDs()[0]
	r.register(t, id)
	r.send(t, smartcartest.EventVehicleState, id)
	good, sig := r.last()
	n := len(r.events(t))
	tampered := bytes.Replace(good, []byte(`"eventId":"`), []byte(`"eventId":"x`), 1)
	verify := []byte(`{"eventId":"e","eventType":"VERIFY","data":{"challenge":"c"}}`)
	tests := []struct {
		name string
		body []byte
		sig  string
	}{
		{"no_signature", good, ""},
		{"not_hex", good, "zz"},
		{"wrong_key", good, "00" + sig[2:]},
		{"tampered_body", tampered, sig},
		{"unsigned_verify", verify, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := r.post(t, tc.body, tc.sig); status != http.StatusUnauthorized {
				t.Errorf("HTTP %d %s, want 401", status, body)
			}
		})
	}
	if got := len(r.events(t)); got != n {
		t.Errorf("%d events after the bad deliveries, want still %d", got, n)
	}
	if s := r.h.Stats(); s.BadSignatures != uint64(len(tests)) || s.Webhooks != 1 {
		t.Errorf("stats %+v, want %d bad signatures and 1 webhook", s, len(tests))
	}
}

// sentSignals decodes the signals of a VEHICLE_STATE body.
func sentSignals(t *testing.T, body []byte) map[string]map[string]any {
	t.Helper()
	var p struct {
		Data struct {
			Signals []struct {
				Code string         `json:"code"`
				Body map[string]any `json:"body"`
			} `json:"signals"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, s := range p.Data.Signals {
		out[s.Code] = s.Body
	}
	return out
}

func TestHandler_Webhook_vehicleState(t *testing.T) {
	r := newRig(t)
	ctx := ctxT(t)
	for _, v := range r.sim.Vehicles() {
		t.Run(string(v.Kind), func(t *testing.T) {
			r.register(t, v.ID)
			start := time.Now()
			sent := sentSignals(t, r.send(t, smartcartest.EventVehicleState, v.ID))
			want := map[events.Signal]any{
				events.SignalOdometer: events.OdometerData{DistanceKm: sent["odometer-traveleddistance"]["value"].(float64)},
				events.SignalLocation: events.LocationData{
					Latitude:  sent["location-preciselocation"]["latitude"].(float64),
					Longitude: sent["location-preciselocation"]["longitude"].(float64),
				},
			}
			// The state of charge, charge-ischarging and the fuel level are
			// parts of battery, charge and fuel, which this webhook carries
			// only part of; with no earlier event of those to complete them
			// from, they go out as they came, as generic signal events.
			generic := map[string]any{}
			for _, code := range []string{"tractionbattery-stateofcharge", "charge-ischarging", "internalcombustionengine-fuellevel"} {
				if b, ok := sent[code]; ok {
					generic[code] = b
				}
			}
			want[events.SignalGeneric] = generic
			got := map[events.Signal]any{events.SignalGeneric: map[string]any{}}
			for _, ev := range r.events(t) {
				if ev.VehicleID() != v.ID {
					continue
				}
				s, _ := ev.Signal()
				var d any
				switch s {
				case events.SignalOdometer:
					d = &events.OdometerData{}
				case events.SignalLocation:
					d = &events.LocationData{}
				case events.SignalGeneric:
					var sd struct {
						Code string         `json:"code"`
						Body map[string]any `json:"body"`
					}
					if err := ev.DecodeData(&sd); err != nil {
						t.Fatal(err)
					}
					got[s].(map[string]any)[sd.Code] = sd.Body
					continue
				default:
					t.Errorf("unexpected %s event", s)
					continue
				}
				if err := ev.DecodeData(d); err != nil {
					t.Fatal(err)
				}
				got[s] = deref(d)
				if ev.Time.IsZero() || ev.FetchedAt.IsZero() {
					t.Errorf("%s event without time or fetchedat: %+v", s, ev)
				}
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			last, err := r.store.LastWebhooks(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if at := last[v.ID]; at.Before(start.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
				t.Errorf("last webhook of %s = %s, want about now", v.ID, at)
			}
		})
	}
	// Every signal became an event: none rejected.
	if s := r.h.Stats(); s.RejectedSignals != 0 || s.EventsPublished == 0 {
		t.Errorf("stats %+v, want published events counted and no signal rejected", s)
	}
}

func deref(d any) any {
	switch d := d.(type) {
	case *events.OdometerData:
		return *d
	case *events.LocationData:
		return *d
	case *events.BatteryData:
		return *d
	case *events.FuelData:
		return *d
	}
	return d
}

func TestHandler_Webhook_duplicateEventID(t *testing.T) {
	r := newRig(t)
	id := r.sim.VehicleIDs()[0]
	r.register(t, id)
	r.send(t, smartcartest.EventVehicleState, id)
	body, sig := r.last()
	n := len(r.events(t))
	if n == 0 {
		t.Fatal("the first delivery published nothing")
	}
	for range 2 {
		status, answer := r.post(t, body, sig)
		if status != 200 || !bytes.Contains([]byte(answer), []byte("duplicate")) {
			t.Errorf("redelivery: HTTP %d %s, want 200 duplicate", status, answer)
		}
	}
	if got := len(r.events(t)); got != n {
		t.Errorf("%d events after redeliveries, want still %d", got, n)
	}
	if s := r.h.Stats(); s.Duplicates != 2 {
		t.Errorf("stats %+v, want 2 duplicates", s)
	}
}

func TestHandler_Webhook_ignored(t *testing.T) {
	r := newRig(t)
	// Not registered: acknowledged, nothing published or recorded.
	id := r.sim.VehicleIDs()[1]
	r.send(t, smartcartest.EventVehicleState, id)
	if evs := r.events(t); len(evs) != 0 {
		t.Errorf("%d events for an unregistered vehicle, want none", len(evs))
	}
	if last, err := r.store.LastWebhooks(context.Background()); err != nil || len(last) != 0 {
		t.Errorf("LastWebhooks = %v, %v; want none", last, err)
	}
	if s := r.h.Stats(); s.UnknownVehicles != 1 {
		t.Errorf("stats %+v, want 1 unknown vehicle", s)
	}
}

func TestHandler_Webhook_completesFromLatest(t *testing.T) {
	r := newRig(t)
	ctx := ctxT(t)
	var bev string
	for _, v := range r.sim.Vehicles() {
		if v.Kind == smartcartest.BEV {
			bev = v.ID
		}
	}
	if bev == "" {
		t.Fatal("the simulator made no BEV")
	}
	r.register(t, bev)
	// A poll published the battery with its range before. Its time is older
	// than any the webhook can carry: the simulated car's state of charge
	// may have last changed hours ago (parked overnight), and an older
	// webhook value is rightly not published over a newer one.
	polled, err := events.New(events.SignalBattery, bev, events.BatteryData{PercentRemaining: 0.5, RangeKm: 321.5},
		events.Meta{ID: events.EventID("poll/"+bev+"/1", "/battery"), Time: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.pub.Publish(ctx, polled); err != nil {
		t.Fatal(err)
	}
	body := r.send(t, smartcartest.EventVehicleState, bev)
	soc := sentSignals(t, body)["tractionbattery-stateofcharge"]["value"].(float64) / 100
	var got []events.BatteryData
	for _, ev := range r.events(t) {
		if s, _ := ev.Signal(); s == events.SignalBattery {
			var d events.BatteryData
			if err := ev.DecodeData(&d); err != nil {
				t.Fatal(err)
			}
			got = append(got, d)
		}
	}
	want := []events.BatteryData{{PercentRemaining: 0.5, RangeKm: 321.5}, {PercentRemaining: soc, RangeKm: 321.5}}
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-9)); diff != "" {
		t.Errorf("battery events (-want +got):\n%s", diff)
	}
}

func TestHandler_Webhook_badRequests(t *testing.T) {
	r := newRig(t)
	sign := func(b []byte) string { return smartcar.HashChallenge(r.sim.ManagementToken, string(b)) }
	big := bytes.Repeat([]byte(" "), 1<<20+16) // just over the 1 MiB default
	tests := []struct {
		name string
		body []byte
		want int
	}{
		{"too_large", big, http.StatusRequestEntityTooLarge},
		{"not_json", []byte("hello"), http.StatusBadRequest},
		{"verify_without_challenge", []byte(`{"eventId":"e1","eventType":"VERIFY","data":{}}`), http.StatusBadRequest},
		{"missing_event_id", []byte(`{"eventType":"VEHICLE_STATE","data":{}}`), http.StatusBadRequest},
		{"unknown_event_type", []byte(`{"eventId":"e2","eventType":"SOMETHING_NEW","data":{}}`), http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, body := r.post(t, tc.body, sign(tc.body)); status != tc.want {
				t.Errorf("HTTP %d %s, want %d", status, body, tc.want)
			}
		})
	}
	if evs := r.events(t); len(evs) != 0 {
		t.Errorf("%d events published, want none", len(evs))
	}
}

func TestHandler_Webhook_signalMapping(t *testing.T) {
	r := newRig(t)
	id := r.sim.VehicleIDs()[0]
	r.register(t, id)
	sign := func(b []byte) string { return smartcar.HashChallenge(r.sim.ManagementToken, string(b)) }
	body := []byte(`{"eventId":"map-1","eventType":"VEHICLE_STATE","data":{"vehicle":{"id":"` + id + `"},"signals":[
		{"code":"odometer-traveleddistance","body":{"value":100,"unit":"miles"},"meta":{"retrievedAt":1764222000000,"oemUpdatedAt":1764221940000}},
		{"code":"tractionbattery-stateofcharge","body":{"value":150,"unit":"percent"}},
		{"code":"tractionbattery-range","body":{"value":10,"unit":"miles"}},
		{"code":"internalcombustionengine-fuellevel","body":{"value":"n/a"}},
		{"code":"location-preciselocation","body":{"latitude":1.5}},
		{"code":"closure-islocked","body":{"value":true}}
	]}}`)
	if status, answer := r.post(t, body, sign(body)); status != 200 {
		t.Fatalf("HTTP %d %s", status, answer)
	}
	r.waitProcessed(t, "map-1")
	got := map[events.Signal]string{}
	for _, ev := range r.events(t) {
		s, _ := ev.Signal()
		got[s] = string(ev.Data)
		if s == events.SignalOdometer {
			if want := time.UnixMilli(1764221940000).UTC(); !ev.Time.Equal(want) {
				t.Errorf("odometer time %s, want the OEM update time %s", ev.Time, want)
			}
			if want := time.UnixMilli(1764222000000).UTC(); !ev.FetchedAt.Equal(want) {
				t.Errorf("odometer fetchedat %s, want the retrieval time %s", ev.FetchedAt, want)
			}
		}
	}
	want := map[events.Signal]string{
		events.SignalOdometer:   `{"distance_km":160.9344}`,
		events.SignalLockStatus: `{"is_locked":true}`,
		// The state of charge was out of range: the range alone, nothing to
		// complete a battery event from, goes out as it came.
		events.SignalGeneric: `{"code":"tractionbattery-range","body":{"value":10,"unit":"miles"}}`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// Bad SoC, bad fuel level and half a location: rejected, not even generic.
	if s := r.h.Stats(); s.RejectedSignals != 3 {
		t.Errorf("stats %+v, want 3 rejected signals", s)
	}
}

// A latitude of 200 is refused as a polled one is (package normalize): no
// location event, not even a generic one.
func TestHandler_Webhook_latitudeOutOfRange(t *testing.T) {
	r := newRig(t)
	id := r.sim.VehicleIDs()[0]
	r.register(t, id)
	sign := func(b []byte) string { return smartcar.HashChallenge(r.sim.ManagementToken, string(b)) }
	body := []byte(`{"eventId":"lat-1","eventType":"VEHICLE_STATE","data":{"vehicle":{"id":"` + id + `"},"signals":[
		{"code":"location-preciselocation","body":{"latitude":200,"longitude":10}},
		{"code":"odometer-traveleddistance","body":{"value":12,"unit":"kilometers"}}
	]}}`)
	if status, answer := r.post(t, body, sign(body)); status != 200 {
		t.Fatalf("HTTP %d %s", status, answer)
	}
	r.waitProcessed(t, "lat-1")
	var got []string
	for _, ev := range r.events(t) {
		got = append(got, ev.Type+" "+string(ev.Data))
	}
	if want := []string{`smartcar.vehicle.odometer.v1 {"distance_km":12}`}; !cmp.Equal(want, got) {
		t.Errorf("events %q, want %q", got, want)
	}
	if s := r.h.Stats(); s.RejectedSignals != 1 {
		t.Errorf("stats %+v, want the location rejected", s)
	}
}
