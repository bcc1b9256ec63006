package smartcartest_test

import (
	"encoding/base64"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

func TestServer_VehiclesPaging(t *testing.T) {
	s := newServer(t, smartcartest.WithVehicles(12))
	tok := s.Connect(nil, nil)
	all := s.VehicleIDs()
	tests := []struct {
		query      string
		wantStatus int
		want       []string
		wantOffset int
	}{
		{"", 200, all[:10], 0},
		{"?limit=5", 200, all[:5], 0},
		{"?limit=5&offset=10", 200, all[10:], 10},
		{"?offset=12", 200, []string{}, 12},
		{"?limit=50", 200, all, 0},
		{"?limit=51", 400, nil, 0},
		{"?limit=0", 400, nil, 0},
		{"?offset=-1", 400, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := get(t, s, tok.AccessToken, "/vehicles"+tt.query)
			if r.status != tt.wantStatus {
				t.Fatalf("HTTP %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if r.status != 200 {
				if got := r.errorKind(t); got != "VALIDATION:PARAMETER" {
					t.Errorf("error %s, want VALIDATION:PARAMETER", got)
				}
				return
			}
			var got struct {
				Paging struct {
					Count  int `json:"count"`
					Offset int `json:"offset"`
				} `json:"paging"`
				Vehicles []string `json:"vehicles"`
			}
			r.decode(t, &got)
			if got.Paging.Count != 12 || got.Paging.Offset != tt.wantOffset {
				t.Errorf("paging = %+v, want count 12 offset %d", got.Paging, tt.wantOffset)
			}
			if diff := cmp.Diff(tt.want, got.Vehicles); diff != "" {
				t.Errorf("vehicles (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServer_Endpoints calls every GET endpoint on each powertrain.
func TestServer_Endpoints(t *testing.T) {
	s := newServer(t, smartcartest.WithVehicles(3), smartcartest.WithoutLimits())
	tok := s.Connect(nil, nil)
	type want struct {
		bev, ice, phev int
		data           bool
		fields         []string
	}
	endpoints := map[string]want{
		"/":                          {200, 200, 200, false, []string{"id", "make", "model", "year"}},
		"/vin":                       {200, 200, 200, false, []string{"vin"}},
		"/odometer":                  {200, 200, 200, true, []string{"distance"}},
		"/location":                  {200, 200, 200, true, []string{"latitude", "longitude"}},
		"/battery":                   {200, 501, 200, true, []string{"percentRemaining", "range"}},
		"/battery/capacity":          {200, 501, 200, true, []string{"capacity"}},
		"/battery/nominal_capacity":  {200, 501, 200, true, []string{"availableCapacities", "capacity", "url"}},
		"/charge":                    {200, 501, 200, true, []string{"isPluggedIn", "state"}},
		"/charge/limit":              {200, 501, 200, true, []string{"limit"}},
		"/fuel":                      {501, 200, 200, true, []string{"amountRemaining", "percentRemaining", "range"}},
		"/tires/pressure":            {200, 200, 200, true, []string{"frontLeft", "frontRight", "backLeft", "backRight"}},
		"/engine/oil":                {501, 200, 200, true, []string{"lifeRemaining"}},
		"/security":                  {200, 200, 200, true, []string{"isLocked", "doors", "windows", "sunroof", "storage", "chargingPort"}},
		"/diagnostics/system_status": {200, 200, 200, true, []string{"systems"}},
		"/diagnostics/dtcs":          {200, 200, 200, true, []string{"activeCodes"}},
	}
	for path, w := range endpoints {
		for _, kind := range []smartcartest.Kind{smartcartest.BEV, smartcartest.ICE, smartcartest.PHEV} {
			t.Run(string(kind)+path, func(t *testing.T) {
				v := firstOfKind(t, s, kind)
				wantStatus := map[smartcartest.Kind]int{smartcartest.BEV: w.bev, smartcartest.ICE: w.ice, smartcartest.PHEV: w.phev}[kind]
				r := get(t, s, tok.AccessToken, vehiclePath(v.ID, path))
				if r.status != wantStatus {
					t.Fatalf("HTTP %d, want %d: %s", r.status, wantStatus, r.body)
				}
				if r.header.Get("SC-Request-Id") == "" {
					t.Error("no SC-Request-Id")
				}
				if r.status == 501 {
					if got := r.errorKind(t); got != "COMPATIBILITY:VEHICLE_NOT_CAPABLE" {
						t.Errorf("error %s", got)
					}
					return
				}
				var body map[string]any
				r.decode(t, &body)
				for _, f := range w.fields {
					if _, ok := body[f]; !ok {
						t.Errorf("body %s lacks %q", r.body, f)
					}
				}
				if got := r.header.Get("SC-Unit-System"); got != "metric" {
					t.Errorf("SC-Unit-System = %q, want metric", got)
				}
				age, fetched := r.header.Get("SC-Data-Age"), r.header.Get("SC-Fetched-At")
				if (age != "") != w.data || (fetched != "") != w.data {
					t.Errorf("SC-Data-Age %q, SC-Fetched-At %q; want present = %v", age, fetched, w.data)
				}
				if w.data {
					ageT, err1 := time.Parse(time.RFC3339, age)
					fetchedT, err2 := time.Parse(time.RFC3339, fetched)
					if err1 != nil || err2 != nil || ageT.After(fetchedT) {
						t.Errorf("data age %q must be an ISO time not after fetched-at %q", age, fetched)
					}
				}
			})
		}
	}
	t.Run("attributes", func(t *testing.T) {
		v := s.Vehicles()[0]
		var got smartcartest.Vehicle
		get(t, s, tok.AccessToken, vehiclePath(v.ID, "")).decode(t, &got)
		get(t, s, tok.AccessToken, vehiclePath(v.ID, "/vin")).decode(t, &got)
		want := v
		want.Kind, want.Persona, want.UserID = "", "", ""
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("attributes + vin (-want +got):\n%s", diff)
		}
		if len(v.VIN) != 17 {
			t.Errorf("VIN %q has %d characters", v.VIN, len(v.VIN))
		}
	})
	t.Run("service history", func(t *testing.T) {
		v := s.Vehicles()[0]
		var all []struct {
			ServiceID   int    `json:"serviceId"`
			ServiceDate string `json:"serviceDate"`
		}
		r := get(t, s, tok.AccessToken, vehiclePath(v.ID, "/service/history?start_date=2000-01-01"))
		r.decode(t, &all)
		if len(all) == 0 {
			t.Fatalf("no service records since 2000: %s", r.body)
		}
		var recent []struct{ ServiceID int }
		get(t, s, tok.AccessToken, vehiclePath(v.ID, "/service/history")).decode(t, &recent)
		if len(recent) > len(all) {
			t.Errorf("last 12 months has %d records, more than all %d", len(recent), len(all))
		}
		last := all[len(all)-1].ServiceDate
		var upTo []struct{ ServiceID int }
		get(t, s, tok.AccessToken, vehiclePath(v.ID, "/service/history?startDate=2000-01-01&endDate="+last)).decode(t, &upTo)
		if len(upTo) != len(all) {
			t.Errorf("up to the last date: %d records, want %d", len(upTo), len(all))
		}
		if r := get(t, s, tok.AccessToken, vehiclePath(v.ID, "/service/history?startDate=yesterday")); r.status != 400 {
			t.Errorf("bad date: HTTP %d, want 400", r.status)
		}
	})
}

func TestServer_Routing(t *testing.T) {
	s := newServer(t, smartcartest.WithVehicles(2))
	v := s.VehicleIDs()
	tok := s.Connect(v[:1], nil)
	tests := []struct {
		name, method, path string
		wantStatus         int
		wantKind           string
	}{
		{"unknown path", "GET", "/v2.0/vehicles/" + v[0] + "/flux_capacitor", 404, "RESOURCE_NOT_FOUND:PATH"},
		{"wrong method", "DELETE", "/v2.0/vehicles/" + v[0] + "/odometer", 404, "RESOURCE_NOT_FOUND:PATH"},
		{"unknown version", "GET", "/v9.9/user", 404, "RESOURCE_NOT_FOUND:VERSION"},
		{"not an API path", "GET", "/nothing", 404, "RESOURCE_NOT_FOUND:PATH"},
		{"vehicle not in grant", "GET", "/v2.0/vehicles/" + v[1] + "/odometer", 403, "PERMISSION"},
		{"unknown vehicle", "GET", "/v2.0/vehicles/no-such-id/odometer", 403, "PERMISSION"},
		{"trailing slash", "GET", "/v2.0/vehicles/" + v[0] + "/odometer/", 200, ""},
		{"user with slash", "GET", "/v2.0/user/", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, nil, tt.method, s.URL+tt.path, nil, "Authorization", "Bearer "+tok.AccessToken)
			if r.status != tt.wantStatus {
				t.Fatalf("HTTP %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			if tt.wantKind != "" {
				if got := r.errorKind(t); got != tt.wantKind {
					t.Errorf("error %s, want %s", got, tt.wantKind)
				}
			}
		})
	}
}

func TestServer_ErrorBody(t *testing.T) {
	s := newServer(t)
	r := get(t, s, "bogus", "/user")
	var body map[string]any
	r.decode(t, &body)
	want := map[string]any{
		"type": "AUTHENTICATION", "code": nil, "statusCode": float64(401),
		"docURL":     "https://smartcar.com/docs/errors/api-errors/authentication-errors#null",
		"resolution": map[string]any{"type": nil}, "requestId": r.header.Get("SC-Request-Id"),
		"description": body["description"],
	}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("error body (-want +got):\n%s", diff)
	}
	if body["description"] == "" || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("description %v, Content-Type %q", body["description"], r.header.Get("Content-Type"))
	}
}

func TestServer_Scopes(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits())
	v := firstOfKind(t, s, smartcartest.BEV)
	tok := s.Connect([]string{v.ID}, []string{"read_odometer", "read_battery"})
	tests := []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", "/odometer", nil, 200},
		{"GET", "/battery", nil, 200},
		{"GET", "/location", nil, 403},
		{"GET", "/", nil, 403},
		{"GET", "/charge", nil, 403},
		{"POST", "/security", map[string]string{"action": "LOCK"}, 403},
		{"POST", "/charge/limit", map[string]float64{"limit": 0.7}, 403},
		{"GET", "/permissions", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			r := api(t, s, tt.method, tok.AccessToken, vehiclePath(v.ID, tt.path), tt.body)
			if r.status != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", r.status, tt.want, r.body)
			}
			if r.status == 403 {
				var e struct{ Resolution struct{ Type string } }
				r.decode(t, &e)
				if r.errorKind(t) != "PERMISSION" || e.Resolution.Type != "REAUTHENTICATE" {
					t.Errorf("body %s, want PERMISSION with REAUTHENTICATE", r.body)
				}
			}
		})
	}
}

