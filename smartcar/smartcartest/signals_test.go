package smartcartest_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestServer_SignalsMatchV2: at the same instant of the simulator's clock,
// every v3 signal says what the v2.0 endpoint with the same data says.
func TestServer_SignalsMatchV2(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithTimeScale(60), smartcartest.WithoutLimits())
	tok := s.Connect(nil, nil)
	user := s.Users()[0]
	var app string
	v2 := func(id, path string, v any) bool {
		t.Helper()
		r := get(t, s, tok.AccessToken, vehiclePath(id, path))
		if r.status == 501 {
			return false
		}
		if r.status != 200 {
			t.Fatalf("v2 %s: HTTP %d %s", path, r.status, r.body)
		}
		r.decode(t, v)
		return true
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: v3 %v, v2 %v", what, got, want)
		}
	}
	// Instants spread over a day of simulated time (a clock minute is an hour).
	for step := range 6 {
		if step > 0 {
			clock.Advance(time.Duration(step*37) * time.Second)
		}
		app = appToken(t, s) // at time scale 60 one lives a clock minute
		for _, veh := range s.Vehicles() {
			sig, _ := allSignals(t, s, app, user, veh.ID)
			scalar := func(code string) float64 { _, v := sig[code].scalar(t); return v }

			var odo struct{ Distance float64 }
			v2(veh.ID, "/odometer", &odo)
			if got := scalar("odometer-traveleddistance"); got != odo.Distance {
				t.Errorf("%s step %d: v3 odometer %v != v2 odometer %v", veh.Kind, step, got, odo.Distance)
			}
			var loc struct{ Latitude, Longitude float64 }
			v2(veh.ID, "/location", &loc)
			var l3 struct{ Latitude, Longitude, Heading float64 }
			json.Unmarshal(sig["location-preciselocation"].Attributes.Body, &l3)
			if l3.Latitude != loc.Latitude || l3.Longitude != loc.Longitude {
				t.Errorf("%s: v3 location %v, v2 %v", veh.Kind, l3, loc)
			}
			var tires struct{ FrontLeft, BackRight float64 }
			v2(veh.ID, "/tires/pressure", &tires)
			var t3 struct {
				Unit   string
				Values []struct{ TirePressure float64 }
			}
			json.Unmarshal(sig["wheel-tires"].Attributes.Body, &t3)
			if t3.Unit != "kilopascals" || len(t3.Values) != 4 || t3.Values[0].TirePressure != tires.FrontLeft ||
				t3.Values[3].TirePressure != tires.BackRight {
				t.Errorf("%s: v3 tires %+v, v2 %+v", veh.Kind, t3, tires)
			}
			var sec struct{ IsLocked bool }
			v2(veh.ID, "/security", &sec)
			var locked bool
			sig["closure-islocked"].value(t, &locked)
			if locked != sec.IsLocked {
				t.Errorf("%s: v3 locked %v, v2 %v", veh.Kind, locked, sec.IsLocked)
			}
			var vin struct{ VIN string }
			v2(veh.ID, "/vin", &vin)
			var vin3 string
			sig["vehicleidentification-vin"].value(t, &vin3)
			if vin3 != vin.VIN {
				t.Errorf("v3 VIN %q, v2 %q", vin3, vin.VIN)
			}

			var batt struct{ PercentRemaining, Range float64 }
			if v2(veh.ID, "/battery", &batt) {
				near("state of charge", scalar("tractionbattery-stateofcharge"), batt.PercentRemaining*100)
				near("battery range", scalar("tractionbattery-range"), batt.Range)
				var charge struct {
					IsPluggedIn bool
					State       string
				}
				v2(veh.ID, "/charge", &charge)
				var plugged bool
				var state string
				sig["charge-ischargingcableconnected"].value(t, &plugged)
				sig["charge-detailedchargingstatus"].value(t, &state)
				if plugged != charge.IsPluggedIn || state != charge.State {
					t.Errorf("v3 charge %v %s, v2 %+v", plugged, state, charge)
				}
				var limit struct{ Limit float64 }
				v2(veh.ID, "/charge/limit", &limit)
				var cl struct{ ActiveLimit float64 }
				json.Unmarshal(sig["charge-chargelimits"].Attributes.Body, &cl)
				near("charge limit", cl.ActiveLimit, limit.Limit*100)
			} else if k := sig["tractionbattery-stateofcharge"].errorKind(); k != "COMPATIBILITY:VEHICLE_NOT_CAPABLE" {
				t.Errorf("%s without /battery: tractionbattery-stateofcharge error %q", veh.Kind, k)
			}
			var fuel struct{ AmountRemaining, PercentRemaining, Range float64 }
			if v2(veh.ID, "/fuel", &fuel) {
				near("fuel level", scalar("internalcombustionengine-fuellevel"), fuel.PercentRemaining*100)
				near("fuel amount", scalar("internalcombustionengine-amountremaining"), fuel.AmountRemaining)
				near("fuel range", scalar("internalcombustionengine-range"), fuel.Range)
				var oil struct{ LifeRemaining float64 }
				v2(veh.ID, "/engine/oil", &oil)
				near("oil life", scalar("internalcombustionengine-oillife"), oil.LifeRemaining*100)
			} else if k := sig["internalcombustionengine-fuellevel"].errorKind(); k != "COMPATIBILITY:VEHICLE_NOT_CAPABLE" {
				t.Errorf("%s without /fuel: fuel level error %q", veh.Kind, k)
			}
		}
	}
	// The single-signal endpoint reads the same state too.
	bev := firstOfKind(t, s, smartcartest.BEV)
	var odo struct{ Distance float64 }
	v2(bev.ID, "/odometer", &odo)
	if _, got := signalOf(t, s, app, user, bev.ID, "odometer-traveleddistance").scalar(t); got != odo.Distance {
		t.Errorf("/signals/odometer-traveleddistance %v, v2 %v", got, odo.Distance)
	}
	st, _ := s.VehicleState(bev.ID)
	if math.Abs(st.OdometerKm-odo.Distance) > 0.005 {
		t.Errorf("VehicleState odometer %v, v2 %v", st.OdometerKm, odo.Distance)
	}
}

