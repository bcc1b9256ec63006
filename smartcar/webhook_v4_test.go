package smartcar_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

const (
	webhookVehicleState = `{"eventId":"ev-1","eventType":"VEHICLE_STATE",
 "data":{"vehicle":{"id":"vid","make":"TESLA","model":"Model 3","year":2020,"vin":"5YJ3E1EA7KF317000"},
  "signals":[
   {"code":"tractionbattery-stateofcharge","name":"StateOfCharge","group":"TractionBattery","body":{"percentage":75},
    "meta":{"retrievedAt":1758668712404,"oemUpdatedAt":1758668712404}},
   {"code":"odometer-traveleddistance","name":"TraveledDistance","group":"Odometer","status":{"value":"SUCCESS"},
    "body":{"unit":"miles","value":100},"meta":{"retrievedAt":"2025-09-23T23:05:12.404Z"}},
   {"code":"charge-chargerate","name":"ChargeRate","group":"Charge",
    "status":{"value":"ERROR","error":{"type":"VEHICLE_STATE","code":"NOT_CHARGING"}}},
   {"code":"closure-doors","name":"Doors","group":"Closure","error":{"type":"PERMISSION","code":"UNKNOWN","description":"no"}}],
  "user":{"id":"uid"}},
 "triggers":[{"type":"SIGNAL_UPDATED","signal":{"code":"tractionbattery-stateofcharge"}},{"type":"FIRST_DELIVERY"}],
 "meta":{"version":"4.0","deliveryId":"del-1","deliveredAt":1700000000,"webhookId":"wh","webhookName":"prod",
  "signalCount":4,"mode":"LIVE"}}`
	webhookVehicleError = `{"eventId":"ev-2","eventType":"VEHICLE_ERROR",
 "data":{"vehicle":{"id":"vid","year":"2020"},"user":{"id":"uid"},
  "errors":[
   {"type":"CONNECTED_SERVICES_ACCOUNT","code":"SUBSCRIPTION","state":"ERROR","description":"plan expired",
    "docURL":"https://smartcar.com/docs/errors/sub","resolution":{"type":"CONTACT_SUPPORT"},
    "signals":[{"code":"location-preciselocation"},{"code":"odometer-traveleddistance"}]},
   {"type":"VEHICLE_STATE","code":"ASLEEP","state":"RESOLVED"}]},
 "meta":{"version":"4.0","deliveryId":"del-2","deliveredAt":"2025-07-31T19:38:42.332Z","webhookId":"wh","mode":"TEST"}}`
)