func TestServer_Permissions(t *testing.T) {
	s := newServer(t)
	v := s.VehicleIDs()[0]
	tok := s.Connect([]string{v}, []string{"read_vin", "read_odometer", "read_location"})
	var got struct {
		Permissions []string `json:"permissions"`
		Paging      struct{ Count, Offset int }
	}
	get(t, s, tok.AccessToken, vehiclePath(v, "/permissions?limit=2&offset=1")).decode(t, &got)
	if diff := cmp.Diff([]string{"read_odometer", "read_vin"}, got.Permissions); diff != "" {
		t.Errorf("permissions page (-want +got):\n%s", diff)
	}
	if got.Paging.Count != 3 || got.Paging.Offset != 1 {
		t.Errorf("paging = %+v, want count 3 offset 1", got.Paging)
	}
}

func TestServer_Disconnect(t *testing.T) {
	s := newServer(t)
	ids := s.VehicleIDs()
	tok := s.Connect(nil, nil)
	r := api(t, s, http.MethodDelete, tok.AccessToken, vehiclePath(ids[0], "/application"), nil)
	if r.status != 200 || string(r.body) != `{"status":"success"}` {
		t.Fatalf("disconnect: HTTP %d %s", r.status, r.body)
	}
	if r := get(t, s, tok.AccessToken, vehiclePath(ids[0], "/odometer")); r.status != 403 {
		t.Errorf("disconnected vehicle: HTTP %d, want 403", r.status)
	}
	if r := get(t, s, tok.AccessToken, vehiclePath(ids[1], "/odometer")); r.status != 200 {
		t.Errorf("other vehicle: HTTP %d, want 200", r.status)
	}
	var vehicles struct{ Vehicles []string }
	get(t, s, tok.AccessToken, "/vehicles").decode(t, &vehicles)
	if diff := cmp.Diff(ids[1:], vehicles.Vehicles); diff != "" {
		t.Errorf("vehicles after disconnect (-want +got):\n%s", diff)
	}
}