// TestServer_Signals: the list, its paging, the powertrains' codes, one
// signal, scopes.
func TestServer_Signals(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithoutLimits())
	tok := s.Connect(nil, nil)
	user := s.Users()[0]
	app := appToken(t, s)
	codes := smartcartest.SignalCodes()
	if !slices.IsSorted(codes) || len(codes) != 24 {
		t.Fatalf("SignalCodes() = %v, want 24 codes in order", codes)
	}
	for _, kind := range []smartcartest.Kind{smartcartest.BEV, smartcartest.ICE, smartcartest.PHEV} {
		veh := firstOfKind(t, s, kind)
		sig, pages := allSignals(t, s, app, user, veh.ID)
		if pages != 3 || len(sig) != len(codes) {
			t.Errorf("%s: %d signals on %d pages, want %d on 3 (page size 10)", kind, len(sig), pages, len(codes))
		}
		var failed []string
		for _, code := range codes {
			sg := sig[code]
			if sg.Type != "signal" || sg.Attributes.Code != code || sg.Attributes.Name == "" || sg.Attributes.Group == "" ||
				sg.Meta.RetrievedAt != clock.Now().UnixMilli() {
				t.Errorf("%s %s: %+v", kind, code, sg)
			}
			switch k := sg.errorKind(); {
			case k == "" && sg.Attributes.Status.Value == "SUCCESS" && len(sg.Attributes.Body) > 2:
			case k == "COMPATIBILITY:VEHICLE_NOT_CAPABLE" && sg.Attributes.Status.Value == "ERROR" && sg.Attributes.Body == nil:
				failed = append(failed, strings.SplitN(code, "-", 2)[0])
			default:
				t.Errorf("%s %s: status %+v body %s", kind, code, sg.Attributes.Status, sg.Attributes.Body)
			}
		}
		failed = slices.Compact(failed)
		want := map[smartcartest.Kind][]string{smartcartest.BEV: {"internalcombustionengine"},
			smartcartest.ICE: {"charge", "tractionbattery"}, smartcartest.PHEV: nil}[kind]
		if diff := cmp.Diff(want, failed); diff != "" {
			t.Errorf("%s: groups not capable (-want +got):\n%s", kind, diff)
		}
	}

	bev := firstOfKind(t, s, smartcartest.BEV)
	path := "/vehicles/" + bev.ID + "/signals"
	pageTests := []struct {
		query            string
		status           int
		page, size, n    int
		hasPrev, hasNext bool
	}{
		{"", 200, 1, 10, 10, false, true},
		{"?page=3", 200, 3, 10, 4, true, false},
		{"?page[number]=2&page[size]=20", 200, 2, 20, 4, true, false},
		{"?pageSize=100", 200, 1, 100, 24, false, false},
		{"?page=9", 200, 9, 10, 0, true, false},
		{"?pageSize=101", 400, 0, 0, 0, false, false},
		{"?page=0", 400, 0, 0, 0, false, false},
		{"?page[size]=x", 400, 0, 0, 0, false, false},
	}
	for _, tt := range pageTests {
		t.Run("paging"+tt.query, func(t *testing.T) {
			r := v3(t, s, "GET", app, user, path+tt.query, nil)
			if r.status != tt.status {
				t.Fatalf("HTTP %d %s, want %d", r.status, r.body, tt.status)
			}
			if tt.status != 200 {
				if r.errorKind(t) != "VALIDATION:PARAMETER" {
					t.Errorf("error %s", r.body)
				}
				return
			}
			var doc signalsDoc
			r.decode(t, &doc)
			if doc.Meta.Page != tt.page || doc.Meta.PageSize != tt.size || doc.Meta.TotalCount != 24 || len(doc.Data) != tt.n ||
				(doc.Links.Previous != nil) != tt.hasPrev || (doc.Links.Next != nil) != tt.hasNext {
				t.Errorf("meta %+v, %d signals, links %+v", doc.Meta, len(doc.Data), doc.Links)
			}
			if !strings.HasPrefix(doc.Links.First, "/v3"+path+"?") || !strings.Contains(doc.Links.Last, "pageSize=") {
				t.Errorf("links %+v", doc.Links)
			}
			if doc.Included.Vehicle.ID != bev.ID || doc.Included.Vehicle.Attributes.Make != bev.Make {
				t.Errorf("included vehicle %+v", doc.Included.Vehicle)
			}
		})
	}

	ice := firstOfKind(t, s, smartcartest.ICE)
	if sg := signalOf(t, s, app, user, ice.ID, "tractionbattery-stateofcharge"); sg.errorKind() != "COMPATIBILITY:VEHICLE_NOT_CAPABLE" {
		t.Errorf("ICE state of charge: %+v", sg)
	}
	r := v3(t, s, "GET", app, user, "/vehicles/"+ice.ID+"/signals/tractionbattery-flux", nil)
	if r.status != 404 || r.errorKind(t) != "RESOURCE_NOT_FOUND:PATH" {
		t.Errorf("unknown code: HTTP %d %s, want 404 RESOURCE_NOT_FOUND:PATH", r.status, r.body)
	}

	// Vehicle info.
	r = v3(t, s, "GET", tok.AccessToken, "", "/vehicles/"+bev.ID+"/", nil)
	var info struct{ Data vehicleDoc }
	r.decode(t, &info)
	if r.status != 200 || info.Data.ID != bev.ID || info.Data.Type != "vehicle" || info.Data.Attributes.Model != bev.Model ||
		info.Data.Attributes.Year != bev.Year {
		t.Errorf("vehicle info: HTTP %d %s", r.status, r.body)
	}

	// A user who granted only read_odometer sees the rest as PERMISSION errors.
	narrow := s.Connect([]string{bev.ID}, []string{"read_odometer"})
	sig, _ := allSignals(t, s, narrow.AccessToken, "", bev.ID)
	if k := sig["odometer-traveleddistance"].errorKind(); k != "" {
		t.Errorf("odometer with read_odometer: %q", k)
	}
	if k := sig["location-preciselocation"].errorKind(); k != "PERMISSION" {
		t.Errorf("location without read_location: %q, want PERMISSION", k)
	}
	if r := v3(t, s, "GET", narrow.AccessToken, "", "/vehicles/"+bev.ID, nil); r.status != 403 {
		t.Errorf("vehicle info without read_vehicle_info: HTTP %d, want 403", r.status)
	}
}

