package onboard_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/onboard"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// statusEvents returns the status events by vehicle.
func statusEvents(t *testing.T, evs []events.Event) map[string]events.StatusData {
	t.Helper()
	out := map[string]events.StatusData{}
	for _, ev := range evs {
		if s, _ := ev.Signal(); s != events.SignalStatus {
			continue
		}
		var d events.StatusData
		if err := ev.DecodeData(&d); err != nil {
			t.Fatal(err)
		}
		out[ev.VehicleID()] = d
	}
	return out
}

func TestHandler_Connect_flow(t *testing.T) {
	r := newRig(t)
	b := newBrowser(t)
	status, page := b.get(t, r.srv.URL+onboard.PathConnect)
	if status != 200 {
		t.Fatalf("Connect flow ended with HTTP %d:\n%s", status, page)
	}
	// The redirect to Smartcar carried our scopes and a state.
	var authorize *url.URL
	for _, u := range b.redirects {
		if strings.Contains(u, "/oauth/authorize") {
			authorize, _ = url.Parse(u)
		}
	}
	if authorize == nil {
		t.Fatalf("no redirect to Smartcar Connect in %v", b.redirects)
	}
	if got := authorize.Query().Get("scope"); !strings.Contains(got, "read_odometer") {
		t.Errorf("scope = %q, want the configured scopes", got)
	}
	if len(authorize.Query().Get("state")) < 32 {
		t.Errorf("state %q is too short to be random", authorize.Query().Get("state"))
	}

	want := r.sim.VehicleIDs()
	for _, id := range want {
		if !strings.Contains(page, "<code>"+id+"</code>") {
			t.Errorf("page does not list %s:\n%s", id, page)
		}
	}
	got := statusEvents(t, r.events(t))
	wantEvents := map[string]events.StatusData{}
	for _, id := range want {
		wantEvents[id] = events.StatusData{Status: events.StatusConnected, Reason: "connected"}
		v, err := r.store.GetVehicle(context.Background(), id)
		if err != nil {
			t.Fatalf("vehicle %s not registered: %v", id, err)
		}
		if v.Status != events.StatusConnected || v.GrantID != r.sim.Users()[0] || v.UserID != r.sim.Users()[0] {
			t.Errorf("vehicle %s: status %q grant %q user %q, want connected under user %s", id, v.Status, v.GrantID, v.UserID, r.sim.Users()[0])
		}
	}
	if diff := cmp.Diff(wantEvents, got); diff != "" {
		t.Errorf("status events (-want +got):\n%s", diff)
	}
	if _, err := r.grants.GetGrant(context.Background(), r.sim.Users()[0]); err != nil {
		t.Errorf("grant not stored: %v", err)
	}

	// Replaying the callback (same state, same browser) is refused.
	status, page = b.get(t, b.callbackURL(t))
	if status != 400 || !strings.Contains(page, "Link expired") {
		t.Errorf("replayed callback: HTTP %d, want 400 with the expired page:\n%s", status, page)
	}
	if n := len(r.events(t)); n != len(want) {
		t.Errorf("%d events after the replay, want still %d", n, len(want))
	}
	if s := r.h.Stats(); s.Connected != 1 || s.ConnectErrors != 1 {
		t.Errorf("stats %+v, want 1 connected and 1 error", s)
	}
}

