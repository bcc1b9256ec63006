package smartcartest_test

import (
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// untilParked advances the clock until vehicle id is parked.
func untilParked(t *testing.T, s *smartcartest.Server, clock *fakeClock, id string) {
	t.Helper()
	for range 200 {
		if st, _ := s.VehicleState(id); !st.Driving {
			return
		}
		clock.Advance(5 * time.Minute)
	}
	t.Fatal("vehicle never parked")
}

func TestServer_Security(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits())
	v := s.VehicleIDs()[0]
	tok := s.Connect(nil, nil)
	for _, action := range []string{"UNLOCK", "LOCK", "UNLOCK"} {
		r := api(t, s, "POST", tok.AccessToken, vehiclePath(v, "/security"), map[string]string{"action": action})
		if r.status != 200 || string(r.body) != `{"status":"success","message":"Successfully sent request to vehicle"}` {
			t.Fatalf("%s: HTTP %d %s", action, r.status, r.body)
		}
		var sec struct{ IsLocked bool }
		get(t, s, tok.AccessToken, vehiclePath(v, "/security")).decode(t, &sec)
		if sec.IsLocked != (action == "LOCK") {
			t.Errorf("after %s isLocked = %v", action, sec.IsLocked)
		}
	}
	r := api(t, s, "POST", tok.AccessToken, vehiclePath(v, "/security"), map[string]string{"action": "OPEN"})
	if r.status != 400 || r.errorKind(t) != "VALIDATION:PARAMETER" {
		t.Errorf("bad action: HTTP %d %s", r.status, r.body)
	}
}

func TestServer_ChargeLimit(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits())
	v := firstOfKind(t, s, smartcartest.BEV)
	tok := s.Connect(nil, nil)
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantLimit  float64
	}{
		{"number", `{"limit":0.7}`, 200, 0.7},
		{"string like node", `{"limit":"0.9"}`, 200, 0.9},
		{"lowest", `{"limit":0.5}`, 200, 0.5},
		{"highest", `{"limit":1}`, 200, 1},
		{"too low", `{"limit":0.49}`, 400, 1},
		{"too high", `{"limit":1.01}`, 400, 1},
		{"percent", `{"limit":80}`, 400, 1},
		{"missing", `{}`, 400, 1},
		{"not JSON", `limit=0.8`, 400, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := api(t, s, "POST", tok.AccessToken, vehiclePath(v.ID, "/charge/limit"), tt.body)
			if r.status != tt.wantStatus {
				t.Fatalf("HTTP %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			var got struct{ Limit float64 }
			get(t, s, tok.AccessToken, vehiclePath(v.ID, "/charge/limit")).decode(t, &got)
			if got.Limit != tt.wantLimit {
				t.Errorf("limit = %v, want %v", got.Limit, tt.wantLimit)
			}
		})
	}
	ice := firstOfKind(t, s, smartcartest.ICE)
	if r := api(t, s, "POST", tok.AccessToken, vehiclePath(ice.ID, "/charge/limit"), `{"limit":0.8}`); r.status != 501 {
		t.Errorf("charge limit on ICE: HTTP %d, want 501", r.status)
	}
}

func TestServer_Destination(t *testing.T) {
	s := newServer(t, smartcartest.WithoutLimits())
	v := s.VehicleIDs()[0]
	tok := s.Connect(nil, nil)
	tests := []struct {
		body string
		want int
	}{
		{`{"latitude":51.5,"longitude":-0.12}`, 200},
		{`{"latitude":-90,"longitude":180}`, 200},
		{`{"latitude":90.1,"longitude":0}`, 400},
		{`{"latitude":0,"longitude":-180.5}`, 400},
		{`{"latitude":0}`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			r := api(t, s, "POST", tok.AccessToken, vehiclePath(v, "/navigation/destination"), tt.body)
			if r.status != tt.want {
				t.Errorf("HTTP %d, want %d: %s", r.status, tt.want, r.body)
			}
		})
	}
	st, _ := s.VehicleState(v)
	if len(st.Destination) != 2 || st.Destination[0] != -90 || st.Destination[1] != 180 {
		t.Errorf("destination = %v, want the last accepted [-90 180]", st.Destination)
	}
}

func TestServer_ChargeCommands(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithoutLimits())
	v := firstOfKind(t, s, smartcartest.BEV)
	tok := s.Connect(nil, nil)
	charge := func(action string) response {
		return api(t, s, "POST", tok.AccessToken, vehiclePath(v.ID, "/charge"), map[string]string{"action": action})
	}
	state := func() string {
		var c struct {
			IsPluggedIn bool
			State       string
		}
		get(t, s, tok.AccessToken, vehiclePath(v.ID, "/charge")).decode(t, &c)
		return c.State
	}
	untilParked(t, s, clock, v.ID)
	if !s.SetPlugged(v.ID, false) {
		t.Fatal("SetPlugged(false) refused")
	}
	if r := charge("START"); r.errorKind(t) != "VEHICLE_STATE:CHARGING_PLUG_NOT_CONNECTED" {
		t.Errorf("START unplugged: %s", r.body)
	}
	if got := state(); got != "NOT_CHARGING" {
		t.Errorf("unplugged state %s", got)
	}
	s.SetPlugged(v.ID, true)
	api(t, s, "POST", tok.AccessToken, vehiclePath(v.ID, "/charge/limit"), `{"limit":1}`)
	if got := state(); got != "CHARGING" {
		t.Fatalf("plugged in below the limit: state %s, want CHARGING", got)
	}
	if r := charge("START"); r.errorKind(t) != "VEHICLE_STATE:CHARGING_IN_PROGRESS" {
		t.Errorf("START while charging: %s", r.body)
	}
	if r := charge("STOP"); r.status != 200 {
		t.Fatalf("STOP: HTTP %d %s", r.status, r.body)
	}
	before, _ := s.VehicleState(v.ID)
	clock.Advance(10 * time.Minute)
	after, _ := s.VehicleState(v.ID)
	if state() != "NOT_CHARGING" || after.BatteryPercent != before.BatteryPercent {
		t.Errorf("stopped charge: state %s, battery %v → %v", state(), before.BatteryPercent, after.BatteryPercent)
	}
	if r := charge("STOP"); r.errorKind(t) != "VEHICLE_STATE:NOT_CHARGING" {
		t.Errorf("STOP while stopped: %s", r.body)
	}
	if r := charge("START"); r.status != 200 {
		t.Fatalf("START: HTTP %d %s", r.status, r.body)
	}
	clock.Advance(10 * time.Minute)
	if st, _ := s.VehicleState(v.ID); st.Driving || st.BatteryPercent <= after.BatteryPercent {
		t.Errorf("after START battery %v, want more than %v (driving %v)", st.BatteryPercent, after.BatteryPercent, st.Driving)
	}
	if r := charge("BOOST"); r.status != 400 {
		t.Errorf("bad action: HTTP %d", r.status)
	}
}