// TestServer_SignalTimes: retrievedAt is the clock; oemUpdatedAt follows
// the data: it moves while a vehicle drives and stands still while it is
// parked.
func TestServer_SignalTimes(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithTimeScale(10), smartcartest.WithoutLimits())
	s.Connect(nil, nil)
	user := s.Users()[0]
	ice := firstOfKind(t, s, smartcartest.ICE)
	// A drive of at least 5 simulated minutes followed by a park of at least
	// an hour (30 and 360 clock seconds at this scale).
	start, end := driveThenPark(t, s, ice.ID, clock.Now(), 30*time.Second, 360*time.Second)
	odometer := func() signalDoc { return signalOf(t, s, s.AppToken(), user, ice.ID, "odometer-traveleddistance") }

	clock.Advance(start.Sub(clock.Now()) + 12*time.Second) // two simulated minutes into the drive
	a := odometer()
	now := clock.Now().UnixMilli()
	if a.Meta.RetrievedAt != now || a.Meta.OEMUpdatedAt > now || a.Meta.OEMUpdatedAt < now-120_000 {
		t.Errorf("driving: retrievedAt %d oemUpdatedAt %d, clock %d: want oemUpdatedAt within the OEM lag", a.Meta.RetrievedAt,
			a.Meta.OEMUpdatedAt, now)
	}
	clock.Advance(time.Second)
	b := odometer()
	if b.Meta.OEMUpdatedAt != a.Meta.OEMUpdatedAt+1000 {
		t.Errorf("driving: oemUpdatedAt moved %d ms in a clock second, want 1000", b.Meta.OEMUpdatedAt-a.Meta.OEMUpdatedAt)
	}
	// Past the OEM's reporting lag (at most 2 clock minutes).
	clock.Advance(end.Sub(clock.Now()) + 130*time.Second)
	c := odometer()
	clock.Advance(5 * time.Second)
	d := odometer()
	_, cv := c.scalar(t)
	_, dv := d.scalar(t)
	if d.Meta.OEMUpdatedAt != c.Meta.OEMUpdatedAt || cv != dv || d.Meta.RetrievedAt != c.Meta.RetrievedAt+5000 {
		t.Errorf("parked: odometer %v@%d then %v@%d (retrieved %d, %d): want the same value and oemUpdatedAt",
			cv, c.Meta.OEMUpdatedAt, dv, d.Meta.OEMUpdatedAt, c.Meta.RetrievedAt, d.Meta.RetrievedAt)
	}
	if c.Meta.OEMUpdatedAt != end.UnixMilli() {
		t.Errorf("parked: oemUpdatedAt %d, want the end of the drive %d", c.Meta.OEMUpdatedAt, end.UnixMilli())
	}
}

