package smartcar_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

var (
	metaV3       = smartcar.Meta{RequestID: "req-v3"}
	retrievedAt  = time.Date(2025, 7, 9, 23, 36, 58, 549e6, time.UTC) // 1752104218549 ms
	oemUpdatedAt = time.Date(2025, 7, 9, 23, 35, 18, 549e6, time.UTC) // 1752104118549 ms
	odometerJSON = signalJSON("odometer-traveleddistance", "TraveledDistance", "Odometer", `{"unit":"kilometers","value":115071.5}`)
	odometer     = smartcar.Signal{Code: "odometer-traveleddistance", Name: "TraveledDistance", Group: "Odometer",
		Status: smartcar.SignalSuccess, Body: json.RawMessage(`{"unit":"kilometers","value":115071.5}`),
		RetrievedAt: retrievedAt, OEMUpdatedAt: oemUpdatedAt}
	notCapableJSON = `{"id":"tractionbattery-stateofcharge","type":"signal","attributes":{"code":"tractionbattery-stateofcharge",` +
		`"name":"StateOfCharge","group":"TractionBattery","status":{"value":"ERROR","error":{"type":"COMPATIBILITY",` +
		`"code":"VEHICLE_NOT_CAPABLE","description":"not an EV"}}},"meta":{"retrievedAt":1752104218549}}`
	notCapable = smartcar.Signal{Code: "tractionbattery-stateofcharge", Name: "StateOfCharge", Group: "TractionBattery",
		Status: smartcar.SignalError, RetrievedAt: retrievedAt,
		Err: &smartcar.Error{Type: "COMPATIBILITY", Code: "VEHICLE_NOT_CAPABLE", Description: "not an EV", RequestID: "req-v3"}}
	vehicleJSON = `{"id":"vid","type":"vehicle","attributes":{"make":"TESLA","model":"Model 3","year":2019},"links":{"self":"/vehicles/vid"}}`
	vehicleInfo = &smartcar.Info{ID: "vid", Make: "TESLA", Model: "Model 3", Year: 2019, Meta: metaV3}
	execJSON    = func(status, mode, completed string) string {
		return `{"data":{"id":"exec_1","type":"command-execution","attributes":{"commandType":"security-lock",` +
			`"status":{"value":"` + status + `"},"executionMode":"` + mode + `"},"meta":{"executedAt":"2026-05-01T10:00:00Z",` +
			completed + `"durationInSeconds":2}}}`
	}
	executedAt = time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
)