func TestServer_Units(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithoutLimits())
	tok := s.Connect(nil, nil)
	ice := firstOfKind(t, s, smartcartest.ICE)
	bev := firstOfKind(t, s, smartcartest.BEV)
	tests := []struct {
		vehicle, path, field string
		factor               float64 // metric / imperial
		tolerance            float64 // in imperial units, from rounding
	}{
		{ice.ID, "/odometer", "distance", 1.609344, 0.01},
		{ice.ID, "/fuel", "amountRemaining", 3.785411784, 0.1},
		{ice.ID, "/fuel", "range", 1.609344, 0.1},
		{ice.ID, "/fuel", "percentRemaining", 1, 0},
		{bev.ID, "/battery", "range", 1.609344, 0.1},
		{bev.ID, "/tires/pressure", "frontLeft", 6.894757, 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.path+"."+tt.field, func(t *testing.T) {
			var m, imp map[string]float64
			r := get(t, s, tok.AccessToken, vehiclePath(tt.vehicle, tt.path))
			r.decode(t, &m)
			ri := get(t, s, tok.AccessToken, vehiclePath(tt.vehicle, tt.path), "SC-Unit-System", "imperial")
			ri.decode(t, &imp)
			if got := ri.header.Get("SC-Unit-System"); got != "imperial" {
				t.Errorf("SC-Unit-System = %q, want imperial", got)
			}
			want := m[tt.field] / tt.factor
			if math.Abs(imp[tt.field]-want) > tt.tolerance+1e-9 {
				t.Errorf("imperial %s = %v, want %v (metric %v)", tt.field, imp[tt.field], want, m[tt.field])
			}
		})
	}
	if r := get(t, s, tok.AccessToken, vehiclePath(ice.ID, "/odometer"), "SC-Unit-System", "furlongs"); r.status != 400 {
		t.Errorf("unknown unit system: HTTP %d, want 400", r.status)
	}
}

