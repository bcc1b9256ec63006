package smartcar_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// connections: every filter and paging (the SDK asks for 100 a page, the
// simulator serves 5); free of billing.
func (w *v3e2e) connections(t *testing.T) {
	ctx := t.Context()
	billed := w.sim.Stats().BilledCalls
	mark := len(w.sim.Requests())
	all, err := w.app.ListConnections(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := routes(requestsSince(w.sim, mark))["GET /v3/connections"]; len(all) != 6 || n != 2 {
		t.Fatalf("ListConnections: %d connections in %d requests, want 6 in 2 pages", len(all), n)
	}
	for _, c := range all {
		mode := map[string]string{w.users[0]: smartcar.ModeLive, w.users[1]: smartcar.ModeTest}[c.UserID]
		if c.Mode != mode || !c.ConnectedAt.Equal(w.connected) || c.VehicleID == "" {
			t.Errorf("connection %+v: want mode %q, connected at %v", c, mode, w.connected)
		}
	}
	pairs := func(f *smartcar.ConnectionsFilter) []string {
		t.Helper()
		var out []string
		for c, err := range w.app.Connections(ctx, f) {
			if err != nil {
				t.Fatalf("Connections(%+v): %v", f, err)
			}
			out = append(out, c.UserID[:4]+"/"+c.VehicleID)
		}
		slices.Sort(out)
		return out
	}
	of := func(vs ...smartcartest.Vehicle) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.UserID[:4]+"/"+v.ID)
		}
		slices.Sort(out)
		return out
	}
	for _, tt := range []struct {
		name   string
		filter smartcar.ConnectionsFilter
		want   []string
	}{
		{"user", smartcar.ConnectionsFilter{UserID: w.users[1]}, of(w.ice1, w.bev1, w.bev2)},
		{"vehicle", smartcar.ConnectionsFilter{VehicleID: w.phev.ID}, of(w.phev)},
		{"live", smartcar.ConnectionsFilter{Mode: smartcar.ModeLive}, of(w.bev, w.phev, w.ice)},
		{"test", smartcar.ConnectionsFilter{Mode: smartcar.ModeTest}, of(w.ice1, w.bev1, w.bev2)},
		{"simulated", smartcar.ConnectionsFilter{Mode: smartcar.ModeSimulated}, nil},
		{"user_and_mode", smartcar.ConnectionsFilter{UserID: w.users[0], Mode: smartcar.ModeTest}, nil},
		{"user_and_vehicle", smartcar.ConnectionsFilter{UserID: w.users[1], VehicleID: w.bev1.ID}, of(w.bev1)},
	} {
		if diff := cmp.Diff(tt.want, pairs(&tt.filter)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
	// Ranging stops fetching: the first of two pages only.
	mark = len(w.sim.Requests())
	for _, err := range w.app.Connections(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	if n := len(requestsSince(w.sim, mark)); n != 1 {
		t.Errorf("stopping after the first connection made %d requests, want 1", n)
	}
	one, err := w.app.Connection(ctx, w.bev1.ID)
	if err != nil || one.UserID != w.users[1] || one.Mode != smartcar.ModeTest || !one.ConnectedAt.Equal(w.connected) {
		t.Errorf("Connection(%s) = %+v, %v", w.bev1.ID, one, err)
	}
	if got := w.sim.Stats().BilledCalls; got != billed {
		t.Errorf("connections billed %d calls, want none", got-billed)
	}
}

// webhooks: subscriptions through the Management API v3 and the v4
// deliveries that follow, verified and parsed by the SDK.
func (w *v3e2e) webhooks(t *testing.T) {
	ctx := t.Context()
	w.refill()
	rx := newHookReceiver(t, w.sim.ManagementToken)
	codes := []string{smartcar.SignalIsLocked, smartcar.SignalFuelLevel, smartcar.SignalOdometer, smartcar.SignalStateOfCharge}
	hook := w.sim.AddWebhook(smartcartest.Webhook{URL: rx.URL, Signals: codes, Triggers: []string{smartcar.SignalIsLocked}})
	if err := w.sim.VerifyWebhook(ctx, rx.URL); err != nil {
		t.Errorf("VERIFY: %v", err)
	}
	if v := rx.verified(); v == nil || !v.Meta.DeliveredAt.Equal(w.clock.Now()) || v.Meta.Version != "4.0" {
		t.Errorf("VERIFY event %+v", v)
	}

	change, err := w.app.SubscribeVehicles(ctx, hook.ID, w.bev.ID, w.ice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if change.StatusCode != http.StatusAccepted || change.Message != "subscription creation in progress" {
		t.Errorf("SubscribeVehicles = %+v, want 202 in progress", change)
	}
	var subs []string
	for s, err := range w.app.WebhookSubscriptions(ctx, hook.ID) {
		if err != nil {
			t.Fatal(err)
		}
		if s.WebhookID != hook.ID || s.UserID != w.users[0] || !s.CreatedAt.Equal(w.clock.Now()) {
			t.Errorf("subscription %+v", s)
		}
		subs = append(subs, s.VehicleID)
	}
	slices.Sort(subs)
	if want := slices.Sorted(slices.Values([]string{w.bev.ID, w.ice.ID})); !slices.Equal(subs, want) {
		t.Errorf("WebhookSubscriptions = %v, want %v", subs, want)
	}
	byVehicle, err := w.app.ListSubscriptions(ctx, &smartcar.SubscriptionsFilter{VehicleID: w.ice.ID})
	if err != nil || len(byVehicle) != 1 || byVehicle[0].WebhookID != hook.ID {
		t.Errorf("ListSubscriptions(ice) = %+v, %v", byVehicle, err)
	}
	// A second webhook (without a URL, so nothing is delivered) with every
	// connected vehicle: its lists take two pages of 5.
	quiet := w.sim.AddWebhook(smartcartest.Webhook{})
	all := []string{w.bev.ID, w.phev.ID, w.ice.ID, w.ice1.ID, w.bev1.ID, w.bev2.ID}
	if _, err := w.app.SubscribeVehicles(ctx, quiet.ID, all...); err != nil {
		t.Fatal(err)
	}
	mark := len(w.sim.Requests())
	var listed []string
	for s, err := range w.app.WebhookSubscriptions(ctx, quiet.ID) {
		if err != nil {
			t.Fatal(err)
		}
		listed = append(listed, s.VehicleID)
	}
	byHook, err := w.app.ListSubscriptions(ctx, &smartcar.SubscriptionsFilter{WebhookID: quiet.ID})
	r := routes(requestsSince(w.sim, mark))
	if err != nil || len(listed) != len(all) || len(byHook) != len(all) ||
		r["GET /v3/webhooks/subscriptions"] != 2 || r["GET /v3/subscriptions"] != 2 {
		t.Errorf("6 subscriptions: %d by webhook, %d by filter (%v), requests %v; want 6 and 6 in 2 pages each",
			len(listed), len(byHook), err, r)
	}
	if subs, err := w.app.ListSubscriptions(ctx, &smartcar.SubscriptionsFilter{VehicleID: w.bev.ID}); err != nil || len(subs) != 2 {
		t.Errorf("the BEV's subscriptions: %+v, %v; want 2", subs, err)
	}
	if _, err := w.app.UnsubscribeVehicles(ctx, quiet.ID, all...); err != nil {
		t.Fatal(err)
	}

	deliveredTo := func(vehicleID, eventType, trigger string) smartcartest.WebhookDelivery {
		t.Helper()
		return waitDelivery(t, w.sim, func(d smartcartest.WebhookDelivery) bool {
			return d.OK && d.WebhookID == hook.ID && d.VehicleID == vehicleID && d.EventType == eventType &&
				slices.Contains(d.Triggers, trigger)
		})
	}
	checkState := func(ev *smartcar.WebhookEvent, veh smartcartest.Vehicle, trigger smartcar.WebhookTrigger) {
		t.Helper()
		m := ev.Meta
		if ev.Type != smartcar.WebhookVehicleState || ev.EventID == "" || ev.UserID != w.users[0] ||
			ev.Vehicle != (smartcar.WebhookVehicle{ID: veh.ID, Make: veh.Make, Model: veh.Model, Year: veh.Year, VIN: veh.VIN}) ||
			m.Version != "4.0" || m.WebhookID != hook.ID || m.WebhookName != hook.Name || m.Mode != "LIVE" ||
			m.SignalCount != len(codes) || m.DeliveryID == "" || m.DeliveredAt.IsZero() {
			t.Errorf("VEHICLE_STATE event %+v", ev)
		}
		if diff := cmp.Diff([]smartcar.WebhookTrigger{trigger}, ev.Triggers); diff != "" {
			t.Errorf("triggers (-want +got):\n%s", diff)
		}
		var got []string
		for _, s := range ev.Signals {
			got = append(got, s.Code)
		}
		if diff := cmp.Diff(codes, got); diff != "" {
			t.Errorf("signals (-want +got):\n%s", diff)
		}
	}

	// FIRST_DELIVERY to both vehicles; the signals are what the API says at
	// the same instant, and what the powertrain lacks is an ERROR signal.
	for _, veh := range []smartcartest.Vehicle{w.bev, w.ice} {
		d := deliveredTo(veh.ID, smartcartest.EventVehicleState, "FIRST_DELIVERY")
		ev := rx.event(t, d)
		checkState(ev, veh, smartcar.WebhookTrigger{Type: smartcar.TriggerFirstDelivery})
		if !ev.Meta.DeliveredAt.Equal(d.Time) {
			t.Errorf("deliveredAt %v, attempt at %v", ev.Meta.DeliveredAt, d.Time)
		}
		api, err := w.app.Vehicle(veh.ID, w.users[0]).Signal(ctx, smartcar.SignalOdometer)
		if err != nil {
			t.Fatal(err)
		}
		hooked, _ := ev.Signal(smartcar.SignalOdometer)
		if diff := cmp.Diff(api, hooked, cmp.Comparer(func(a, b *smartcar.Error) bool { return (a == nil) == (b == nil) })); diff != "" {
			t.Errorf("%s: webhook odometer differs from the API's (-api +webhook):\n%s", veh.Kind, diff)
		}
		lacking := smartcar.SignalFuelLevel
		if veh.Kind == smartcartest.ICE {
			lacking = smartcar.SignalStateOfCharge
		}
		if s, _ := ev.Signal(lacking); s == nil || s.Status != smartcar.SignalError || s.Err == nil ||
			s.Err.Type != smartcar.TypeCompatibility || s.Err.Code != "VEHICLE_NOT_CAPABLE" {
			t.Errorf("%s: webhook %s = %+v, want an ERROR signal COMPATIBILITY:VEHICLE_NOT_CAPABLE", veh.Kind, lacking, s)
		}
	}

	// A trigger signal changes: SIGNAL_UPDATED with the new value.
	if _, err := w.app.Vehicle(w.bev.ID, w.users[0]).Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	ev := rx.event(t, deliveredTo(w.bev.ID, smartcartest.EventVehicleState, "SIGNAL_UPDATED:"+smartcar.SignalIsLocked))
	checkState(ev, w.bev, smartcar.WebhookTrigger{Type: smartcar.TriggerSignalUpdated, SignalCode: smartcar.SignalIsLocked})
	if s, _ := ev.Signal(smartcar.SignalIsLocked); s == nil {
		t.Error("SIGNAL_UPDATED without closure-islocked")
	} else if locked, err := s.Bool(); err != nil || locked {
		t.Errorf("closure-islocked after Unlock = %v, %v", locked, err)
	}

	// The vehicle becomes unreachable: VEHICLE_ERROR; then RESOLVED, whose
	// first attempt the receiver refuses, so the simulator retries it after
	// 25 s of its clock with the same event id.
	w.sim.SetFault(w.bev.ID, "", smartcartest.Unreachable())
	w.sim.CheckWebhooks()
	ev = rx.event(t, deliveredTo(w.bev.ID, smartcartest.EventVehicleError, "ERROR:VEHICLE_STATE:UNREACHABLE"))
	if len(ev.Errors) != 1 || ev.UserID != w.users[0] || ev.Vehicle.ID != w.bev.ID || ev.Meta.Version != "4.0" {
		t.Fatalf("VEHICLE_ERROR event %+v", ev)
	}
	we := ev.Errors[0]
	if we.State != smartcar.ErrorStateError || we.Resolved() || we.Err.Type != smartcar.TypeVehicleState ||
		we.Err.Code != "UNREACHABLE" || we.Err.Resolution.Type != "RETRY_LATER" || we.Err.DocURL == "" ||
		!we.Err.Retryable() || !slices.Equal(we.SignalCodes, codes) {
		t.Errorf("VEHICLE_ERROR error %+v (err %+v)", we, we.Err)
	}
	_, err = w.app.Vehicle(w.bev.ID, w.users[0]).Signal(ctx, smartcar.SignalOdometer)
	if e := asError(t, err); e.StatusCode != http.StatusConflict || e.Code != "UNREACHABLE" {
		t.Errorf("API call while unreachable: %v", err)
	}
	rx.failDeliveries(1)
	w.sim.ClearFault(w.bev.ID, "")
	w.sim.CheckWebhooks()
	failed := waitDelivery(t, w.sim, func(d smartcartest.WebhookDelivery) bool {
		return !d.OK && d.VehicleID == w.bev.ID && slices.Contains(d.Triggers, "RESOLVED:VEHICLE_STATE:UNREACHABLE")
	})
	if failed.Status != http.StatusServiceUnavailable || failed.Attempt != 1 {
		t.Errorf("refused attempt %+v", failed)
	}
	w.clock.Advance(25 * time.Second)
	w.sim.CheckWebhooks()
	retried := deliveredTo(w.bev.ID, smartcartest.EventVehicleError, "RESOLVED:VEHICLE_STATE:UNREACHABLE")
	ev = rx.event(t, retried)
	if retried.Attempt != 2 || retried.EventID != failed.EventID || ev.EventID != failed.EventID || rx.attemptsOf(ev.EventID) != 2 {
		t.Errorf("retry %+v of %+v: want attempt 2 of the same event", retried, failed)
	}
	if len(ev.Errors) != 1 || ev.Errors[0].State != smartcar.ErrorStateResolved || !ev.Errors[0].Resolved() ||
		ev.Errors[0].Err.Code != "UNREACHABLE" {
		t.Errorf("RESOLVED event %+v", ev.Errors)
	}

	// Unsubscribe one vehicle.
	change, err = w.app.UnsubscribeVehicles(ctx, hook.ID, w.ice.ID)
	if err != nil || change.StatusCode != http.StatusAccepted {
		t.Fatalf("UnsubscribeVehicles = %+v, %v", change, err)
	}
	left, err := w.app.ListSubscriptions(ctx, &smartcar.SubscriptionsFilter{WebhookID: hook.ID})
	if err != nil || len(left) != 1 || left[0].VehicleID != w.bev.ID {
		t.Errorf("after unsubscribing the ICE car: %+v, %v", left, err)
	}
	if r := rx.rejections(); len(r) != 0 {
		t.Errorf("the receiver rejected deliveries: %v", r)
	}
}

// deleteConnections: one vehicle's connection, then all of a user's; the
// v2 grant for a deleted vehicle ends too.
func (w *v3e2e) deleteConnections(t *testing.T) {
	ctx := t.Context()
	w.refill()
	if _, err := w.app.DeleteConnections(ctx, smartcar.ConnectionsFilter{}); asError(t, err).Type != smartcar.TypeValidation {
		t.Errorf("DeleteConnections without a filter: %v, want a VALIDATION error", err)
	}
	del, err := w.app.DeleteConnections(ctx, smartcar.ConnectionsFilter{VehicleID: w.ice.ID})
	if err != nil || del.Count != 1 || del.StatusCode != http.StatusOK {
		t.Fatalf("DeleteConnections(ice) = %+v, %v", del, err)
	}
	if _, err := w.app.Vehicle(w.ice.ID, w.users[0]).Signals(ctx); asError(t, err).Type != smartcar.TypePermission {
		t.Errorf("signals of a deleted connection: %v, want PERMISSION", err)
	}
	auth, err := smartcar.NewAuthClient()
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := auth.ExchangeRefreshToken(ctx, w.access[0].RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := smartcar.NewVehicle(w.ice.ID, fresh.AccessToken).Odometer(ctx); asError(t, err).Type != smartcar.TypePermission {
		t.Errorf("v2 odometer of a deleted connection: %v, want PERMISSION", err)
	}
	if _, err := smartcar.NewVehicle(w.bev.ID, fresh.AccessToken).Odometer(ctx); err != nil {
		t.Errorf("v2 odometer of a vehicle still connected: %v", err)
	}
	del, err = w.app.DeleteConnections(ctx, smartcar.ConnectionsFilter{UserID: w.users[1]})
	if err != nil || del.Count != 3 {
		t.Fatalf("DeleteConnections(user 1) = %+v, %v", del, err)
	}
	left, err := w.app.ListConnections(ctx, nil)
	if err != nil || len(left) != 2 {
		t.Errorf("connections left: %+v, %v; want user 0's BEV and PHEV", left, err)
	}
	for _, c := range left {
		if c.UserID != w.users[0] || c.VehicleID == w.ice.ID {
			t.Errorf("connection left: %+v", c)
		}
	}
}