func TestVehicleV3_methods(t *testing.T) {
	pages := []reply{
		{body: `{"data":[` + odometerJSON + `],"meta":{"page":1,"pageSize":1,"totalCount":4},` +
			`"links":{"self":"/v3/vehicles/vid/signals?page=1&pageSize=100","next":"/v3/vehicles/vid/signals?page=2&pageSize=100"},` +
			`"included":{"vehicle":` + vehicleJSON + `}}`},
		{body: `{"data":[` + notCapableJSON + `],"links":{"next":"/vehicles/vid/signals?page=3&pageSize=100"}}`},
		{body: `{"data":[` + signalJSON("wheel-tires", "Tires", "Wheel", `{"unit":"kilopascals","values":[]}`) + `],` +
			`"links":{"next":{"href":"$ORIGIN/v3/vehicles/vid/signals?page=4&pageSize=100"}}}`},
		{body: `{"data":[],"links":{"next":null}}`},
	}
	tests := []struct {
		name    string
		call    func(context.Context, *smartcar.VehicleV3) (any, error)
		route   string
		replies []reply
		// what the server must receive, one entry per request
		method  string
		path    string
		queries []string
		reqBody string
		want    any
	}{
		{
			name:    "info",
			call:    func(ctx context.Context, v *smartcar.VehicleV3) (any, error) { return v.Info(ctx) },
			route:   "GET /v3/vehicles/vid",
			replies: []reply{{body: `{"data":` + vehicleJSON + `}`}},
			method:  "GET", path: "/v3/vehicles/vid", queries: []string{""},
			want: vehicleInfo,
		},
		{
			name:    "info bare with the year as a string",
			call:    func(ctx context.Context, v *smartcar.VehicleV3) (any, error) { return v.Info(ctx) },
			route:   "GET /v3/vehicles/vid",
			replies: []reply{{body: `{"id":"vid","type":"vehicle","attributes":{"make":"TESLA","model":"Model 3","year":"2019"}}`}},
			method:  "GET", path: "/v3/vehicles/vid", queries: []string{""},
			want: vehicleInfo,
		},
		{
			name:    "signals, one page",
			call:    func(ctx context.Context, v *smartcar.VehicleV3) (any, error) { return v.Signals(ctx) },
			route:   "GET /v3/vehicles/vid/signals",
			replies: []reply{{body: `{"data":[` + odometerJSON + `,` + notCapableJSON + `],"meta":{"page":1,"pageSize":100,"totalCount":2},"links":{"next":null},"included":{"vehicle":` + vehicleJSON + `}}`}},
			method:  "GET", path: "/v3/vehicles/vid/signals", queries: []string{"page=1&pageSize=100"},
			want: &smartcar.Signals{Vehicle: vehicleInfo, Items: []smartcar.Signal{odometer, notCapable}, Meta: metaV3},
		},
		{
			name:    "signals, every page through relative, unprefixed and absolute links",
			call:    func(ctx context.Context, v *smartcar.VehicleV3) (any, error) { return v.Signals(ctx) },
			route:   "GET /v3/vehicles/vid/signals",
			replies: pages,
			method:  "GET", path: "/v3/vehicles/vid/signals",
			queries: []string{"page=1&pageSize=100", "page=2&pageSize=100", "page=3&pageSize=100", "page=4&pageSize=100"},
			want: &smartcar.Signals{Vehicle: vehicleInfo, Meta: metaV3, Items: []smartcar.Signal{odometer, notCapable,
				{Code: "wheel-tires", Name: "Tires", Group: "Wheel", Status: smartcar.SignalSuccess, Body: json.RawMessage(`{"unit":"kilopascals","values":[]}`),
					RetrievedAt: retrievedAt, OEMUpdatedAt: oemUpdatedAt}}},
		},
		{
			name: "signal",
			call: func(ctx context.Context, v *smartcar.VehicleV3) (any, error) {
				return v.Signal(ctx, "odometer-traveleddistance")
			},
			route:   "GET /v3/vehicles/vid/signals/odometer-traveleddistance",
			replies: []reply{{body: `{"data":` + odometerJSON + `}`}},
			method:  "GET", path: "/v3/vehicles/vid/signals/odometer-traveleddistance", queries: []string{""},
			want: &odometer,
		},
		{
			name: "signal the vehicle cannot provide, bare",
			call: func(ctx context.Context, v *smartcar.VehicleV3) (any, error) {
				return v.Signal(ctx, "tractionbattery-stateofcharge")
			},
			route:   "GET /v3/vehicles/vid/signals/tractionbattery-stateofcharge",
			replies: []reply{{body: notCapableJSON}},
			method:  "GET", path: "/v3/vehicles/vid/signals/tractionbattery-stateofcharge", queries: []string{""},
			want: &notCapable,
		},
		{
			name:    "lock, synchronous",
			call:    func(ctx context.Context, v *smartcar.VehicleV3) (any, error) { return v.Lock(ctx) },
			route:   "POST /v3/vehicles/vid/commands/security/lock",
			replies: []reply{{body: execJSON("SUCCESS", "sync", `"completedAt":"2026-05-01T10:00:02Z",`)}},
			method:  "POST", path: "/v3/vehicles/vid/commands/security/lock", queries: []string{""}, reqBody: `{}`,
			want: &smartcar.CommandExecution{ID: "exec_1", CommandType: "security-lock", Status: smartcar.CommandSuccess,
				ExecutionMode: "sync", ExecutedAt: executedAt, CompletedAt: executedAt.Add(2 * time.Second),
				Duration: 2 * time.Second, StatusCode: 200, Meta: metaV3},
		},
		{
			name:    "unlock, still running",
			call:    func(ctx context.Context, v *smartcar.VehicleV3) (any, error) { return v.Unlock(ctx) },
			route:   "POST /v3/vehicles/vid/commands/security/unlock",
			replies: []reply{{status: 202, body: execJSON("PENDING", "async", "")}},
			method:  "POST", path: "/v3/vehicles/vid/commands/security/unlock", queries: []string{""}, reqBody: `{}`,
			want: &smartcar.CommandExecution{ID: "exec_1", CommandType: "security-lock", Status: smartcar.CommandPending,
				ExecutionMode: "async", ExecutedAt: executedAt, Duration: 2 * time.Second, StatusCode: 202, Meta: metaV3},
		},
		{
			name:    "start charge, empty 202",
			call:    func(ctx context.Context, v *smartcar.VehicleV3) (any, error) { return v.StartCharge(ctx) },
			route:   "POST /v3/vehicles/vid/commands/charge/start",
			replies: []reply{{status: 202}},
			method:  "POST", path: "/v3/vehicles/vid/commands/charge/start", queries: []string{""}, reqBody: `{}`,
			want: &smartcar.CommandExecution{Status: smartcar.CommandPending, StatusCode: 202, Meta: metaV3},
		},
		{
			name:    "stop charge",
			call:    func(ctx context.Context, v *smartcar.VehicleV3) (any, error) { return v.StopCharge(ctx) },
			route:   "POST /v3/vehicles/vid/commands/charge/stop",
			replies: []reply{{body: `{"data":{"id":"exec_2","attributes":{"status":{"value":"SUCCESS"}}}}`}},
			method:  "POST", path: "/v3/vehicles/vid/commands/charge/stop", queries: []string{""}, reqBody: `{}`,
			want: &smartcar.CommandExecution{ID: "exec_2", Status: smartcar.CommandSuccess, StatusCode: 200, Meta: metaV3},
		},
		{
			name:    "set charge limit as a percentage",
			call:    func(ctx context.Context, v *smartcar.VehicleV3) (any, error) { return v.SetChargeLimit(ctx, 0.8) },
			route:   "POST /v3/vehicles/vid/commands/charge/limit",
			replies: []reply{{body: `{"data":{"id":"exec_3","attributes":{"status":{"value":"SUCCESS"}}}}`}},
			method:  "POST", path: "/v3/vehicles/vid/commands/charge/limit", queries: []string{""}, reqBody: `{"limit":80}`,
			want: &smartcar.CommandExecution{ID: "exec_3", Status: smartcar.CommandSuccess, StatusCode: 200, Meta: metaV3},
		},
		{
			name: "any command with a body",
			call: func(ctx context.Context, v *smartcar.VehicleV3) (any, error) {
				return v.Command(ctx, "/navigation/destination/", map[string]float64{"latitude": 37.4, "longitude": -122.1})
			},
			route:   "POST /v3/vehicles/vid/commands/navigation/destination",
			replies: []reply{{status: 202, body: `{"data":{"id":"exec_4","attributes":{"status":{"value":"PENDING"}}}}`}},
			method:  "POST", path: "/v3/vehicles/vid/commands/navigation/destination", queries: []string{""},
			reqBody: `{"latitude":37.4,"longitude":-122.1}`,
			want:    &smartcar.CommandExecution{ID: "exec_4", Status: smartcar.CommandPending, StatusCode: 202, Meta: metaV3},
		},
		{
			name: "command execution that failed",
			call: func(ctx context.Context, v *smartcar.VehicleV3) (any, error) {
				return v.CommandExecution(ctx, "exec_1")
			},
			route:   "GET /v3/vehicles/vid/command-executions/exec_1",
			replies: []reply{{body: `{"data":{"id":"exec_1","type":"command-execution","attributes":{"commandType":"security-lock","status":{"value":"FAILED","error":{"type":"VEHICLE_STATE","code":"DOOR_OPEN","description":"a door is open"}},"executionMode":"async"},"meta":{"executedAt":1777629600000}}}`}},
			method:  "GET", path: "/v3/vehicles/vid/command-executions/exec_1", queries: []string{""},
			want: &smartcar.CommandExecution{ID: "exec_1", CommandType: "security-lock", Status: smartcar.CommandFailed,
				ExecutionMode: "async", ExecutedAt: executedAt, StatusCode: 200, Meta: metaV3,
				Err: &smartcar.Error{Type: "VEHICLE_STATE", Code: "DOOR_OPEN", Description: "a door is open", RequestID: "req-v3"}},
		},
		{
			name: "raw request",
			call: func(ctx context.Context, v *smartcar.VehicleV3) (any, error) {
				res, err := v.Request(ctx, "get", "/signals/charge-voltage?x=1", nil)
				if err != nil {
					return nil, err
				}
				return string(res.Body), nil
			},
			route:   "GET /v3/vehicles/vid/signals/charge-voltage",
			replies: []reply{{body: `{"data":{}}`}},
			method:  "GET", path: "/v3/vehicles/vid/signals/charge-voltage", queries: []string{"x=1"},
			want: `{"data":{}}`,
		},
	}
	modes := []struct {
		name     string
		vehicle  func(f *v3fake) *smartcar.VehicleV3
		auth     string
		userID   string
		tokenReq int
	}{
		{name: "app token", vehicle: func(f *v3fake) *smartcar.VehicleV3 { return f.app(t).Vehicle("vid", "uid") },
			auth: "Bearer app-tok-1", userID: "uid", tokenReq: 1},
		{name: "user token", vehicle: func(f *v3fake) *smartcar.VehicleV3 { return f.client().VehicleV3("vid", "user-tok") },
			auth: "Bearer user-tok"},
		{name: "user token with a user id", vehicle: func(f *v3fake) *smartcar.VehicleV3 {
			return f.client().VehicleV3("vid", "user-tok").WithUserID("uid")
		}, auth: "Bearer user-tok", userID: "uid"},
	}
	for _, tt := range tests {
		for _, m := range modes {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				f := newV3Fake(t, map[string][]reply{tt.route: append([]reply(nil), tt.replies...)})
				got, err := tt.call(t.Context(), m.vehicle(f))
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("result (-want +got):\n%s", diff)
				}
				reqs := f.requests()
				if len(reqs) != len(tt.queries) {
					t.Fatalf("server received %d requests, want %d", len(reqs), len(tt.queries))
				}
				for i, r := range reqs {
					if r.Method != tt.method || r.Path != tt.path || r.RawQuery != tt.queries[i] {
						t.Errorf("request %d = %s %s?%s, want %s %s?%s", i, r.Method, r.Path, r.RawQuery, tt.method, tt.path, tt.queries[i])
					}
					if got := r.Header.Get("Authorization"); got != m.auth {
						t.Errorf("Authorization = %q, want %q", got, m.auth)
					}
					if got, ok := r.Header["Sc-User-Id"]; (m.userID == "" && ok) || (m.userID != "" && (len(got) != 1 || got[0] != m.userID)) {
						t.Errorf("sc-user-id = %q, want %q", got, m.userID)
					}
					if r.Body != tt.reqBody {
						t.Errorf("body = %q, want %q", r.Body, tt.reqBody)
					}
					if tt.reqBody != "" && r.Header.Get("Content-Type") != "application/json" {
						t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
					}
					if r.Header.Get("Sc-Unit-System") != "" || r.Header.Get("User-Agent") == "" {
						t.Errorf("headers %v: want a User-Agent and no SC-Unit-System", r.Header)
					}
				}
				if n := f.tokenRequests(); n != m.tokenReq {
					t.Errorf("token requests = %d, want %d", n, m.tokenReq)
				}
			})
		}
	}
}