// TestHandler_Connect_v3 is Connect for a daemon on API v3 (DropGrants):
// the vehicles are registered with the user id Connect's redirect carried,
// the token pair is not kept, and the user is not asked for.
func TestHandler_Connect_v3(t *testing.T) {
	r := newRigConfig(t, onboard.Config{DropGrants: true})
	b := newBrowser(t)
	if status, page := b.get(t, r.srv.URL+onboard.PathConnect); status != 200 {
		t.Fatalf("Connect flow ended with HTTP %d:\n%s", status, page)
	}
	cb, err := url.Parse(b.callbackURL(t))
	if err != nil {
		t.Fatal(err)
	}
	user := cb.Query().Get("user_id")
	if user != r.sim.Users()[0] {
		t.Fatalf("the redirect carried user_id %q, want %q", user, r.sim.Users()[0])
	}
	for _, id := range r.sim.VehicleIDs() {
		v, err := r.store.GetVehicle(context.Background(), id)
		if err != nil || v.UserID != user || v.Status != events.StatusConnected {
			t.Errorf("vehicle %s: %+v, %v; want connected for user %s", id, v, err, user)
		}
	}
	if _, err := r.grants.GetGrant(context.Background(), user); !errors.Is(err, credentials.ErrNotFound) {
		t.Errorf("grant stored on API v3: %v, want none", err)
	}
	if n := r.sim.Stats().Paths["/user"]; n != 0 {
		t.Errorf("%d GET /user calls, want none: the redirect said who", n)
	}
}

// TestHandler_Connect_redirectUserNotTrustedWithAPair: on API v2 the pair
// is stored under the user Smartcar names for its access token, whatever
// user id the redirect (which the browser can edit) carried.
func TestHandler_Connect_redirectUserNotTrustedWithAPair(t *testing.T) {
	r := newRig(t)
	// Connect up to Smartcar's redirect back, without following it.
	b2 := newBrowser(t)
	resp, err := b2.Transport(t).RoundTrip(mustRequest(t, r.srv.URL+onboard.PathConnect))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(r.srv.URL)
	b2.Jar.SetCookies(u, resp.Cookies())
	auth, err := b2.Transport(t).RoundTrip(mustRequest(t, resp.Header.Get("Location")))
	if err != nil {
		t.Fatal(err)
	}
	auth.Body.Close()
	forged, _ := url.Parse(auth.Header.Get("Location"))
	q := forged.Query()
	if q.Get("user_id") != r.sim.Users()[0] {
		t.Fatalf("Smartcar's redirect %s: no user_id", forged)
	}
	q.Set("user_id", "someone-else")
	forged.RawQuery = q.Encode()
	if status, page := b2.get(t, forged.String()); status != 200 {
		t.Fatalf("callback with an edited user_id: HTTP %d\n%s", status, page)
	}
	if _, err := r.grants.GetGrant(context.Background(), "someone-else"); !errors.Is(err, credentials.ErrNotFound) {
		t.Errorf("a grant was stored under the edited user id: %v", err)
	}
	for _, id := range r.sim.VehicleIDs() {
		if v, _ := r.store.GetVehicle(context.Background(), id); v.UserID != r.sim.Users()[0] {
			t.Errorf("vehicle %s registered for %q, want %q", id, v.UserID, r.sim.Users()[0])
		}
	}
}

func TestHandler_Callback_badState(t *testing.T) {
	r := newRig(t)
	tests := []struct {
		name  string
		start bool   // start a Connect in this browser first
		query string // callback query; STATE is replaced with the started state
	}{
		{"no_state", false, "code=abc"},
		{"unknown_state", false, "code=abc&state=forged-state-0123456789abcdef"},
		{"other_browsers_state", true, "code=abc&state=forged-state-0123456789abcdef"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t)
			if tc.start {
				// Stop at Smartcar: do not follow the redirect.
				resp, err := b.Transport(t).RoundTrip(mustRequest(t, r.srv.URL+onboard.PathConnect))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				u, _ := url.Parse(r.srv.URL)
				b.Jar.SetCookies(u, resp.Cookies())
			}
			status, page := b.get(t, r.srv.URL+onboard.PathCallback+"?"+tc.query)
			if status != 400 || !strings.Contains(page, "Link expired") {
				t.Errorf("HTTP %d, want 400 with the expired page:\n%s", status, page)
			}
		})
	}
	if evs := r.events(t); len(evs) != 0 {
		t.Errorf("%d events published, want none", len(evs))
	}
	if vs, _ := r.store.ListVehicles(context.Background()); len(vs) != 0 {
		t.Errorf("%d vehicles registered, want none", len(vs))
	}
}