func TestParseWebhook(t *testing.T) {
	soc := time.UnixMilli(1758668712404).UTC()
	tests := []struct {
		name string
		body string
		want *smartcar.WebhookEvent
	}{
		{
			name: "verify, deliveredAt in RFC 3339",
			body: `{"eventId":"ev-0","eventType":"VERIFY","data":{"challenge":"abc"},"meta":{"version":"4.0","webhookId":"wh",` +
				`"webhookName":"prod","deliveryId":"del-0","deliveredAt":"2025-07-31T19:38:42.332Z"}}`,
			want: &smartcar.WebhookEvent{EventID: "ev-0", Type: smartcar.WebhookVerify, Challenge: "abc",
				Meta: smartcar.WebhookMeta{Version: "4.0", WebhookID: "wh", WebhookName: "prod", DeliveryID: "del-0",
					DeliveredAt: time.Date(2025, 7, 31, 19, 38, 42, 332e6, time.UTC)}},
		},
		{
			name: "verify, deliveredAt in epoch milliseconds",
			body: `{"eventId":"ev-0","eventType":"VERIFY","data":{"challenge":"abc"},"meta":{"version":"4.0","deliveredAt":1754069922332}}`,
			want: &smartcar.WebhookEvent{EventID: "ev-0", Type: smartcar.WebhookVerify, Challenge: "abc",
				Meta: smartcar.WebhookMeta{Version: "4.0", DeliveredAt: time.UnixMilli(1754069922332).UTC()}},
		},
		{
			name: "vehicle state",
			body: webhookVehicleState,
			want: &smartcar.WebhookEvent{
				EventID: "ev-1", Type: smartcar.WebhookVehicleState, UserID: "uid",
				Vehicle: smartcar.WebhookVehicle{ID: "vid", Make: "TESLA", Model: "Model 3", Year: 2020, VIN: "5YJ3E1EA7KF317000"},
				Signals: []smartcar.Signal{
					{Code: "tractionbattery-stateofcharge", Name: "StateOfCharge", Group: "TractionBattery", Status: smartcar.SignalSuccess,
						Body: json.RawMessage(`{"percentage":75}`), RetrievedAt: soc, OEMUpdatedAt: soc},
					{Code: "odometer-traveleddistance", Name: "TraveledDistance", Group: "Odometer", Status: smartcar.SignalSuccess,
						Body: json.RawMessage(`{"unit":"miles","value":100}`), RetrievedAt: soc},
					{Code: "charge-chargerate", Name: "ChargeRate", Group: "Charge", Status: smartcar.SignalError,
						Err: &smartcar.Error{Type: "VEHICLE_STATE", Code: "NOT_CHARGING"}},
					{Code: "closure-doors", Name: "Doors", Group: "Closure", Status: smartcar.SignalError,
						Err: &smartcar.Error{Type: "PERMISSION", Code: "UNKNOWN", Description: "no"}},
				},
				Triggers: []smartcar.WebhookTrigger{{Type: smartcar.TriggerSignalUpdated, SignalCode: "tractionbattery-stateofcharge"},
					{Type: smartcar.TriggerFirstDelivery}},
				Meta: smartcar.WebhookMeta{Version: "4.0", DeliveryID: "del-1", DeliveredAt: time.Unix(1700000000, 0).UTC(),
					WebhookID: "wh", WebhookName: "prod", Mode: "LIVE", SignalCount: 4},
			},
		},
		{
			name: "vehicle error and its resolution",
			body: webhookVehicleError,
			want: &smartcar.WebhookEvent{
				EventID: "ev-2", Type: smartcar.WebhookVehicleError, UserID: "uid", Vehicle: smartcar.WebhookVehicle{ID: "vid", Year: 2020},
				Errors: []smartcar.WebhookError{
					{Err: &smartcar.Error{Type: "CONNECTED_SERVICES_ACCOUNT", Code: "SUBSCRIPTION", Description: "plan expired",
						DocURL: "https://smartcar.com/docs/errors/sub", Resolution: smartcar.Resolution{Type: "CONTACT_SUPPORT"}},
						State: smartcar.ErrorStateError, SignalCodes: []string{"location-preciselocation", "odometer-traveleddistance"}},
					{Err: &smartcar.Error{Type: "VEHICLE_STATE", Code: "ASLEEP"}, State: smartcar.ErrorStateResolved},
				},
				Meta: smartcar.WebhookMeta{Version: "4.0", DeliveryID: "del-2", DeliveredAt: time.Date(2025, 7, 31, 19, 38, 42, 332e6, time.UTC),
					WebhookID: "wh", Mode: "TEST"},
			},
		},
		{
			name: "times that are zero, negative or out of range are absent",
			body: `{"eventType":"VEHICLE_STATE","data":{"signals":[{"code":"a","body":{},"meta":{"retrievedAt":0,"oemUpdatedAt":-5}},` +
				`{"code":"b","body":{},"meta":{"retrievedAt":"soon","oemUpdatedAt":1e30}}]},"meta":{"deliveredAt":"1777629600"}}`,
			want: &smartcar.WebhookEvent{Type: smartcar.WebhookVehicleState, Signals: []smartcar.Signal{
				{Code: "a", Status: smartcar.SignalSuccess, Body: json.RawMessage(`{}`)},
				{Code: "b", Status: smartcar.SignalSuccess, Body: json.RawMessage(`{}`)}},
				Meta: smartcar.WebhookMeta{DeliveredAt: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}},
		},
		{
			name: "an event type this version does not know",
			body: `{"eventId":"ev-9","eventType":"VEHICLE_SOMETHING","data":{"vehicle":{"id":"vid"}},"meta":{"version":4.1}}`,
			want: &smartcar.WebhookEvent{EventID: "ev-9", Type: "VEHICLE_SOMETHING", Vehicle: smartcar.WebhookVehicle{ID: "vid"},
				Meta: smartcar.WebhookMeta{Version: "4.1"}},
		},
		{
			name: "legacy verify",
			body: `{"version":"2.0","webhookId":"wh","eventName":"verify","payload":{"challenge":"abc"}}`,
			want: &smartcar.WebhookEvent{Type: smartcar.WebhookVerify, Challenge: "abc", Meta: smartcar.WebhookMeta{Version: "2.0", WebhookID: "wh"},
				Payload: json.RawMessage(`{"challenge":"abc"}`)},
		},
		{
			name: "legacy schedule",
			body: `{"version":"2.0","webhookId":"wh","eventName":"schedule","payload":{"vehicles":[]}}`,
			want: &smartcar.WebhookEvent{Type: "schedule", Meta: smartcar.WebhookMeta{Version: "2.0", WebhookID: "wh"},
				Payload: json.RawMessage(`{"vehicles":[]}`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := smartcar.ParseWebhook([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreErr); diff != "" {
				t.Errorf("event (-want +got):\n%s", diff)
			}
			if got.Legacy() != (tt.want.Meta.Version == "2.0") {
				t.Errorf("Legacy() = %v", got.Legacy())
			}
		})
	}
}

func TestParseWebhook_signalsDecode(t *testing.T) {
	ev, err := smartcar.ParseWebhook([]byte(webhookVehicleState))
	if err != nil {
		t.Fatal(err)
	}
	soc, ok := ev.Signal(smartcar.SignalStateOfCharge)
	if !ok {
		t.Fatal("no state of charge")
	}
	b, err := soc.Scalar()
	if f, ferr := b.Fraction(); err != nil || ferr != nil || f != 0.75 {
		t.Errorf("state of charge = %v (%v, %v), want 0.75", f, err, ferr)
	}
	odo, _ := ev.Signal(smartcar.SignalOdometer)
	b, err = odo.Scalar()
	if km, kerr := b.Kilometers(); err != nil || kerr != nil || km != 160.9344 {
		t.Errorf("odometer = %v km (%v, %v)", km, err, kerr)
	}
	rate, _ := ev.Signal(smartcar.SignalChargeRate)
	if _, err := rate.Scalar(); err != rate.Err || rate.Err == nil || rate.Err.Retryable() == false {
		t.Errorf("charge rate = %v, want its own retryable VEHICLE_STATE error", err)
	}
	if _, ok := ev.Signal("nope"); ok {
		t.Error("an absent signal was found")
	}
}

func TestParseWebhook_invalid(t *testing.T) {
	for _, body := range []string{``, `null`, `[]`, `{}`, `"x"`, `{"eventType":"VERIFY","data":"x"}`, `{"version":"2.0"}`, `{"eventId":`} {
		ev, err := smartcar.ParseWebhook([]byte(body))
		if e, ok := err.(*smartcar.Error); !ok || ev != nil || e.Type != smartcar.TypeValidation || e.Code != "WEBHOOK" || e.Retryable() {
			t.Errorf("ParseWebhook(%q) = %v, %v; want a VALIDATION:WEBHOOK *Error", body, ev, err)
		}
	}
}

// The flow a webhook handler follows: verify the signature on the raw body,
// then parse, then answer a VERIFY.
func TestParseWebhook_afterVerifyPayload(t *testing.T) {
	body := []byte(`{"eventId":"ev-0","eventType":"VERIFY","data":{"challenge":"challenge"},"meta":{"version":"4.0"}}`)
	sig := smartcar.HashChallenge("amt", string(body)) // what Smartcar sends as SC-Signature
	if !smartcar.VerifyPayload("amt", sig, body) {
		t.Fatal("signature rejected")
	}
	ev, err := smartcar.ParseWebhook(body)
	if err != nil || ev.Type != smartcar.WebhookVerify {
		t.Fatalf("ParseWebhook = %+v, %v", ev, err)
	}
	if got := smartcar.HashChallenge("amt", ev.Challenge); got != "9baf5a7464bd86740ad5a06e439dcf535a075022ed2c92d74efacf646d79328e" {
		t.Errorf("challenge answer = %s", got)
	}
}
