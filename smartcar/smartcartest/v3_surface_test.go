package smartcartest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestServer_V3Surface drives the whole v3 surface as a client with no Go
// API would: the admin config, Connect, IAM, connections, vehicle info,
// every page of signals, one signal, a synchronous and an asynchronous
// command, a webhook subscription and its delivery, billing and counters,
// and the end of a connection. Only net/http and encoding/json, but for
// WaitWebhookDelivery, which says when the simulator has recorded a delivery.
func TestServer_V3Surface(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithMonthlyQuota(500))
	call := func(method, u, token, userID string, body any, want int, out any) response {
		t.Helper()
		var hdr []string
		if token != "" {
			hdr = append(hdr, "Authorization", "Bearer "+token)
		}
		if userID != "" {
			hdr = append(hdr, "SC-User-Id", userID)
		}
		r := do(t, nil, method, u, body, hdr...)
		if r.status != want {
			t.Fatalf("%s %s: HTTP %d %s, want %d", method, u, r.status, r.body, want)
		}
		if out != nil {
			r.decode(t, out)
		}
		return r
	}

	// The simulator's settings, as a black-box client reads them.
	var cfg struct {
		Origins                             struct{ IAM, APIV3, ManagementV3, Connect string }
		ClientID, ClientSecret, RedirectURI string
	}
	call("GET", s.URL+"/admin/config", "", "", nil, 200, &cfg)
	if cfg.Origins.IAM == "" || cfg.Origins.APIV3 == "" || cfg.Origins.ManagementV3 == "" {
		t.Fatalf("v3 origins missing from /admin/config: %+v", cfg.Origins)
	}
	api, mgmt := cfg.Origins.APIV3+"/v3", cfg.Origins.ManagementV3+"/v3"

	// Connect: the redirect names the user.
	q := url.Values{"response_type": {"code"}, "client_id": {cfg.ClientID}, "redirect_uri": {cfg.RedirectURI},
		"scope": {"read_vehicle_info read_odometer read_location read_battery read_charge control_charge read_security control_security"}}
	r := do(t, noRedirect, "GET", cfg.Origins.Connect+"/oauth/authorize?"+q.Encode(), nil)
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil || loc.Query().Get("user_id") == "" {
		t.Fatalf("Connect redirect %q: no user_id", r.header.Get("Location"))
	}
	user := loc.Query().Get("user_id")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {cfg.RedirectURI}, "client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}}
	call("POST", cfg.Origins.Connect+"/oauth/token", "", "", form, 200, nil)

	// IAM.
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	call("POST", cfg.Origins.IAM+"/oauth2/token", "", "", url.Values{"grant_type": {"client_credentials"},
		"client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}}, 200, &tok)
	app := tok.AccessToken

	// Connections: the user's vehicles.
	var conns connectionsDoc
	call("GET", api+"/connections?filter[userId]="+url.QueryEscape(user)+"&page[size]=100", app, "", nil, 200, &conns)
	if len(conns.Data) == 0 {
		t.Fatal("no connections")
	}
	var vehicleID string
	for _, c := range conns.Data {
		var info struct{ Data vehicleDoc }
		call("GET", api+"/vehicles/"+c.ID, app, user, nil, 200, &info)
		if info.Data.ID != c.ID || info.Data.Attributes.Make == "" {
			t.Errorf("vehicle %s: %+v", c.ID, info.Data)
		}
		var one struct{ Data signalDoc }
		call("GET", api+"/vehicles/"+c.ID+"/signals/tractionbattery-stateofcharge", app, user, nil, 200, &one)
		if one.Data.errorKind() == "" && vehicleID == "" {
			vehicleID = c.ID // an EV
		}
	}
	if vehicleID == "" {
		t.Fatal("no EV among the connected vehicles")
	}

	// Every page of signals, by links.next.
	codes := map[string]bool{}
	pages := 0
	for next := api + "/vehicles/" + vehicleID + "/signals?pageSize=8"; next != ""; pages++ {
		var doc signalsDoc
		call("GET", next, app, user, nil, 200, &doc)
		for _, sg := range doc.Data {
			codes[sg.ID] = true
		}
		next = ""
		if doc.Links.Next != nil {
			next = cfg.Origins.APIV3 + *doc.Links.Next
		}
	}
	if len(codes) != len(smartcartest.SignalCodes()) || pages != 3 {
		t.Errorf("%d codes on %d pages, want %d on 3", len(codes), pages, len(smartcartest.SignalCodes()))
	}

	// A synchronous command, seen in the signal.
	var ex executionDoc
	call("POST", api+"/vehicles/"+vehicleID+"/commands/security/unlock", app, user, map[string]any{}, 200, &ex)
	var lockedSig struct{ Data signalDoc }
	call("GET", api+"/vehicles/"+vehicleID+"/signals/closure-islocked", app, user, nil, 200, &lockedSig)
	var locked bool
	lockedSig.Data.value(t, &locked)
	if ex.outcome() != "SUCCESS" || locked {
		t.Errorf("unlock: %s, locked %v", ex.outcome(), locked)
	}
	// An asynchronous one: 202, pending, then done.
	call("POST", api+"/vehicles/"+vehicleID+"/commands/charge/limit", app, user, map[string]any{"limit": 90}, 202, &ex)
	execURL := api + "/vehicles/" + vehicleID + "/command-executions/" + ex.Data.ID
	call("GET", execURL, app, user, nil, 200, &ex)
	if ex.outcome() != "PENDING" {
		t.Errorf("charge/limit right after: %s", ex.outcome())
	}
	clock.Advance(smartcartest.DefaultAsyncCommandDuration)
	call("GET", execURL, app, user, nil, 200, &ex)
	var limits struct{ Data signalDoc }
	call("GET", api+"/vehicles/"+vehicleID+"/signals/charge-chargelimits", app, user, nil, 200, &limits)
	var cl struct{ ActiveLimit float64 }
	json.Unmarshal(limits.Data.Attributes.Body, &cl)
	if ex.outcome() != "SUCCESS" || cl.ActiveLimit != 90 {
		t.Errorf("charge/limit done: %s, active limit %v", ex.outcome(), cl.ActiveLimit)
	}

	// A webhook (configured through the admin API, as the Dashboard would),
	// a subscription through the Management API, and the first delivery.
	got := make(chan []byte, 8)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- body
	}))
	defer hook.Close()
	var wh struct{ ID string }
	call("POST", s.URL+"/admin/webhooks", "", "", map[string]any{"url": hook.URL,
		"signals": []string{"odometer-traveleddistance"}}, 201, &wh)
	call("POST", mgmt+"/webhooks/"+wh.ID+"/subscriptions", app, "", map[string]any{"vehicleIds": []string{vehicleID}}, 202, nil)
	select {
	case body := <-got:
		var ev struct {
			EventType string
			Triggers  []struct{ Type string }
			Data      struct {
				Vehicle struct{ ID string }
				Signals []struct{ Code string }
			}
		}
		if err := json.Unmarshal(body, &ev); err != nil || ev.EventType != "VEHICLE_STATE" || ev.Data.Vehicle.ID != vehicleID ||
			len(ev.Triggers) != 1 || ev.Triggers[0].Type != "FIRST_DELIVERY" || len(ev.Data.Signals) != 1 {
			t.Errorf("first delivery: %s", body)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook delivery")
	}
	// The simulator records the attempt (and counts it) once it has the
	// receiver's answer, which may be after the handler above saw the body.
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := s.WaitWebhookDelivery(ctx, func(d smartcartest.WebhookDelivery) bool { return d.OK }); err != nil {
		t.Fatal(err)
	}
	var subs struct{ Data []struct{ ID string } }
	call("GET", mgmt+"/subscriptions?filter[webhookId]="+wh.ID, app, "", nil, 200, &subs)
	if len(subs.Data) != 1 || subs.Data[0].ID != vehicleID {
		t.Errorf("subscriptions: %+v", subs)
	}
	call("DELETE", mgmt+"/webhooks/"+wh.ID+"/subscriptions", app, "", map[string]any{"vehicleIds": []string{vehicleID}}, 202, nil)

	// Billing and counters. Billed for the EV: its info, its state of
	// charge, 3 signal pages, 2 signals, 2 commands.
	var billing []smartcartest.BillingMonth
	call("GET", s.URL+"/admin/billing?vehicleId="+vehicleID, "", "", nil, 200, &billing)
	if len(billing) != 1 || billing[0].Calls != 9 || billing[0].Month != "2025-03" {
		t.Errorf("billing %+v, want 9 calls in 2025-03", billing)
	}
	var st smartcartest.Stats
	call("GET", s.URL+"/admin/stats", "", "", nil, 200, &st)
	if st.AppTokens != 1 || st.V3Requests < 15 || st.WebhookDeliveries < 1 || st.MissingUserID != 0 || st.V3TokenErrors != 0 {
		t.Errorf("stats %+v", st)
	}

	// Ending the connection ends access.
	var del struct{ Meta struct{ DeletedCount int } }
	call("DELETE", api+"/connections/"+vehicleID, app, "", nil, 200, &del)
	r = call("GET", api+"/vehicles/"+vehicleID+"/signals", app, user, nil, 403, nil)
	if del.Meta.DeletedCount != 1 || !strings.Contains(string(r.body), `"PERMISSION"`) {
		t.Errorf("after DELETE /connections: deleted %d, %s", del.Meta.DeletedCount, r.body)
	}
}