func TestHandler_Callback_connectErrors(t *testing.T) {
	r := newRig(t)
	tests := []struct {
		code, description string
		wantText          string
	}{
		{"access_denied", "The user denied <b>access</b>.", "You declined"},
		{"vehicle_incompatible", "Vehicle is not compatible.", "not compatible"},
		{"something_new", "", "did not complete"},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			r.sim.SetConnect(smartcartest.ConnectConfig{Error: tc.code, ErrorDescription: tc.description})
			status, page := newBrowser(t).get(t, r.srv.URL+onboard.PathConnect)
			if status != 400 {
				t.Errorf("HTTP %d, want 400", status)
			}
			for _, want := range []string{tc.wantText, "<code>" + tc.code + "</code>"} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q:\n%s", want, page)
				}
			}
			if strings.Contains(page, "<b>") {
				t.Errorf("page has Smartcar's description unescaped:\n%s", page)
			}
		})
	}
	if evs := r.events(t); len(evs) != 0 {
		t.Errorf("%d events published, want none", len(evs))
	}
	if vs, _ := r.store.ListVehicles(context.Background()); len(vs) != 0 {
		t.Errorf("%d vehicles registered, want none", len(vs))
	}
}

func TestHandler_Connect_needsReauthRecovers(t *testing.T) {
	r := newRig(t)
	ctx := ctxT(t)
	if status, page := newBrowser(t).get(t, r.srv.URL+onboard.PathConnect); status != 200 {
		t.Fatalf("first Connect: HTTP %d\n%s", status, page)
	}
	id := r.sim.VehicleIDs()[0]
	before, err := r.store.GetVehicle(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Tags set by the operator (connect --tags) and the last poll survive a
	// web reconnect.
	before.Tags = []string{"fleet"}
	before.LastPoll = time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	before.Status, before.Reason = events.StatusNeedsReauth, "invalid_grant"
	if err := r.store.PutVehicle(ctx, before); err != nil {
		t.Fatal(err)
	}
	// A vehicle of the grant the user does not authorize this time.
	leftOut := registry.Vehicle{ID: "left-out", GrantID: r.sim.Users()[0], Status: events.StatusNeedsReauth}
	if err := r.store.PutVehicle(ctx, leftOut); err != nil {
		t.Fatal(err)
	}

	if status, page := newBrowser(t).get(t, r.srv.URL+onboard.PathConnect+"?force=true"); status != 200 {
		t.Fatalf("second Connect: HTTP %d\n%s", status, page)
	}
	after, err := r.store.GetVehicle(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := before
	want.Status, want.Reason = events.StatusConnected, ""
	if diff := cmp.Diff(want, after); diff != "" {
		t.Errorf("vehicle after reconnect (-want +got):\n%s", diff)
	}
	if v, err := r.store.GetVehicle(ctx, leftOut.ID); err != nil || v.Status != events.StatusDisconnected {
		t.Errorf("vehicle left out of the reconnect: %s (%v), want disconnected", v.Status, err)
	}
	var reconnected []events.StatusData
	for _, ev := range r.events(t) {
		if s, _ := ev.Signal(); s == events.SignalStatus && ev.VehicleID() == id {
			var d events.StatusData
			if err := ev.DecodeData(&d); err != nil {
				t.Fatal(err)
			}
			reconnected = append(reconnected, d)
		}
	}
	wantEvents := []events.StatusData{
		{Status: events.StatusConnected, Reason: "connected"},
		{Status: events.StatusConnected, Reason: "reconnected", Previous: events.StatusNeedsReauth},
	}
	if diff := cmp.Diff(wantEvents, reconnected); diff != "" {
		t.Errorf("status events of %s (-want +got):\n%s", id, diff)
	}
	if got, want := sortedIDs(t, r), slices.Sorted(slices.Values(append(r.sim.VehicleIDs(), leftOut.ID))); !slices.Equal(got, want) {
		t.Errorf("registry %v, want the same vehicles %v", got, want)
	}
}

func sortedIDs(t *testing.T, r *rig) []string {
	vs, err := r.store.ListVehicles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range vs {
		ids = append(ids, v.ID)
	}
	return ids
}