// driveThenPark returns the start and end of the first drive after from
// that lasts at least drive and is followed by a park of at least park.
func driveThenPark(t *testing.T, s *smartcartest.Server, id string, from time.Time, drive, park time.Duration) (start, end time.Time) {
	t.Helper()
	changes := s.StateChanges(id, from, from.Add(14*24*time.Hour))
	var trips [][2]time.Time
	for _, c := range changes {
		switch c.Kind {
		case smartcartest.ChangeTripStart:
			trips = append(trips, [2]time.Time{c.Time})
		case smartcartest.ChangeTripEnd:
			if len(trips) > 0 {
				trips[len(trips)-1][1] = c.Time
			}
		}
	}
	for i := 0; i+1 < len(trips); i++ {
		if !trips[i][1].IsZero() && trips[i][1].Sub(trips[i][0]) >= drive && trips[i+1][0].Sub(trips[i][1]) >= park {
			return trips[i][0], trips[i][1]
		}
	}
	t.Fatalf("vehicle %s: no drive of %v followed by a park of %v in %d trips", id, drive, park, len(trips))
	return
}

// TestServer_V3ErrorForms: a fault can answer in the JSON:API form.
func TestServer_V3ErrorForms(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits())
	s.Connect(nil, nil)
	user, v := s.Users()[0], s.VehicleIDs()[0]
	app := appToken(t, s)
	s.SetFault(v, "/v3/vehicles/"+v+"/signals", smartcartest.Fault{Type: "UPSTREAM", Code: "INVALID_DATA", Status: 502, JSONAPI: true})
	r := v3(t, s, "GET", app, user, "/vehicles/"+v+"/signals", nil)
	var doc struct {
		Errors []struct {
			Status, Type, Title, Detail string
			Code                        *string
			Links                       struct{ About string }
			Resolution                  struct{ Type *string }
		}
	}
	r.decode(t, &doc)
	if r.status != 502 || len(doc.Errors) != 1 || doc.Errors[0].Status != "502" || doc.Errors[0].Type != "UPSTREAM" ||
		doc.Errors[0].Code == nil || *doc.Errors[0].Code != "INVALID_DATA" || doc.Errors[0].Links.About == "" ||
		doc.Errors[0].Resolution.Type == nil || *doc.Errors[0].Resolution.Type != "RETRY_LATER" {
		t.Errorf("JSON:API fault: HTTP %d %s", r.status, r.body)
	}
	if r.header.Get("SC-Request-Id") == "" {
		t.Error("no SC-Request-Id")
	}
	// The fault is on /signals only; the flat body is the default.
	s.SetFault(v, "/v3/signals/odometer-traveleddistance", smartcartest.Asleep())
	r = v3(t, s, "GET", app, user, "/vehicles/"+v+"/signals/odometer-traveleddistance", nil)
	if r.status != 409 || r.errorKind(t) != "VEHICLE_STATE:ASLEEP" {
		t.Errorf("flat fault: HTTP %d %s", r.status, r.body)
	}
	if r := v3(t, s, "GET", app, user, "/vehicles/"+v, nil); r.status != http.StatusOK {
		t.Errorf("vehicle info under a /signals fault: HTTP %d", r.status)
	}
	if r := v3(t, s, "GET", app, user, "/nothing", nil); r.status != 404 || r.errorKind(t) != "RESOURCE_NOT_FOUND:PATH" {
		t.Errorf("unknown v3 path: HTTP %d %s", r.status, r.body)
	}
}

