package smartcartest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

type connectionsDoc struct {
	Data []struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Attributes struct {
			UserID      string `json:"userId"`
			VehicleID   string `json:"vehicleId"`
			Mode        string `json:"mode"`
			ConnectedAt string `json:"connectedAt"`
		} `json:"attributes"`
	} `json:"data"`
	Meta  metaDoc  `json:"meta"`
	Links linksDoc `json:"links"`
}

// pairs lists the (user, vehicle) pairs of every page, following links.next.
func connectionPairs(t *testing.T, s *smartcartest.Server, app, query string) ([]string, int) {
	t.Helper()
	var out []string
	pages := 0
	path := "/connections" + query
	for path != "" {
		r := v3(t, s, "GET", app, "", path, nil)
		if r.status != 200 {
			t.Fatalf("GET %s: HTTP %d %s", path, r.status, r.body)
		}
		var doc connectionsDoc
		r.decode(t, &doc)
		pages++
		for _, c := range doc.Data {
			if c.Type != "connection" || c.ID != c.Attributes.VehicleID || c.Attributes.Mode != "live" ||
				!strings.HasSuffix(c.Attributes.ConnectedAt, "Z") {
				t.Errorf("connection %+v", c)
			}
			out = append(out, c.Attributes.UserID+"/"+c.Attributes.VehicleID)
		}
		path = ""
		if doc.Links.Next != nil {
			path = strings.TrimPrefix(*doc.Links.Next, "/v3")
		}
	}
	slices.Sort(out)
	return out, pages
}

func TestServer_V3Connections(t *testing.T) {
	s := newServer(t, smartcartest.WithUsers(2), smartcartest.WithVehicles(5))
	users := s.Users()
	var all, first []string
	for _, v := range s.Vehicles() {
		all = append(all, v.UserID+"/"+v.ID)
		if v.UserID == users[0] {
			first = append(first, v.UserID+"/"+v.ID)
		}
	}
	slices.Sort(all)
	slices.Sort(first)
	s.ConnectUser(users[0], nil, nil)
	tok2, _ := s.ConnectUser(users[1], nil, nil)
	app := appToken(t, s)

	got, pages := connectionPairs(t, s, app, "?page[size]=2")
	if diff := cmp.Diff(all, got); diff != "" || pages != 3 {
		t.Errorf("all connections on %d pages (-want +got):\n%s", pages, diff)
	}
	if got, _ := connectionPairs(t, s, app, "?filter[userId]="+users[0]); !slices.Equal(got, first) {
		t.Errorf("filter[userId]: %v, want %v", got, first)
	}
	v := s.Vehicles()[1]
	if got, _ := connectionPairs(t, s, app, "?filter[vehicleId]="+v.ID); !slices.Equal(got, []string{v.UserID + "/" + v.ID}) {
		t.Errorf("filter[vehicleId]: %v", got)
	}
	if got, _ := connectionPairs(t, s, app, "?filter[vehicle.mode]=test"); len(got) != 0 {
		t.Errorf("filter[vehicle.mode]=test: %v, want none", got)
	}
	if r := v3(t, s, "GET", app, "", "/connections?filter[vehicle.mode]=fake", nil); r.status != 400 {
		t.Errorf("bad mode: HTTP %d", r.status)
	}
	r := v3(t, s, "GET", app, "", "/connections/"+v.ID, nil)
	var one struct {
		Data struct {
			Attributes struct{ UserID, VehicleID string }
		}
	}
	r.decode(t, &one)
	if r.status != 200 || one.Data.Attributes.VehicleID != v.ID || one.Data.Attributes.UserID != v.UserID {
		t.Errorf("GET /connections/{id}: HTTP %d %s", r.status, r.body)
	}
	if r := v3(t, s, "GET", tok2.AccessToken, "", "/connections", nil); r.status != 401 {
		t.Errorf("connections with a user token: HTTP %d, want 401", r.status)
	}

	// Deleting ends the v2 grant too.
	r = v3(t, s, "DELETE", app, "", "/connections/"+v.ID, nil)
	var del struct{ Meta struct{ DeletedCount int } }
	r.decode(t, &del)
	if r.status != 200 || del.Meta.DeletedCount != 1 {
		t.Errorf("DELETE /connections/{id}: HTTP %d %s", r.status, r.body)
	}
	if v.UserID == users[1] {
		if r := get(t, s, tok2.AccessToken, vehiclePath(v.ID, "/odometer")); r.status != 403 {
			t.Errorf("v2 call after the connection was deleted: HTTP %d, want 403", r.status)
		}
	}
	if r := v3(t, s, "GET", app, "", "/connections/"+v.ID, nil); r.status != 404 {
		t.Errorf("deleted connection: HTTP %d, want 404", r.status)
	}
	r = v3(t, s, "DELETE", app, "", "/connections?filter[userId]="+users[0], nil)
	r.decode(t, &del)
	wantDeleted := len(first)
	if v.UserID == users[0] {
		wantDeleted--
	}
	if r.status != 200 || del.Meta.DeletedCount != wantDeleted {
		t.Errorf("DELETE ?filter[userId]: HTTP %d %s, want %d deleted", r.status, r.body, wantDeleted)
	}
	if got, _ := connectionPairs(t, s, app, "?filter[userId]="+users[0]); len(got) != 0 {
		t.Errorf("user 1 still has %v", got)
	}
	if r := v3(t, s, "DELETE", app, "", "/connections", nil); r.status != 400 {
		t.Errorf("DELETE without a filter: HTTP %d, want 400", r.status)
	}
	if st := s.Stats(); st.BilledCalls != 0 || st.Paths["/v3/connections"] < 9 {
		t.Errorf("stats: %d billed, %d connection calls; want 0 billed", st.BilledCalls, st.Paths["/v3/connections"])
	}
}
