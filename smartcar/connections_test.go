package smartcar_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

func connectionJSON(vid, uid, mode string) string {
	return `{"id":"` + vid + `","type":"connection","attributes":{"userId":"` + uid + `","vehicleId":"` + vid +
		`","mode":"` + mode + `","connectedAt":"2026-05-01T10:00:00.000Z"}}`
}

var connectedAt = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)

// checkRequests compares what a fake received with want, queries compared
// as decoded values, and checks the application token and no sc-user-id.
func checkRequests(t *testing.T, got []recorded, want []recorded) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("server received %d requests, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		gq, _ := url.ParseQuery(got[i].RawQuery)
		wq, _ := url.ParseQuery(want[i].RawQuery)
		if got[i].Method != want[i].Method || got[i].Path != want[i].Path || !cmp.Equal(gq, wq) || got[i].Body != want[i].Body {
			t.Errorf("request %d = %s %s ?%v %q, want %s %s ?%v %q", i, got[i].Method, got[i].Path, gq, got[i].Body,
				want[i].Method, want[i].Path, wq, want[i].Body)
		}
		if a := got[i].Header.Get("Authorization"); a != "Bearer app-tok-1" || got[i].Header.Get("Sc-User-Id") != "" {
			t.Errorf("request %d: Authorization %q, sc-user-id %q", i, a, got[i].Header.Get("Sc-User-Id"))
		}
	}
}

func TestAppClient_Connections(t *testing.T) {
	pages := []reply{
		{body: `{"data":[` + connectionJSON("v1", "u1", "live") + `,` + connectionJSON("v2", "u1", "live") + `],` +
			`"meta":{"page":1,"pageSize":2,"totalCount":3},"links":{"next":"/v3/connections?filter%5BuserId%5D=u1&filter%5Bvehicle.mode%5D=live&page%5Bnumber%5D=2&page%5Bsize%5D=100"}}`},
		{body: `{"data":[{"id":"v3","type":"connection","attributes":{"userId":"u1","mode":"live","connectedAt":1777629600000}}],"links":{"next":null}}`},
	}
	want := []smartcar.Connection{
		{VehicleID: "v1", UserID: "u1", Mode: "live", ConnectedAt: connectedAt},
		{VehicleID: "v2", UserID: "u1", Mode: "live", ConnectedAt: connectedAt},
		{VehicleID: "v3", UserID: "u1", Mode: "live", ConnectedAt: connectedAt},
	}
	filter := &smartcar.ConnectionsFilter{UserID: "u1", Mode: smartcar.ModeLive}
	wantReqs := []recorded{
		{Method: "GET", Path: "/v3/connections", RawQuery: "filter[userId]=u1&filter[vehicle.mode]=live&page[number]=1&page[size]=100"},
		{Method: "GET", Path: "/v3/connections", RawQuery: "filter[userId]=u1&filter[vehicle.mode]=live&page[number]=2&page[size]=100"},
	}

	t.Run("every page", func(t *testing.T) {
		f := newV3Fake(t, map[string][]reply{"GET /v3/connections": append([]reply(nil), pages...)})
		got, err := f.app(t).ListConnections(t.Context(), filter)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("connections (-want +got):\n%s", diff)
		}
		checkRequests(t, f.requests(), wantReqs)
	})
	t.Run("stopping early fetches no more pages", func(t *testing.T) {
		f := newV3Fake(t, map[string][]reply{"GET /v3/connections": append([]reply(nil), pages...)})
		for c, err := range f.app(t).Connections(t.Context(), filter) {
			if err != nil || c != want[0] {
				t.Fatalf("first = %+v, %v", c, err)
			}
			break
		}
		checkRequests(t, f.requests(), wantReqs[:1])
	})
	t.Run("a failing page ends the iteration with its error", func(t *testing.T) {
		f := newV3Fake(t, map[string][]reply{"GET /v3/connections": {pages[0], {status: 500, body: `{"type":"SERVER","code":"INTERNAL"}`}}})
		var got []smartcar.Connection
		var errs []error
		for c, err := range f.app(t).Connections(t.Context(), filter) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			got = append(got, c)
		}
		if len(got) != 2 || len(errs) != 1 {
			t.Fatalf("got %d connections and errors %v; want 2 and one error", len(got), errs)
		}
		checkErr(t, errs[0], smartcar.TypeServer, "INTERNAL")
	})
	t.Run("no filter", func(t *testing.T) {
		f := newV3Fake(t, map[string][]reply{"GET /v3/connections": {{body: `{"data":[]}`}}})
		got, err := f.app(t).ListConnections(t.Context(), nil)
		if err != nil || len(got) != 0 {
			t.Fatalf("= %v, %v", got, err)
		}
		checkRequests(t, f.requests(), []recorded{{Method: "GET", Path: "/v3/connections", RawQuery: "page[number]=1&page[size]=100"}})
	})
	t.Run("one vehicle", func(t *testing.T) {
		f := newV3Fake(t, map[string][]reply{"GET /v3/connections/v1": {{body: `{"data":` + connectionJSON("v1", "u1", "test") + `}`}}})
		got, err := f.app(t).Connection(t.Context(), "v1")
		if err != nil || *got != (smartcar.Connection{VehicleID: "v1", UserID: "u1", Mode: "test", ConnectedAt: connectedAt}) {
			t.Fatalf("Connection = %+v, %v", got, err)
		}
		checkRequests(t, f.requests(), []recorded{{Method: "GET", Path: "/v3/connections/v1"}})
	})
}