func TestServer_ManagementConnections(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithVehicles(5), smartcartest.WithUsers(2))
	users := s.Users()
	s.ConnectUser(users[0], nil, nil)
	clock.Advance(time.Minute)
	s.ConnectUser(users[1], nil, nil)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("default:"+s.ManagementToken))
	mgmt := func(method, query string) response {
		return do(t, nil, method, s.URL+"/v2.0/management/connections"+query, nil, "Authorization", auth)
	}
	type conn struct {
		VehicleID   string `json:"vehicleId"`
		UserID      string `json:"userId"`
		ConnectedAt string `json:"connectedAt"`
	}
	type listing struct {
		Connections []conn `json:"connections"`
		Paging      struct {
			Cursor *string `json:"cursor"`
		} `json:"paging"`
	}
	var seen []conn
	cursor := ""
	for range 5 {
		var page listing
		r := mgmt("GET", "?limit=2"+cursor)
		if r.status != 200 {
			t.Fatalf("list: HTTP %d %s", r.status, r.body)
		}
		r.decode(t, &page)
		seen = append(seen, page.Connections...)
		if page.Paging.Cursor == nil {
			break
		}
		cursor = "&cursor=" + *page.Paging.Cursor
	}
	if len(seen) != 5 {
		t.Fatalf("paged through %d connections, want 5", len(seen))
	}
	if seen[0].UserID != users[1] || seen[4].UserID != users[0] {
		t.Errorf("connections not newest first: %+v", seen)
	}

	var one listing
	mgmt("GET", "?vehicle_id="+seen[0].VehicleID).decode(t, &one)
	if len(one.Connections) != 1 || one.Connections[0].VehicleID != seen[0].VehicleID {
		t.Errorf("filter by vehicle: %+v", one.Connections)
	}
	if r := mgmt("DELETE", ""); r.status != 400 {
		t.Errorf("DELETE without filter: HTTP %d, want 400", r.status)
	}
	if r := mgmt("DELETE", "?user_id="+users[0]+"&vehicle_id=x"); r.status != 400 {
		t.Errorf("DELETE with both filters: HTTP %d, want 400", r.status)
	}
	var deleted listing
	mgmt("DELETE", "?user_id="+users[0]).decode(t, &deleted)
	if len(deleted.Connections) != 3 {
		t.Errorf("deleted %d connections of user 1, want 3", len(deleted.Connections))
	}
	var rest listing
	mgmt("GET", "?limit=100").decode(t, &rest)
	if len(rest.Connections) != 2 {
		t.Errorf("%d connections left, want 2", len(rest.Connections))
	}
	r := do(t, nil, "GET", s.URL+"/v2.0/management/connections", nil, "Authorization",
		"Basic "+base64.StdEncoding.EncodeToString([]byte("default:wrong")))
	if r.status != 401 {
		t.Errorf("wrong AMT: HTTP %d, want 401", r.status)
	}
}

