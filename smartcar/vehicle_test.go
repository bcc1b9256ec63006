package smartcar_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

func TestVehicle_methods(t *testing.T) {
	success := `{"status":"success","message":"Successfully sent request to vehicle"}`
	action := &smartcar.ActionResponse{Status: "success", Message: "Successfully sent request to vehicle", Meta: wantMeta}
	tests := []struct {
		name      string
		call      func(context.Context, *smartcar.Vehicle) (any, error)
		method    string
		path      string // below /v2.0/vehicles/vid
		query     url.Values
		reqBody   string
		auth      string // default "Bearer tok"
		replyBody string
		want      any
	}{
		{
			name:      "info",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.Info(ctx) },
			method:    http.MethodGet,
			replyBody: `{"id":"vid","make":"TESLA","model":"Model S","year":2014}`,
			want:      &smartcar.Info{ID: "vid", Make: "TESLA", Model: "Model S", Year: 2014, Meta: wantMeta},
		},
		{
			name:      "vin",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.VIN(ctx) },
			method:    http.MethodGet,
			path:      "/vin",
			replyBody: `{"vin":"5YJSA1CN5DFP00101"}`,
			want:      &smartcar.VIN{VIN: "5YJSA1CN5DFP00101", Meta: wantMeta},
		},
		{
			name:      "odometer",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.Odometer(ctx) },
			method:    http.MethodGet,
			path:      "/odometer",
			replyBody: `{"distance":104.32}`,
			want:      &smartcar.Odometer{Distance: 104.32, Meta: wantMeta},
		},
		{
			name:      "location",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.Location(ctx) },
			method:    http.MethodGet,
			path:      "/location",
			replyBody: `{"latitude":37.4292,"longitude":-122.1381}`,
			want:      &smartcar.Location{Latitude: 37.4292, Longitude: -122.1381, Meta: wantMeta},
		},
		{
			name:      "battery",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.Battery(ctx) },
			method:    http.MethodGet,
			path:      "/battery",
			replyBody: `{"percentRemaining":0.3,"range":40.5}`,
			want:      &smartcar.Battery{PercentRemaining: 0.3, Range: 40.5, Meta: wantMeta},
		},
		{
			name:      "battery capacity",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.BatteryCapacity(ctx) },
			method:    http.MethodGet,
			path:      "/battery/capacity",
			replyBody: `{"capacity":24}`,
			want:      &smartcar.BatteryCapacity{Capacity: 24, Meta: wantMeta},
		},
		{
			name:   "nominal capacity",
			call:   func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.NominalCapacity(ctx) },
			method: http.MethodGet,
			path:   "/battery/nominal_capacity",
			replyBody: `{"availableCapacities":[{"capacity":70.9,"description":null},{"capacity":90.9,"description":"BEV:Extended Range"}],
				"capacity":{"nominal":80.9,"source":"USER_SELECTED"},"url":null}`,
			want: &smartcar.NominalCapacity{
				AvailableCapacities: []smartcar.AvailableCapacity{{Capacity: 70.9}, {Capacity: 90.9, Description: ptr("BEV:Extended Range")}},
				Capacity:            &smartcar.NominalCapacityValue{Nominal: 80.9, Source: "USER_SELECTED"},
				Meta:                wantMeta,
			},
		},
		{
			name:      "charge",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.Charge(ctx) },
			method:    http.MethodGet,
			path:      "/charge",
			replyBody: `{"isPluggedIn":true,"state":"CHARGING"}`,
			want:      &smartcar.Charge{IsPluggedIn: true, State: smartcar.ChargeStateCharging, Meta: wantMeta},
		},
		{
			name:      "charge limit",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.ChargeLimit(ctx) },
			method:    http.MethodGet,
			path:      "/charge/limit",
			replyBody: `{"limit":0.7}`,
			want:      &smartcar.ChargeLimit{Limit: 0.7, Meta: wantMeta},
		},
		{
			name:      "fuel",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.Fuel(ctx) },
			method:    http.MethodGet,
			path:      "/fuel",
			replyBody: `{"amountRemaining":19.5,"percentRemaining":0.75,"range":320.4}`,
			want:      &smartcar.Fuel{AmountRemaining: 19.5, PercentRemaining: 0.75, Range: 320.4, Meta: wantMeta},
		},
		{
			name:      "tire pressure",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.TirePressure(ctx) },
			method:    http.MethodGet,
			path:      "/tires/pressure",
			replyBody: `{"frontLeft":219.3,"frontRight":219.4,"backLeft":219.5,"backRight":219.6}`,
			want:      &smartcar.TirePressure{FrontLeft: 219.3, FrontRight: 219.4, BackLeft: 219.5, BackRight: 219.6, Meta: wantMeta},
		},
		{
			name:      "engine oil",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.EngineOil(ctx) },
			method:    http.MethodGet,
			path:      "/engine/oil",
			replyBody: `{"lifeRemaining":0.86}`,
			want:      &smartcar.EngineOil{LifeRemaining: 0.86, Meta: wantMeta},
		},
		{
			name:   "lock status",
			call:   func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.LockStatus(ctx) },
			method: http.MethodGet,
			path:   "/security",
			replyBody: `{"isLocked":true,"doors":[{"type":"frontLeft","status":"LOCKED"}],"windows":[{"type":"backLeft","status":"CLOSED"}],
				"sunroof":[],"storage":[{"type":"rear","status":"UNKNOWN"}],"chargingPort":[{"type":"chargingPort","status":"OPEN"}]}`,
			want: &smartcar.LockStatus{
				IsLocked:     true,
				Doors:        []smartcar.OpenStatus{{Type: "frontLeft", Status: "LOCKED"}},
				Windows:      []smartcar.OpenStatus{{Type: "backLeft", Status: "CLOSED"}},
				Sunroof:      []smartcar.OpenStatus{},
				Storage:      []smartcar.OpenStatus{{Type: "rear", Status: "UNKNOWN"}},
				ChargingPort: []smartcar.OpenStatus{{Type: "chargingPort", Status: "OPEN"}},
				Meta:         wantMeta,
			},
		},
		{
			name:   "diagnostic system status",
			call:   func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.DiagnosticSystemStatus(ctx) },
			method: http.MethodGet,
			path:   "/diagnostics/system_status",
			replyBody: `{"systems":[{"systemId":"SYSTEM_TPMS","status":"ALERT","description":"Left rear tire sensor battery low"},
				{"systemId":"SYSTEM_AIRBAG","status":"OK","description":null}]}`,
			want: &smartcar.DiagnosticSystemStatus{Systems: []smartcar.DiagnosticSystem{
				{SystemID: "SYSTEM_TPMS", Status: "ALERT", Description: ptr("Left rear tire sensor battery low")},
				{SystemID: "SYSTEM_AIRBAG", Status: "OK"},
			}, Meta: wantMeta},
		},
		{
			name:      "diagnostic trouble codes",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.DiagnosticTroubleCodes(ctx) },
			method:    http.MethodGet,
			path:      "/diagnostics/dtcs",
			replyBody: `{"activeCodes":[{"code":"P302D","timestamp":"2024-09-05T14:48:00.000Z"},{"code":"P303D","timestamp":null}]}`,
			want: &smartcar.DiagnosticTroubleCodes{ActiveCodes: []smartcar.TroubleCode{
				{Code: "P302D", Timestamp: ptr(time.Date(2024, 9, 5, 14, 48, 0, 0, time.UTC))},
				{Code: "P303D"},
			}, Meta: wantMeta},
		},
		{
			name: "permissions paged",
			call: func(ctx context.Context, v *smartcar.Vehicle) (any, error) {
				return v.Permissions(ctx, &smartcar.Paging{Limit: 25, Offset: 10})
			},
			method:    http.MethodGet,
			path:      "/permissions",
			query:     url.Values{"limit": {"25"}, "offset": {"10"}},
			replyBody: `{"permissions":["read_vehicle_info"],"paging":{"count":25,"offset":10}}`,
			want:      &smartcar.Permissions{Permissions: []string{"read_vehicle_info"}, Paging: smartcar.PageInfo{Count: 25, Offset: 10}, Meta: wantMeta},
		},
		{
			name:      "permissions unpaged",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.Permissions(ctx, nil) },
			method:    http.MethodGet,
			path:      "/permissions",
			replyBody: `{"permissions":[],"paging":{"count":0,"offset":0}}`,
			want:      &smartcar.Permissions{Permissions: []string{}, Meta: wantMeta},
		},
		{
			name: "service history",
			call: func(ctx context.Context, v *smartcar.Vehicle) (any, error) {
				return v.ServiceHistory(ctx, &smartcar.ServiceHistoryOptions{StartDate: "2022-01-01", EndDate: "2022-12-31"})
			},
			method: http.MethodGet,
			path:   "/service/history",
			query:  url.Values{"startDate": {"2022-01-01"}, "endDate": {"2022-12-31"}},
			replyBody: `[{"serviceId":12345,"serviceDate":"2022-07-10T16:20:00.000Z","odometerDistance":50000,
				"serviceTasks":[{"taskId":1,"taskDescription":"oil change"},{"taskId":"t2","taskDescription":null}],
				"serviceDetails":{"type":"dealership"},"serviceCost":{"totalCost":100,"currency":"USD"}},
				{"serviceId":null,"serviceDate":null,"odometerDistance":null,"serviceTasks":[],"serviceDetails":[{"type":"a","value":"b"}],"serviceCost":null}]`,
			want: &smartcar.ServiceHistory{Records: []smartcar.ServiceRecord{
				{
					ServiceID: "12345", ServiceDate: ptr(time.Date(2022, 7, 10, 16, 20, 0, 0, time.UTC)), OdometerDistance: ptr(50000.0),
					ServiceTasks:   []smartcar.ServiceTask{{TaskID: "1", TaskDescription: ptr("oil change")}, {TaskID: "t2"}},
					ServiceDetails: json.RawMessage(`{"type":"dealership"}`),
					ServiceCost:    &smartcar.ServiceCost{TotalCost: ptr(100.0), Currency: ptr("USD")},
				},
				{ServiceTasks: []smartcar.ServiceTask{}, ServiceDetails: json.RawMessage(`[{"type":"a","value":"b"}]`)},
			}, Meta: wantMeta},
		},
		{
			name:      "service history without dates",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.ServiceHistory(ctx, nil) },
			method:    http.MethodGet,
			path:      "/service/history",
			replyBody: `[]`,
			want:      &smartcar.ServiceHistory{Records: []smartcar.ServiceRecord{}, Meta: wantMeta},
		},
		{
			name:      "lock",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.Lock(ctx) },
			method:    http.MethodPost,
			path:      "/security",
			reqBody:   `{"action":"LOCK"}`,
			replyBody: success,
			want:      action,
		},
		{
			name:      "unlock",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.Unlock(ctx) },
			method:    http.MethodPost,
			path:      "/security",
			reqBody:   `{"action":"UNLOCK"}`,
			replyBody: success,
			want:      action,
		},
		{
			name:      "start charge",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.StartCharge(ctx) },
			method:    http.MethodPost,
			path:      "/charge",
			reqBody:   `{"action":"START"}`,
			replyBody: success,
			want:      action,
		},
		{
			name:      "stop charge",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.StopCharge(ctx) },
			method:    http.MethodPost,
			path:      "/charge",
			reqBody:   `{"action":"STOP"}`,
			replyBody: success,
			want:      action,
		},
		{
			name:      "set charge limit",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.SetChargeLimit(ctx, 0.8) },
			method:    http.MethodPost,
			path:      "/charge/limit",
			reqBody:   `{"limit":0.8}`,
			replyBody: success,
			want:      action,
		},
		{
			name: "send destination",
			call: func(ctx context.Context, v *smartcar.Vehicle) (any, error) {
				return v.SendDestination(ctx, 51.5, -0.12)
			},
			method:    http.MethodPost,
			path:      "/navigation/destination",
			reqBody:   `{"latitude":51.5,"longitude":-0.12}`,
			replyBody: success,
			want:      action,
		},
		{
			name:      "disconnect",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.Disconnect(ctx) },
			method:    http.MethodDelete,
			path:      "/application",
			replyBody: `{"status":"success"}`,
			want:      &smartcar.ActionResponse{Status: "success", Meta: wantMeta},
		},
		{
			name:      "subscribe",
			call:      func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.Subscribe(ctx, "wh-1") },
			method:    http.MethodPost,
			path:      "/webhooks/wh-1",
			replyBody: `{"webhookid":"wh-1","vehicleid":"vid"}`,
			want:      &smartcar.WebhookSubscription{WebhookID: "wh-1", VehicleID: "vid", Meta: wantMeta},
		},
		{
			name: "unsubscribe with an empty object",
			call: func(ctx context.Context, v *smartcar.Vehicle) (any, error) {
				return v.Unsubscribe(ctx, "amt-1", "wh-1")
			},
			method:    http.MethodDelete,
			path:      "/webhooks/wh-1",
			auth:      "Bearer amt-1",
			replyBody: `{}`,
			want:      &smartcar.ActionResponse{Meta: wantMeta},
		},
		{
			name: "unsubscribe with an empty body",
			call: func(ctx context.Context, v *smartcar.Vehicle) (any, error) {
				return v.Unsubscribe(ctx, "amt-1", "wh-1")
			},
			method:    http.MethodDelete,
			path:      "/webhooks/wh-1",
			auth:      "Bearer amt-1",
			replyBody: ``,
			want:      &smartcar.ActionResponse{Meta: wantMeta},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, reply{header: metaHeaders, body: tt.replyBody})
			v := smartcar.NewVehicle("vid", "tok",
				smartcar.WithVehicleClient(srv.client()),
				smartcar.WithVehicleUnitSystem(smartcar.Imperial))

			got, err := tt.call(context.Background(), v)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}

			req := srv.last(t)
			checkRequest(t, req, tt.method, "/v2.0/vehicles/vid"+tt.path, tt.query, tt.reqBody)
			wantAuth := tt.auth
			if wantAuth == "" {
				wantAuth = "Bearer tok"
			}
			wantHeaders := map[string]string{
				"Authorization":  wantAuth,
				"Sc-Unit-System": "imperial",
				"User-Agent":     wantUserAgent(),
			}
			if tt.reqBody != "" {
				wantHeaders["Content-Type"] = "application/json"
			}
			checkHeaders(t, req.Header, wantHeaders)
		})
	}
}