func TestAppClient_DeleteConnections(t *testing.T) {
	tests := []struct {
		name   string
		filter smartcar.ConnectionsFilter
		route  string
		reply  reply
		want   *smartcar.ConnectionsDeleted
		req    recorded
	}{
		{name: "one vehicle", filter: smartcar.ConnectionsFilter{VehicleID: "v1", Mode: "live"}, route: "DELETE /v3/connections/v1",
			reply: reply{body: `{"meta":{"deletedCount":1}}`},
			want:  &smartcar.ConnectionsDeleted{Count: 1, StatusCode: 200, Meta: metaV3},
			req:   recorded{Method: "DELETE", Path: "/v3/connections/v1"}},
		{name: "every one of a user, 204", filter: smartcar.ConnectionsFilter{UserID: "u 1"}, route: "DELETE /v3/connections",
			reply: reply{status: 204},
			want:  &smartcar.ConnectionsDeleted{Count: -1, StatusCode: 204, Meta: metaV3},
			req:   recorded{Method: "DELETE", Path: "/v3/connections", RawQuery: "filter[userId]=u 1"}},
		{name: "202 with another body", filter: smartcar.ConnectionsFilter{UserID: "u1"}, route: "DELETE /v3/connections",
			reply: reply{status: 202, body: `accepted`},
			want:  &smartcar.ConnectionsDeleted{Count: -1, StatusCode: 202, Meta: metaV3},
			req:   recorded{Method: "DELETE", Path: "/v3/connections", RawQuery: "filter[userId]=u1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newV3Fake(t, map[string][]reply{tt.route: {tt.reply}})
			got, err := f.app(t).DeleteConnections(t.Context(), tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			checkRequests(t, f.requests(), []recorded{tt.req})
		})
	}
	f := newV3Fake(t, nil)
	for _, filter := range []smartcar.ConnectionsFilter{{}, {UserID: "u", VehicleID: "v"}, {Mode: "live"}} {
		if _, err := f.app(t).DeleteConnections(t.Context(), filter); err == nil {
			t.Errorf("DeleteConnections(%+v) succeeded", filter)
		} else {
			checkErr(t, err, smartcar.TypeValidation, "PARAMETER")
		}
	}
	if len(f.requests()) != 0 {
		t.Errorf("invalid filters sent %d requests", len(f.requests()))
	}
}

func TestAppClient_subscriptions(t *testing.T) {
	api := newV3Fake(t, nil) // IAM and vehicle API
	mgmt := newV3Fake(t, map[string][]reply{
		"GET /v3/subscriptions": {{body: `{"data":[{"id":"v1","type":"subscription","attributes":{"webhookId":"wh","vehicleId":"v1","userId":"u1","createdAt":"2026-05-01T10:00:00Z"}}],"links":{"next":null}}`}},
		"GET /v3/webhooks/wh/subscriptions": {
			{body: `{"data":[{"id":"v1","type":"subscription","attributes":{"userId":"u1"}}],"links":{"next":"/v3/webhooks/wh/subscriptions?page%5Bnumber%5D=2&page%5Bsize%5D=100"}}`},
			{body: `{"data":[{"id":"v2","type":"subscription","attributes":{"vehicleId":"v2","userId":"u2"}}]}`}},
		"POST /v3/webhooks/wh/subscriptions":   {{status: 202, body: `{"meta":{"message":"subscription creation in progress"}}`}},
		"DELETE /v3/webhooks/wh/subscriptions": {{status: 204}},
	})
	a, err := smartcar.NewAppClient(&smartcar.AppClientOptions{ClientID: appClientID, ClientSecret: appClientSecret,
		IAMOrigin: api.URL, APIOrigin: api.URL, ManagementOrigin: mgmt.URL, HTTPClient: api.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	subs, err := a.ListSubscriptions(ctx, &smartcar.SubscriptionsFilter{WebhookID: "wh", VehicleID: "v1"})
	if diff := cmp.Diff([]smartcar.Subscription{{WebhookID: "wh", VehicleID: "v1", UserID: "u1", CreatedAt: connectedAt}}, subs); err != nil || diff != "" {
		t.Errorf("ListSubscriptions: %v (-want +got):\n%s", err, diff)
	}
	var got []smartcar.Subscription
	for s, err := range a.WebhookSubscriptions(ctx, "wh") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if diff := cmp.Diff([]smartcar.Subscription{{WebhookID: "wh", VehicleID: "v1", UserID: "u1"}, {WebhookID: "wh", VehicleID: "v2", UserID: "u2"}}, got); diff != "" {
		t.Errorf("WebhookSubscriptions (-want +got):\n%s", diff)
	}
	added, err := a.SubscribeVehicles(ctx, "wh", "v1", "v2")
	if err != nil || *added != (smartcar.SubscriptionChange{StatusCode: 202, Message: "subscription creation in progress", Meta: metaV3}) {
		t.Errorf("SubscribeVehicles = %+v, %v", added, err)
	}
	removed, err := a.UnsubscribeVehicles(ctx, "wh", "v2")
	if err != nil || removed.StatusCode != 204 {
		t.Errorf("UnsubscribeVehicles = %+v, %v", removed, err)
	}
	checkRequests(t, mgmt.requests(), []recorded{
		{Method: "GET", Path: "/v3/subscriptions", RawQuery: "filter[webhookId]=wh&filter[vehicleId]=v1&page[number]=1&page[size]=100"},
		{Method: "GET", Path: "/v3/webhooks/wh/subscriptions", RawQuery: "page[number]=1&page[size]=100"},
		{Method: "GET", Path: "/v3/webhooks/wh/subscriptions", RawQuery: "page[number]=2&page[size]=100"},
		{Method: "POST", Path: "/v3/webhooks/wh/subscriptions", Body: `{"vehicleIds":["v1","v2"]}`},
		{Method: "DELETE", Path: "/v3/webhooks/wh/subscriptions", Body: `{"vehicleIds":["v2"]}`},
	})
	if len(api.requests()) != 0 || api.tokenRequests() != 1 {
		t.Errorf("the API origin got %d requests and %d token requests; want 0 and 1", len(api.requests()), api.tokenRequests())
	}
	if _, err := a.SubscribeVehicles(ctx, "wh"); err == nil {
		t.Error("SubscribeVehicles without vehicles succeeded")
	}
	for _, err := range a.WebhookSubscriptions(ctx, "") {
		checkErr(t, err, smartcar.TypeValidation, "PARAMETER")
	}
	// A subscription call answered 401 renews the token like a vehicle call.
	mgmt.accept = func(tok string) bool { return tok != "app-tok-1" }
	if _, err := a.SubscribeVehicles(ctx, "wh", "v3"); err != nil || api.tokenRequests() != 2 {
		t.Errorf("SubscribeVehicles after a 401 = %v with %d token requests; want success and 2", err, api.tokenRequests())
	}
}
