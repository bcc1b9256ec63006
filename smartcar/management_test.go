package smartcar_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

func TestClient_GetCompatibility(t *testing.T) {
	basic := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
	}
	tests := []struct {
		name      string
		env       map[string]string
		version   string
		opts      *smartcar.CompatibilityOptions
		wantPath  string
		wantQuery url.Values
		wantAuth  string
	}{
		{
			name:      "credentials from env",
			env:       map[string]string{smartcar.EnvClientID: "env-id", smartcar.EnvClientSecret: "env-secret"},
			wantPath:  "/v2.0/compatibility",
			wantQuery: url.Values{"vin": {"5YJ"}, "scope": {"read_odometer read_location"}, "country": {"US"}},
			wantAuth:  basic("env-id", "env-secret"),
		},
		{
			name:    "options win, test level forces test mode",
			env:     map[string]string{smartcar.EnvClientID: "env-id", smartcar.EnvClientSecret: "env-secret"},
			version: "1.0",
			opts: &smartcar.CompatibilityOptions{ClientID: "id", ClientSecret: "secret", Country: "DE",
				Flags: smartcar.Flags{"x": 1}, Mode: "live", TestModeCompatibilityLevel: "compatible"},
			wantPath: "/v1.0/compatibility",
			wantQuery: url.Values{"vin": {"5YJ"}, "scope": {"read_odometer read_location"}, "country": {"DE"},
				"flags": {"x:1"}, "mode": {"test"}, "test_mode_compatibility_level": {"compatible"}},
			wantAuth: basic("id", "secret"),
		},
		{
			name:      "mode",
			opts:      &smartcar.CompatibilityOptions{ClientID: "id", ClientSecret: "secret", Mode: "simulated"},
			wantPath:  "/v2.0/compatibility",
			wantQuery: url.Values{"vin": {"5YJ"}, "scope": {"read_odometer read_location"}, "country": {"US"}, "mode": {"simulated"}},
			wantAuth:  basic("id", "secret"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			srv := serve(t, reply{header: metaHeaders, body: `{"compatible":true,"reason":null,
				"capabilities":[{"permission":"read_odometer","endpoint":"/odometer","capable":false,"reason":"VEHICLE_NOT_CAPABLE"}]}`})
			t.Setenv(smartcar.EnvAPIOrigin, srv.URL)
			var opts []smartcar.ClientOption
			if tt.version != "" {
				opts = append(opts, smartcar.WithVersion(tt.version))
			}
			got, err := smartcar.NewClient(opts...).GetCompatibility(context.Background(), "5YJ", []string{"read_odometer", "read_location"}, tt.opts)
			if err != nil {
				t.Fatalf("get compatibility: %v", err)
			}
			want := &smartcar.Compatibility{Compatible: true, Capabilities: []smartcar.Capability{
				{Permission: "read_odometer", Endpoint: "/odometer", Reason: ptr("VEHICLE_NOT_CAPABLE")},
			}, Meta: wantMeta}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("compatibility (-want +got):\n%s", diff)
			}
			req := srv.last(t)
			checkRequest(t, req, http.MethodGet, tt.wantPath, tt.wantQuery, "")
			checkHeaders(t, req.Header, map[string]string{"Authorization": tt.wantAuth, "User-Agent": wantUserAgent()})
		})
	}

	t.Run("package level, missing secret", func(t *testing.T) {
		clearEnv(t)
		t.Setenv(smartcar.EnvClientID, "id")
		_, err := smartcar.GetCompatibility(context.Background(), "5YJ", nil, nil)
		if !errors.Is(err, smartcar.ErrMissingCredentials) || !strings.Contains(err.Error(), "SMARTCAR_CLIENT_SECRET") {
			t.Errorf("error = %v, want ErrMissingCredentials naming SMARTCAR_CLIENT_SECRET", err)
		}
		if strings.Contains(err.Error(), "SMARTCAR_CLIENT_ID") {
			t.Errorf("error %q names SMARTCAR_CLIENT_ID, which is set", err)
		}
	})
	t.Run("secret redacted from errors", func(t *testing.T) {
		clearEnv(t)
		srv := serve(t, reply{status: 401, body: `{"type":"AUTHENTICATION","description":"bad s3cr3t"}`})
		_, err := srv.client().GetCompatibility(context.Background(), "5YJ", nil,
			&smartcar.CompatibilityOptions{ClientID: "id", ClientSecret: "s3cr3t"})
		e := checkErr(t, err, smartcar.TypeAuthentication, "")
		if e.Description != "bad REDACTED" {
			t.Errorf("description = %q, want the secret redacted", e.Description)
		}
	})
}