func TestServer_Compatibility(t *testing.T) {
	s := newServer(t)
	ice := firstOfKind(t, s, smartcartest.ICE)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(s.ClientID+":"+s.ClientSecret))
	type result struct {
		Compatible   bool    `json:"compatible"`
		Reason       *string `json:"reason"`
		Capabilities []struct {
			Permission string `json:"permission"`
			Capable    bool   `json:"capable"`
		} `json:"capabilities"`
	}
	var got result
	r := do(t, nil, "GET", s.URL+"/v2.0/compatibility?vin="+ice.VIN+"&scope=read_odometer%20read_battery&country=US", nil, "Authorization", auth)
	r.decode(t, &got)
	if !got.Compatible || len(got.Capabilities) != 2 || !got.Capabilities[0].Capable || got.Capabilities[1].Capable {
		t.Errorf("ICE compatibility = %s", r.body)
	}
	var unknown result
	do(t, nil, "GET", s.URL+"/v2.0/compatibility?vin=00000000000000000&scope=read_odometer", nil, "Authorization", auth).decode(t, &unknown)
	if unknown.Compatible || unknown.Reason == nil || *unknown.Reason != "VEHICLE_NOT_COMPATIBLE" {
		t.Errorf("unknown VIN = %+v", unknown)
	}
	if r := do(t, nil, "GET", s.URL+"/v2.0/compatibility?vin="+ice.VIN+"&scope=read_odometer", nil); r.status != 401 {
		t.Errorf("without client credentials: HTTP %d, want 401", r.status)
	}
}