func TestVehicleV3_validation(t *testing.T) {
	f := newV3Fake(t, nil)
	v := f.app(t).Vehicle("vid", "uid")
	ctx := t.Context()
	calls := map[string]func() (any, error){
		"empty signal code":   func() (any, error) { return v.Signal(ctx, " ") },
		"charge limit as 80":  func() (any, error) { return v.SetChargeLimit(ctx, 80) },
		"empty command":       func() (any, error) { return v.Command(ctx, "/", nil) },
		"command going up":    func() (any, error) { return v.Command(ctx, "../../connections", nil) },
		"unencodable body":    func() (any, error) { return v.Command(ctx, "x/y", func() {}) },
		"empty execution id":  func() (any, error) { return v.CommandExecution(ctx, "") },
		"unencodable request": func() (any, error) { return v.Request(ctx, "POST", "x", make(chan int)) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			got, err := call()
			if e, ok := err.(*smartcar.Error); !ok || e.Type != smartcar.TypeValidation || e.StatusCode != 0 {
				t.Errorf("= %v, %v; want a VALIDATION *Error", got, err)
			}
		})
	}
	if n := len(f.requests()) + f.tokenRequests(); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

func TestVehicleV3_Signals_paging(t *testing.T) {
	tests := []struct {
		name  string
		pages []reply
		want  int // requests before the failure
	}{
		{name: "next on another origin", want: 1, pages: []reply{{body: `{"data":[],"links":{"next":"http://elsewhere.example/v3/vehicles/vid/signals?page=2"}}`}}},
		{name: "scheme-relative next", want: 1, pages: []reply{{body: `{"data":[],"links":{"next":"//elsewhere.example/v3/x"}}`}}},
		{name: "next back to the first page", want: 2, pages: []reply{
			{body: `{"data":[],"links":{"next":"?page=2&pageSize=100"}}`},
			{body: `{"data":[],"links":{"next":"/v3/vehicles/vid/signals?page=1&pageSize=100"}}`}}},
		{name: "a page that fails", want: 2, pages: []reply{
			{body: `{"data":[],"links":{"next":"?page=2"}}`},
			{status: 429, header: map[string]string{"Retry-After": "7"}, body: `{"type":"RATE_LIMIT","code":"VEHICLE"}`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newV3Fake(t, map[string][]reply{"GET /v3/vehicles/vid/signals": tt.pages})
			s, err := f.app(t).Vehicle("vid", "uid").Signals(t.Context())
			if _, ok := err.(*smartcar.Error); !ok || s != nil {
				t.Errorf("Signals = %v, %v; want a *smartcar.Error", s, err)
			}
			if n := len(f.requests()); n != tt.want {
				t.Errorf("%d requests, want %d", n, tt.want)
			}
		})
	}
}

// Vehicle.Signals and Vehicle.Signal are Python's get_signals and
// get_signal: the v2 vehicle's access token against the v3 origin.
func TestVehicle_signalsV3(t *testing.T) {
	f := newV3Fake(t, map[string][]reply{
		"GET /v3/vehicles/vid/signals":                           {{body: `{"data":[` + odometerJSON + `]}`}},
		"GET /v3/vehicles/vid/signals/odometer-traveleddistance": {{body: `{"data":` + odometerJSON + `}`}},
	})
	v := f.client().Vehicle("vid", "user-tok", smartcar.WithVehicleUnitSystem(smartcar.Imperial))
	all, err := v.Signals(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := &smartcar.Signals{Items: []smartcar.Signal{odometer}, Meta: metaV3}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("Signals (-want +got):\n%s", diff)
	}
	one, err := v.Signal(t.Context(), "odometer-traveleddistance")
	if err != nil || one.Code != odometer.Code {
		t.Fatalf("Signal = %+v, %v", one, err)
	}
	for _, r := range f.requests() {
		if r.Header.Get("Authorization") != "Bearer user-tok" || r.Header.Get("Sc-User-Id") != "" || r.Header.Get("Sc-Unit-System") != "" {
			t.Errorf("request %s headers %v", r.Path, r.Header)
		}
	}
}

func TestNewVehicleV3WithToken_environment(t *testing.T) {
	clearV3Env(t)
	f := newV3Fake(t, map[string][]reply{"GET /v3/vehicles/vid": {{body: vehicleJSON}}})
	t.Setenv(smartcar.EnvVehicleAPIV3Origin, f.URL)
	got, err := smartcar.NewVehicleV3WithToken("vid", "user-tok").Info(t.Context())
	if err != nil || got.Make != "TESLA" {
		t.Fatalf("Info = %+v, %v", got, err)
	}
	if got := f.requests()[0].Header.Get("Authorization"); got != "Bearer user-tok" {
		t.Errorf("Authorization = %q", got)
	}
}

// Signals decodes into recycled pages: what one call returned must not
// change with the next calls, and a signal without a body must not inherit
// the body decoded at its place before, in the same call or in another.
func TestVehicleV3_Signals_pagesNotShared(t *testing.T) {
	tires := signalJSON("wheel-tires", "Tires", "Wheel", `{"unit":"kilopascals","values":[{"row":0,"column":0,"tirePressure":219.3}]}`)
	f := newV3Fake(t, map[string][]reply{"GET /v3/vehicles/vid/signals": {
		{body: `{"data":[` + odometerJSON + `,` + tires + `],"links":{"next":"?page=2"}}`},
		{body: `{"data":[` + notCapableJSON + `],"links":{"next":null}}`},
		{body: `{"data":[` + notCapableJSON + `,` + odometerJSON + `]}`},
	}})
	v := f.app(t).Vehicle("vid", "uid")
	first, err := v.Signals(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	snapshot := func(s *smartcar.Signals) string {
		b, err := json.Marshal(s.Items)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := snapshot(first)
	if got := first.Codes(); !cmp.Equal(got, []string{odometer.Code, "wheel-tires", notCapable.Code}) {
		t.Fatalf("first call: %v", got)
	}
	if s, _ := first.Get(notCapable.Code); s.Body != nil || s.Err == nil {
		t.Errorf("error signal decoded where a body was before: %+v", s)
	}
	// Later calls (the last reply repeats), one after the other and at once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			s, err := v.Signals(t.Context())
			if err != nil {
				t.Error(err)
				return
			}
			want := []smartcar.Signal{notCapable, odometer}
			if diff := cmp.Diff(want, s.Items); diff != "" {
				t.Errorf("later call (-want +got):\n%s", diff)
			}
		})
	}
	wg.Wait()
	if after := snapshot(first); after != before {
		t.Errorf("the first call's signals changed:\nbefore %s\nafter  %s", before, after)
	}
}