func TestClient_GetConnections(t *testing.T) {
	tests := []struct {
		name      string
		opts      *smartcar.ConnectionsOptions
		wantQuery url.Values
	}{
		{name: "all"},
		{
			name:      "filtered page",
			opts:      &smartcar.ConnectionsOptions{UserID: "u1", VehicleID: "v1", Limit: 10, Cursor: "c1"},
			wantQuery: url.Values{"user_id": {"u1"}, "vehicle_id": {"v1"}, "limit": {"10"}, "cursor": {"c1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, reply{header: metaHeaders, body: `{"connections":[{"vehicleId":"bcf1b859","userId":"d2f64075",
				"connectedAt":"2023-08-10T15:00:00.000Z"}],"paging":{"cursor":"next"}}`})
			got, err := srv.client().GetConnections(context.Background(), "amt-1", tt.opts)
			if err != nil {
				t.Fatalf("get connections: %v", err)
			}
			want := &smartcar.Connections{
				Connections: []smartcar.Connection{{VehicleID: "bcf1b859", UserID: "d2f64075", ConnectedAt: time.Date(2023, 8, 10, 15, 0, 0, 0, time.UTC)}},
				Paging:      smartcar.ConnectionsPaging{Cursor: "next"},
				Meta:        wantMeta,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("connections (-want +got):\n%s", diff)
			}
			req := srv.last(t)
			checkRequest(t, req, http.MethodGet, "/v2.0/management/connections", tt.wantQuery, "")
			checkHeaders(t, req.Header, map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("default:amt-1"))})
		})
	}
}

func TestDeleteConnections(t *testing.T) {
	tests := []struct {
		name      string
		filter    smartcar.ConnectionsFilter
		wantQuery url.Values
		wantErr   bool
	}{
		{name: "by user", filter: smartcar.ConnectionsFilter{UserID: "u1"}, wantQuery: url.Values{"user_id": {"u1"}}},
		{name: "by vehicle", filter: smartcar.ConnectionsFilter{VehicleID: "v1"}, wantQuery: url.Values{"vehicle_id": {"v1"}}},
		{name: "both", filter: smartcar.ConnectionsFilter{UserID: "u1", VehicleID: "v1"}, wantErr: true},
		{name: "neither", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serve(t, reply{header: metaHeaders, body: `{"connections":[{"vehicleId":"v1","userId":"u1"}]}`})
			clearEnv(t)
			t.Setenv(smartcar.EnvManagementOrigin, srv.URL)
			got, err := smartcar.DeleteConnections(context.Background(), "amt-1", tt.filter)
			if tt.wantErr {
				checkErr(t, err, smartcar.TypeValidation, "PARAMETER")
				if n := len(srv.requests()); n != 0 {
					t.Errorf("server received %d requests, want 0", n)
				}
				return
			}
			if err != nil {
				t.Fatalf("delete connections: %v", err)
			}
			want := &smartcar.DeletedConnections{Connections: []smartcar.Connection{{VehicleID: "v1", UserID: "u1"}}, Meta: wantMeta}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("deleted (-want +got):\n%s", diff)
			}
			checkRequest(t, srv.last(t), http.MethodDelete, "/v2.0/management/connections", tt.wantQuery, "")
		})
	}
}

func TestHashChallenge(t *testing.T) {
	tests := []struct{ amt, msg, want string }{
		{"amt", "challenge", "9baf5a7464bd86740ad5a06e439dcf535a075022ed2c92d74efacf646d79328e"},
		{"amt", `{"pizza":"pasta"}`, "4c05a8da471f05156ad717baa4017acd13a3a809850b9ca7d3301dcaaa854f70"},
	}
	for _, tt := range tests {
		if got := smartcar.HashChallenge(tt.amt, tt.msg); got != tt.want {
			t.Errorf("HashChallenge(%q, %q) = %s, want %s", tt.amt, tt.msg, got, tt.want)
		}
	}
}

func TestVerifyPayload(t *testing.T) {
	body := []byte(`{"pizza":"pasta"}`)
	sig := "4c05a8da471f05156ad717baa4017acd13a3a809850b9ca7d3301dcaaa854f70"
	tests := []struct {
		name, amt, sig string
		body           []byte
		want           bool
	}{
		{"valid", "amt", sig, body, true},
		{"uppercase hex", "amt", strings.ToUpper(sig), body, true},
		{"other key", "amt2", sig, body, false},
		{"other body", "amt", sig, []byte(`{"pizza": "pasta"}`), false},
		{"truncated signature", "amt", sig[:10], body, false},
		{"not hex", "amt", "zz" + sig[2:], body, false},
		{"empty", "amt", "", body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := smartcar.VerifyPayload(tt.amt, tt.sig, tt.body); got != tt.want {
				t.Errorf("VerifyPayload = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFlags_String(t *testing.T) {
	tests := []struct {
		flags smartcar.Flags
		want  string
	}{
		{nil, ""},
		{smartcar.Flags{"country": "DE", "color": "00819D"}, "color:00819D country:DE"},
		{smartcar.Flags{"b": true, "a": false, "n": 1.5}, "a:false b:true n:1.5"},
	}
	for _, tt := range tests {
		if got := tt.flags.String(); got != tt.want {
			t.Errorf("%v.String() = %q, want %q", map[string]any(tt.flags), got, tt.want)
		}
	}
}

func TestFlexString_UnmarshalJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    smartcar.FlexString
		wantErr bool
	}{
		{`"abc"`, "abc", false},
		{`12345`, "12345", false},
		{`1.5e3`, "1.5e3", false},
		{`null`, "", false},
		{`{"a":1}`, "", true},
		{`"bad`, "", true},
	}
	for _, tt := range tests {
		var got smartcar.FlexString
		err := got.UnmarshalJSON([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("UnmarshalJSON(%s) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestResolution_UnmarshalJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    smartcar.Resolution
		wantErr bool
	}{
		{`{"type":"RETRY_LATER","url":"https://x"}`, smartcar.Resolution{Type: "RETRY_LATER", URL: "https://x"}, false},
		{`{"type":null}`, smartcar.Resolution{}, false},
		{`"REAUTHENTICATE"`, smartcar.Resolution{Type: "REAUTHENTICATE"}, false},
		{`null`, smartcar.Resolution{}, false},
		{`"bad`, smartcar.Resolution{}, true},
		{`[1]`, smartcar.Resolution{}, true},
	}
	for _, tt := range tests {
		var got smartcar.Resolution
		err := got.UnmarshalJSON([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("UnmarshalJSON(%s) = %+v, %v; want %+v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
