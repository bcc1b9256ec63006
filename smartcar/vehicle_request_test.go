package smartcar_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

func TestVehicle_Request(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		path      string
		body      any
		wantPath  string
		wantQuery url.Values
		wantBody  string
	}{
		{name: "make specific get", method: "get", path: "tesla/speedometer/", wantPath: "/v2.0/vehicles/vid/tesla/speedometer"},
		{name: "attributes", method: "GET", path: "/", wantPath: "/v2.0/vehicles/vid"},
		{name: "query", method: "GET", path: "/permissions?limit=5", wantPath: "/v2.0/vehicles/vid/permissions", wantQuery: url.Values{"limit": {"5"}}},
		{name: "struct body", method: "POST", path: "/tesla/charge/ammeter", body: struct {
			Amperage int `json:"amperage"`
		}{48}, wantPath: "/v2.0/vehicles/vid/tesla/charge/ammeter", wantBody: `{"amperage":48}`},
		{name: "bytes body", method: "POST", path: "/x", body: []byte(`{"a":1}`), wantPath: "/v2.0/vehicles/vid/x", wantBody: `{"a":1}`},
		{name: "raw message body", method: "PUT", path: "/x", body: json.RawMessage(`[1]`), wantPath: "/v2.0/vehicles/vid/x", wantBody: `[1]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, reply{header: metaHeaders, body: `{"speed":88.5}`})
			v := srv.client().Vehicle("vid", "tok")
			resp, err := v.Request(context.Background(), tt.method, tt.path, tt.body)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			var got struct {
				Speed float64 `json:"speed"`
			}
			if err := resp.Decode(&got); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got.Speed != 88.5 || resp.StatusCode != http.StatusOK || resp.Meta != wantMeta || resp.Headers.Get("Sc-Request-Id") != "req-1" {
				t.Errorf("response = %+v speed %v, want 200, speed 88.5 and the meta headers", resp, got.Speed)
			}
			checkRequest(t, srv.last(t), strings.ToUpper(tt.method), tt.wantPath, tt.wantQuery, tt.wantBody)
		})
	}

	t.Run("unencodable body", func(t *testing.T) {
		srv := serve(t, reply{body: `{}`})
		_, err := srv.client().Vehicle("vid", "tok").Request(context.Background(), "POST", "/x", make(chan int))
		checkErr(t, err, smartcar.TypeValidation, "BODY")
		if n := len(srv.requests()); n != 0 {
			t.Errorf("server received %d requests, want 0", n)
		}
	})
	t.Run("error status", func(t *testing.T) {
		srv := serve(t, reply{status: 404, body: `{"type":"RESOURCE_NOT_FOUND","code":"PATH","description":"no"}`})
		_, err := srv.client().Vehicle("vid", "tok").Request(context.Background(), "GET", "/nope", nil)
		checkErr(t, err, smartcar.TypeResourceNotFound, "PATH")
	})
	t.Run("decode mismatch", func(t *testing.T) {
		resp := &smartcar.Response{Body: json.RawMessage(`{"speed":"fast"}`)}
		var v struct {
			Speed float64 `json:"speed"`
		}
		checkErr(t, resp.Decode(&v), smartcar.TypeSDK, "INVALID_RESPONSE")
	})
}

func TestVehicle_validation(t *testing.T) {
	tests := []struct {
		name string
		call func(context.Context, *smartcar.Vehicle) (any, error)
	}{
		{"charge limit as percent", func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.SetChargeLimit(ctx, 80) }},
		{"negative charge limit", func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.SetChargeLimit(ctx, -0.1) }},
		{"latitude", func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.SendDestination(ctx, 91, 0) }},
		{"longitude", func(ctx context.Context, v *smartcar.Vehicle) (any, error) { return v.SendDestination(ctx, 0, -180.5) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, reply{body: `{}`})
			_, err := tt.call(context.Background(), srv.client().Vehicle("vid", "tok"))
			e := checkErr(t, err, smartcar.TypeValidation, "PARAMETER")
			if e != nil && (e.Retryable() || e.StatusCode != 0) {
				t.Errorf("error retryable=%v status=%d, want permanent with status 0", e.Retryable(), e.StatusCode)
			}
			if n := len(srv.requests()); n != 0 {
				t.Errorf("server received %d requests, want 0", n)
			}
		})
	}
}

// checkErr asserts err is a *smartcar.Error of the type and code and returns it.
func checkErr(t *testing.T, err error, typ, code string) *smartcar.Error {
	t.Helper()
	e, ok := smartcar.AsError(err)
	if !ok {
		t.Fatalf("error = %v (%T), want a *smartcar.Error", err, err)
	}
	if e.Type != typ || e.Code != code {
		t.Errorf("error type:code = %s:%s, want %s:%s (%v)", e.Type, e.Code, typ, code, e)
	}
	return e
}
