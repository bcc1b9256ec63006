package smartcartest_test

import (
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

type executionDoc struct {
	Data struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Attributes struct {
			CommandType string `json:"commandType"`
			Status      struct {
				Value string `json:"value"`
				Error *struct {
					Type string  `json:"type"`
					Code *string `json:"code"`
				} `json:"error"`
			} `json:"status"`
			ExecutionMode string `json:"executionMode"`
		} `json:"attributes"`
		Meta struct {
			ExecutedAt        string   `json:"executedAt"`
			CompletedAt       string   `json:"completedAt"`
			DurationInSeconds *float64 `json:"durationInSeconds"`
		} `json:"meta"`
	} `json:"data"`
}

func (e executionDoc) outcome() string {
	a := e.Data.Attributes
	if a.Status.Error != nil && a.Status.Error.Code != nil {
		return a.Status.Value + " " + a.Status.Error.Type + ":" + *a.Status.Error.Code
	}
	return a.Status.Value
}

// parkedVehicle moves the clock a simulated minute at a time until the
// first vehicle of kind is parked, and returns it.
func parkedVehicle(t *testing.T, s *smartcartest.Server, clock *fakeClock, kind smartcartest.Kind) smartcartest.Vehicle {
	t.Helper()
	v := firstOfKind(t, s, kind)
	for range 24 * 60 {
		if st, _ := s.VehicleState(v.ID); !st.Driving {
			return v
		}
		clock.Advance(time.Minute)
	}
	t.Fatalf("%s never parked", kind)
	return v
}