// v3 bodies are read whole (bounded) before they are decoded.
func TestVehicleV3_Signals_bodies(t *testing.T) {
	big := `{"data":[` + strings.Repeat(odometerJSON+",", 20) + odometerJSON + `]}`
	tests := []struct {
		name     string
		body     string
		limit    int64
		wantCode string // "" for success
	}{
		{name: "too large", body: big, limit: 1024, wantCode: "RESPONSE_TOO_LARGE"},
		{name: "empty", body: "", wantCode: "INVALID_RESPONSE"},
		{name: "not JSON", body: "<html>ok</html>", wantCode: "INVALID_RESPONSE"},
		{name: "truncated", body: big[:len(big)/2], wantCode: "INVALID_RESPONSE"},
		{name: "large", body: big},
		{name: "small after a large one", body: `{"data":[` + odometerJSON + `]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newV3Fake(t, map[string][]reply{"GET /v3/vehicles/vid/signals": {{body: tt.body}}})
			a, err := smartcar.NewAppClient(&smartcar.AppClientOptions{ClientID: appClientID, ClientSecret: appClientSecret,
				IAMOrigin: f.URL, APIOrigin: f.URL, ManagementOrigin: f.URL, HTTPClient: f.Client(), MaxResponseBytes: tt.limit})
			if err != nil {
				t.Fatal(err)
			}
			s, err := a.Vehicle("vid", "uid").Signals(t.Context())
			if tt.wantCode != "" {
				if e, ok := smartcar.AsError(err); !ok || e.Type != smartcar.TypeSDK || e.Code != tt.wantCode || e.StatusCode != 200 {
					t.Errorf("Signals = %v, %v; want SDK_ERROR:%s", s, err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, sg := range s.Items {
				if diff := cmp.Diff(odometer, sg); diff != "" {
					t.Fatalf("signal (-want +got):\n%s", diff)
				}
			}
			if n := strings.Count(tt.body, `"odometer-traveleddistance","type"`); len(s.Items) != n {
				t.Errorf("%d signals, want %d", len(s.Items), n)
			}
		})
	}
}