func wantUserAgent() string {
	return "Smartcar/" + smartcar.SDKVersion + " (" + runtime.GOOS + "; " + runtime.GOARCH + ") Go " + runtime.Version()
}

func checkRequest(t *testing.T, got recorded, method, path string, query url.Values, body string) {
	t.Helper()
	if got.Method != method || got.Path != path {
		t.Errorf("request = %s %s, want %s %s", got.Method, got.Path, method, path)
	}
	gotQuery, err := url.ParseQuery(got.RawQuery)
	if err != nil {
		t.Fatalf("parse query %q: %v", got.RawQuery, err)
	}
	if query == nil {
		query = url.Values{}
	}
	if diff := cmp.Diff(query, gotQuery); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	if got.Body != body {
		t.Errorf("body = %q, want %q", got.Body, body)
	}
}

func checkHeaders(t *testing.T, got http.Header, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if g := got.Get(k); g != v {
			t.Errorf("header %s = %q, want %q", k, g, v)
		}
	}
}

func TestVehicle_options(t *testing.T) {
	srv := serve(t, reply{header: metaHeaders, body: `{"distance":1}`})
	c := srv.client(smartcar.WithVersion("1.0"), smartcar.WithUnitSystem(smartcar.Imperial))
	tests := []struct {
		name      string
		vehicle   *smartcar.Vehicle
		wantPath  string
		wantQuery url.Values
		wantUnit  string
	}{
		{
			name:     "client defaults",
			vehicle:  c.Vehicle("vid", "tok"),
			wantPath: "/v1.0/vehicles/vid/odometer",
			wantUnit: "imperial",
		},
		{
			name: "vehicle overrides",
			vehicle: c.Vehicle("vid", "tok",
				smartcar.WithVehicleVersion("2.0"),
				smartcar.WithVehicleUnitSystem(smartcar.Metric),
				smartcar.WithVehicleFlags(smartcar.Flags{"country": "DE", "beta": true})),
			wantPath:  "/v2.0/vehicles/vid/odometer",
			wantQuery: url.Values{"flags": {"beta:true country:DE"}},
			wantUnit:  "metric",
		},
		{
			name:     "id is escaped",
			vehicle:  c.Vehicle("a/b c", "tok"),
			wantPath: "/v1.0/vehicles/a/b c/odometer",
			wantUnit: "imperial",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(srv.requests())
			if _, err := tt.vehicle.Odometer(context.Background()); err != nil {
				t.Fatalf("odometer: %v", err)
			}
			reqs := srv.requests()
			if len(reqs) != before+1 {
				t.Fatalf("got %d new requests, want 1", len(reqs)-before)
			}
			req := reqs[len(reqs)-1]
			checkRequest(t, req, http.MethodGet, tt.wantPath, tt.wantQuery, "")
			checkHeaders(t, req.Header, map[string]string{"Sc-Unit-System": tt.wantUnit})
		})
	}
	v := c.Vehicle("vid", "tok", smartcar.WithVehicleVersion("3.1"))
	if v.ID() != "vid" || v.Version() != "3.1" || v.UnitSystem() != smartcar.Imperial {
		t.Errorf("accessors = %q %q %q, want vid 3.1 imperial", v.ID(), v.Version(), v.UnitSystem())
	}
}
