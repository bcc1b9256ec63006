package smartcar_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// fakeSmartcarV3 stands in for Smartcar's IAM and v3 hosts in the examples.
func fakeSmartcarV3() *httptest.Server {
	mux := http.NewServeMux()
	json := func(w http.ResponseWriter, status int, body string) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("SC-Request-Id", "7f3a")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
	mux.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("grant_type") != "client_credentials" || r.FormValue("client_secret") != "my-client-secret" {
			json(w, 401, `{"error":"invalid_client","error_description":"Client authentication failed."}`)
			return
		}
		json(w, 200, `{"access_token":"app-token-1","token_type":"Bearer","expires_in":3600}`)
	})
	authorized := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Header.Get("Authorization") != "Bearer app-token-1":
				json(w, 401, `{"type":"AUTHENTICATION","code":null,"description":"The provided token is invalid."}`)
			case r.Header.Get("sc-user-id") != "user-1":
				json(w, 400, `{"type":"VALIDATION","code":"PARAMETER","description":"missing userId"}`)
			default:
				h(w, r)
			}
		}
	}
	mux.HandleFunc("GET /v3/vehicles/36ab27d0/signals", authorized(func(w http.ResponseWriter, r *http.Request) {
		json(w, 200, `{"data":[
			{"id":"odometer-traveleddistance","type":"signal","attributes":{"code":"odometer-traveleddistance","name":"TraveledDistance",
			 "group":"Odometer","status":{"value":"SUCCESS"},"body":{"unit":"miles","value":1000}},
			 "meta":{"retrievedAt":1777629600000,"oemUpdatedAt":1777629500000}},
			{"id":"tractionbattery-stateofcharge","type":"signal","attributes":{"code":"tractionbattery-stateofcharge",
			 "name":"StateOfCharge","group":"TractionBattery","status":{"value":"ERROR","error":{"type":"COMPATIBILITY",
			 "code":"VEHICLE_NOT_CAPABLE","description":"This vehicle has no traction battery."}}},"meta":{"retrievedAt":1777629600000}}],
			"meta":{"page":1,"pageSize":100,"totalCount":2},"links":{"next":null},
			"included":{"vehicle":{"id":"36ab27d0","type":"vehicle","attributes":{"make":"FORD","model":"Mustang","year":2021}}}}`)
	}))
	mux.HandleFunc("POST /v3/vehicles/36ab27d0/commands/security/lock", authorized(func(w http.ResponseWriter, r *http.Request) {
		json(w, 202, `{"data":{"id":"exec_42","type":"command-execution","attributes":{"commandType":"security-lock",
			"status":{"value":"PENDING"},"executionMode":"async"},"meta":{"executedAt":"2026-05-01T10:00:00Z"}}}`)
	}))
	mux.HandleFunc("GET /v3/vehicles/36ab27d0/command-executions/exec_42", authorized(func(w http.ResponseWriter, r *http.Request) {
		json(w, 200, `{"data":{"id":"exec_42","type":"command-execution","attributes":{"commandType":"security-lock",
			"status":{"value":"SUCCESS"},"executionMode":"async"},"meta":{"executedAt":"2026-05-01T10:00:00Z",
			"completedAt":"2026-05-01T10:00:05Z","durationInSeconds":5}}}`)
	}))
	return httptest.NewServer(mux)
}

// ExampleAppClient reads a vehicle's signals and locks it with API v3: one
// application token (fetched, cached and renewed by the AppClient) on behalf
// of the user who connected the vehicle. In production the credentials come
// from SMARTCAR_CLIENT_ID and SMARTCAR_CLIENT_SECRET and the origins are
// Smartcar's; here they point at a local fake.
func ExampleAppClient() {
	srv := fakeSmartcarV3()
	defer srv.Close()
	ctx := context.Background()
	app, err := smartcar.NewAppClient(&smartcar.AppClientOptions{
		ClientID: "my-client-id", ClientSecret: "my-client-secret",
		IAMOrigin: srv.URL, APIOrigin: srv.URL, ManagementOrigin: srv.URL,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	vehicle := app.Vehicle("36ab27d0", "user-1") // the user id Connect reported for this vehicle

	// Every signal, every page, in one call.
	signals, err := vehicle.Signals(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(signals.Vehicle.Make, signals.Vehicle.Model, signals.Vehicle.Year)
	for _, s := range signals.Items {
		if s.Err != nil {
			fmt.Println(s.Code, "unavailable:", s.Err.Type, s.Err.Code)
			continue
		}
		body, _ := s.Scalar()
		km, _ := body.Kilometers()
		fmt.Println(s.Code, body.Value, body.Unit, "=", km, "km at", s.RetrievedAt.Format(time.RFC3339))
	}

	// A command that is still running when Smartcar answers (202).
	exec, err := vehicle.Lock(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("lock:", exec.Status, exec.StatusCode)
	if exec.Pending() {
		exec, err = vehicle.CommandExecution(ctx, exec.ID)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("lock:", exec.Status, "in", exec.Duration)
	}
	// Output:
	// FORD Mustang 2021
	// odometer-traveleddistance 1000 miles = 1609.344 km at 2026-05-01T10:00:00Z
	// tractionbattery-stateofcharge unavailable: COMPATIBILITY VEHICLE_NOT_CAPABLE
	// lock: PENDING 202
	// lock: SUCCESS in 5s
}

// ExampleParseWebhook handles a webhook delivery: verify the signature on
// the raw body, then parse it, then answer a VERIFY or use the signals.
func ExampleParseWebhook() {
	const amt = "application-management-token"
	body := []byte(`{"eventId":"ev-1","eventType":"VEHICLE_STATE",
		"data":{"vehicle":{"id":"36ab27d0","make":"TESLA","model":"Model 3","year":2020},"user":{"id":"user-1"},
		 "signals":[{"code":"tractionbattery-stateofcharge","name":"StateOfCharge","group":"TractionBattery",
		  "body":{"percentage":75},"meta":{"retrievedAt":1777629600000,"oemUpdatedAt":1777629600000}}]},
		"triggers":[{"type":"SIGNAL_UPDATED","signal":{"code":"tractionbattery-stateofcharge"}}],
		"meta":{"version":"4.0","deliveryId":"d-1","deliveredAt":1777629601000,"webhookId":"wh-1","signalCount":1,"mode":"LIVE"}}`)
	signature := smartcar.HashChallenge(amt, string(body)) // what Smartcar sends in SC-Signature

	if !smartcar.VerifyPayload(amt, signature, body) {
		fmt.Println("401: bad signature")
		return
	}
	ev, err := smartcar.ParseWebhook(body)
	if err != nil {
		fmt.Println("400:", err)
		return
	}
	switch ev.Type {
	case smartcar.WebhookVerify:
		fmt.Printf(`{"challenge":%q}`+"\n", smartcar.HashChallenge(amt, ev.Challenge))
	case smartcar.WebhookVehicleState:
		fmt.Println(ev.Type, ev.Vehicle.ID, "user", ev.UserID, "trigger", ev.Triggers[0].Type, ev.Triggers[0].SignalCode)
		if soc, ok := ev.Signal(smartcar.SignalStateOfCharge); ok {
			b, _ := soc.Scalar()
			f, _ := b.Fraction()
			fmt.Println("state of charge:", f, "delivered", ev.Meta.DeliveredAt.Format(time.RFC3339))
		}
	}
	// Output:
	// VEHICLE_STATE 36ab27d0 user user-1 trigger SIGNAL_UPDATED tractionbattery-stateofcharge
	// state of charge: 0.75 delivered 2026-05-01T10:00:01Z
}