func TestServer_V3Commands(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithoutLimits())
	s.Connect(nil, nil)
	user := s.Users()[0]
	bev := parkedVehicle(t, s, clock, smartcartest.BEV)
	app := appToken(t, s)
	command := func(vehicleID, name string, body any) (int, executionDoc, response) {
		t.Helper()
		r := v3(t, s, "POST", app, user, "/vehicles/"+vehicleID+"/commands/"+name, body)
		var doc executionDoc
		if r.status == 200 || r.status == 202 {
			r.decode(t, &doc)
		}
		return r.status, doc, r
	}
	execution := func(vehicleID, id string) executionDoc {
		t.Helper()
		r := v3(t, s, "GET", app, user, "/vehicles/"+vehicleID+"/command-executions/"+id, nil)
		var doc executionDoc
		r.decode(t, &doc)
		if r.status != 200 || doc.Data.ID != id {
			t.Fatalf("execution %s: HTTP %d %s", id, r.status, r.body)
		}
		return doc
	}
	locked := func() bool {
		var b bool
		signalOf(t, s, app, user, bev.ID, "closure-islocked").value(t, &b)
		return b
	}

	// Synchronous: 200, done, and the state changed for v2 and v3 alike.
	for _, tc := range []struct {
		name string
		want bool
	}{{"security/unlock", false}, {"security/lock", true}, {"security/unlock", false}} {
		status, doc, r := command(bev.ID, tc.name, nil)
		if status != 200 || doc.outcome() != "SUCCESS" || doc.Data.Attributes.ExecutionMode != "sync" ||
			doc.Data.Meta.CompletedAt == "" || doc.Data.Type != "command-execution" || len(doc.Data.ID) < 6 || doc.Data.ID[:5] != "exec_" {
			t.Fatalf("%s: HTTP %d %s", tc.name, status, r.body)
		}
		st, _ := s.VehicleState(bev.ID)
		if st.Locked != tc.want || locked() != tc.want {
			t.Errorf("after %s: state locked %v, signal %v, want %v", tc.name, st.Locked, locked(), tc.want)
		}
	}

	// Asynchronous: 202 pending, done once its time has passed.
	if !s.SetPlugged(bev.ID, true) {
		t.Fatal("cannot plug in the parked BEV")
	}
	status, doc, r := command(bev.ID, "charge/limit", map[string]any{"limit": 100})
	if status != 202 || doc.outcome() != "PENDING" || doc.Data.Attributes.ExecutionMode != "async" || doc.Data.Meta.CompletedAt != "" ||
		doc.Data.Attributes.CommandType != "charge-limit" {
		t.Fatalf("charge/limit: HTTP %d %s", status, r.body)
	}
	if got := execution(bev.ID, doc.Data.ID).outcome(); got != "PENDING" {
		t.Errorf("right after: %s, want PENDING", got)
	}
	if st, _ := s.VehicleState(bev.ID); st.ChargeLimit == 1 {
		t.Error("the limit changed before the command completed")
	}
	clock.Advance(smartcartest.DefaultAsyncCommandDuration)
	done := execution(bev.ID, doc.Data.ID)
	if done.outcome() != "SUCCESS" || done.Data.Meta.CompletedAt == "" || done.Data.Meta.DurationInSeconds == nil ||
		*done.Data.Meta.DurationInSeconds != 10 {
		t.Errorf("after %v: %+v", smartcartest.DefaultAsyncCommandDuration, done.Data)
	}
	st, _ := s.VehicleState(bev.ID)
	if st.ChargeLimit != 1 || st.ChargeState != "CHARGING" {
		t.Fatalf("after charge/limit 100 plugged in: limit %v, state %s; want 1, CHARGING", st.ChargeLimit, st.ChargeState)
	}

	_, stop, _ := command(bev.ID, "charge/stop", map[string]any{})
	clock.Advance(smartcartest.DefaultAsyncCommandDuration)
	var charging bool
	signalOf(t, s, app, user, bev.ID, "charge-ischarging").value(t, &charging)
	if got := execution(bev.ID, stop.Data.ID).outcome(); got != "SUCCESS" || charging {
		t.Errorf("charge/stop: %s, charging %v", got, charging)
	}
	if status, _, r := command(bev.ID, "charge/stop", nil); status != 409 || r.errorKind(t) != "VEHICLE_STATE:NOT_CHARGING" {
		t.Errorf("charge/stop when not charging: HTTP %d %s, want 409 NOT_CHARGING at once", status, r.body)
	}

	// The precondition is checked again when the command takes effect.
	_, start, _ := command(bev.ID, "charge/start", nil)
	s.SetPlugged(bev.ID, false)
	clock.Advance(smartcartest.DefaultAsyncCommandDuration)
	if got := execution(bev.ID, start.Data.ID).outcome(); got != "FAILED VEHICLE_STATE:CHARGING_PLUG_NOT_CONNECTED" {
		t.Errorf("charge/start unplugged before it ran: %s", got)
	}

	status, _, _ = command(bev.ID, "navigation/destination", map[string]any{"latitude": 52.52, "longitude": 13.405})
	if st, _ := s.VehicleState(bev.ID); status != 200 || len(st.Destination) != 2 || st.Destination[0] != 52.52 {
		t.Errorf("navigation/destination: HTTP %d, destination %v", status, st.Destination)
	}

	ice := firstOfKind(t, s, smartcartest.ICE)
	errorTests := []struct {
		name, vehicle, command string
		body                   any
		status                 int
		kind                   string
	}{
		{"limit too low", bev.ID, "charge/limit", map[string]any{"limit": 30}, 400, "VALIDATION:PARAMETER"},
		{"limit missing", bev.ID, "charge/limit", map[string]any{}, 400, "VALIDATION:PARAMETER"},
		{"body not JSON", bev.ID, "security/lock", "{", 400, "VALIDATION"},
		{"ICE cannot charge", ice.ID, "charge/start", nil, 501, "COMPATIBILITY:VEHICLE_NOT_CAPABLE"},
		{"unknown command", bev.ID, "security/explode", nil, 404, "RESOURCE_NOT_FOUND:PATH"},
	}
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, r := command(tt.vehicle, tt.command, tt.body)
			if status != tt.status || r.errorKind(t) != tt.kind {
				t.Errorf("HTTP %d %s, want %d %s", status, r.body, tt.status, tt.kind)
			}
		})
	}
	if r := v3(t, s, "GET", app, user, "/vehicles/"+ice.ID+"/command-executions/"+start.Data.ID, nil); r.status != 404 {
		t.Errorf("another vehicle's execution: HTTP %d, want 404", r.status)
	}

	// Commands need their scope.
	readOnly := s.Connect([]string{bev.ID}, []string{"read_security"})
	r = v3(t, s, "POST", readOnly.AccessToken, "", "/vehicles/"+bev.ID+"/commands/security/lock", nil)
	if r.status != 403 || r.errorKind(t) != "PERMISSION" {
		t.Errorf("lock without control_security: HTTP %d %s", r.status, r.body)
	}
}