// TestServer_WebhookSignalsMatchAPI: the signals of a webhook and those of
// the API come from one builder: at the same instant, the same bodies.
func TestServer_WebhookSignalsMatchAPI(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithTimeScale(60), smartcartest.WithoutLimits())
	s.Connect(nil, nil)
	clock.Advance(17 * time.Second)
	rc := &receiver{status: 200}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	for _, v := range s.Vehicles() {
		if err := s.SendWebhook(context.Background(), hook.URL, smartcartest.EventVehicleState, v.ID); err != nil {
			t.Fatal(err)
		}
		_, p := rc.last(t)
		api, _ := allSignals(t, s, s.AppToken(), v.UserID, v.ID)
		sent := dig(p, "data", "signals").([]any)
		if want := map[smartcartest.Kind]int{smartcartest.BEV: 4, smartcartest.ICE: 3, smartcartest.PHEV: 5}[v.Kind]; len(sent) != want {
			t.Errorf("%s: %d signals, want %d", v.Kind, len(sent), want)
		}
		for _, sg := range sent {
			code := dig(sg, "code").(string)
			var want any
			if err := json.Unmarshal(api[code].Attributes.Body, &want); err != nil && api[code].errorKind() == "" {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, dig(sg, "body")); diff != "" {
				t.Errorf("%s %s: webhook body vs API (-api +webhook):\n%s", v.Kind, code, diff)
			}
			if k := api[code].errorKind(); k != "" {
				t.Errorf("%s %s: sent a signal the API has as %s", v.Kind, code, k)
			}
			if dig(sg, "meta", "retrievedAt") != float64(api[code].Meta.RetrievedAt) {
				t.Errorf("%s %s: retrievedAt differs", v.Kind, code)
			}
		}
	}
}

// TestServer_MaxPageSize: WithMaxPageSize serves smaller pages than asked
// (meta and links say so), on every v3 list, and still refuses a size above
// 100.
func TestServer_MaxPageSize(t *testing.T) {
	s := newServer(t, smartcartest.WithMaxPageSize(4), smartcartest.WithoutLimits(), smartcartest.WithVehicles(6))
	s.Connect(nil, nil)
	user := s.Users()[0]
	app := appToken(t, s)
	veh := firstOfKind(t, s, smartcartest.BEV)

	n := len(smartcartest.SignalCodes()) // a BEV has every code, some as ERROR signals
	r := v3(t, s, "GET", app, user, "/vehicles/"+veh.ID+"/signals?page=1&pageSize=100", nil)
	var doc signalsDoc
	r.decode(t, &doc)
	if r.status != 200 || doc.Meta.PageSize != 4 || len(doc.Data) != 4 || doc.Meta.TotalCount != n ||
		doc.Links.Next == nil || !strings.Contains(*doc.Links.Next, "page=2&pageSize=4") {
		t.Errorf("pageSize=100 with WithMaxPageSize(4): HTTP %d meta %+v, %d signals, links %+v", r.status, doc.Meta, len(doc.Data), doc.Links)
	}
	sig, pages := allSignals(t, s, app, user, veh.ID)
	if want := (n + 3) / 4; pages != want || len(sig) != n {
		t.Errorf("default page size: %d signals on %d pages, want %d on %d", len(sig), pages, n, want)
	}
	if r := v3(t, s, "GET", app, user, "/vehicles/"+veh.ID+"/signals?pageSize=101", nil); r.status != 400 {
		t.Errorf("pageSize=101: HTTP %d, want 400", r.status)
	}
	conns, pages := connectionPairs(t, s, app, "?page[size]=100")
	if len(conns) != 6 || pages != 2 {
		t.Errorf("connections: %d on %d pages, want 6 on 2", len(conns), pages)
	}
}
