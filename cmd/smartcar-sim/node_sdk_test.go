package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// nodeSDKDir holds the official Smartcar Node SDK at a pinned version
// (package-lock.json, without registry URLs); CI installs it with npm ci.
var nodeSDKDir = filepath.Join("testdata", "node-sdk")

// TestNodeSDK runs the official Smartcar Node SDK (npm smartcar 10.4,
// unchanged) against the command: a refresh, v2.0 calls and batch, and the
// v3 getVehicle, getSignals and getSignal in the SDK's user-token mode
// (the user's access token, no sc-user-id). It needs node and `npm ci` in
// testdata/node-sdk; without them it skips, or fails under
// REQUIRE_SERVICES.
func TestNodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testserver.Unavailable(t, "node is not installed")
	}
	if _, err := os.Stat(filepath.Join(nodeSDKDir, "node_modules", "smartcar", "package.json")); err != nil {
		testserver.Unavailable(t, "the Node SDK is not installed: run npm ci in cmd/smartcar-sim/%s", nodeSDKDir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	origin := startCommand(t, ctx, "-addr", "127.0.0.1:0", "-vehicles", "3", "-no-limits", "-seed", "5")

	var cfg smartcartest.AdminConfig
	adminJSON(t, "GET", origin+"/admin/config", nil, &cfg)
	var tok smartcartest.Tokens
	adminJSON(t, "POST", origin+"/admin/connect", map[string]any{}, &tok)
	var vehicles []smartcartest.Vehicle
	adminJSON(t, "GET", origin+"/admin/vehicles", nil, &vehicles)
	v := vehicles[0]

	cmd := exec.CommandContext(ctx, node, "sdk.js")
	cmd.Dir = nodeSDKDir
	cmd.Env = append(os.Environ(),
		"SMARTCAR_CLIENT_ID="+cfg.ClientID,
		"SMARTCAR_CLIENT_SECRET="+cfg.ClientSecret,
		"SMARTCAR_REDIRECT_URI="+cfg.RedirectURI,
		"SMARTCAR_AUTH_ORIGIN="+cfg.Origins.Auth,
		"SMARTCAR_API_ORIGIN="+cfg.Origins.API,
		"SMARTCAR_API_V3_ORIGIN="+cfg.Origins.APIV3,
		"SMARTCAR_REFRESH_TOKEN="+tok.RefreshToken,
		"SMARTCAR_VEHICLE_ID="+v.ID,
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("node sdk.js: %v\n%s", err, stderr.String())
	}
	type signal struct {
		ID         string
		Attributes struct {
			Code   string
			Status struct{ Value string }
			Body   json.RawMessage
		}
		Meta struct{ RetrievedAt, OEMUpdatedAt int64 }
	}
	var out struct {
		Refreshed  bool
		Vehicles   []string
		V2Odometer struct {
			Distance  float64
			RequestID string
		}
		V2Batch   struct{ Odometer, Latitude float64 }
		V3Vehicle struct {
			Data struct {
				ID         string
				Type       string
				Attributes struct {
					Make, Model string
					Year        int
				}
			}
		}
		V3Signals struct {
			Data     []signal
			Links    struct{ Next *string }
			Included struct{ Vehicle struct{ ID string } }
		}
		V3SignalsRequestID string
		V3Signal           struct{ Data signal }
		V3Unknown          struct {
			Error struct {
				StatusCode int
				Type, Code string
				RequestID  string
			}
		}
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	if !out.Refreshed || len(out.Vehicles) != 3 || out.V2Odometer.Distance <= 0 || out.V2Odometer.RequestID == "" ||
		out.V2Batch.Odometer < out.V2Odometer.Distance || out.V2Batch.Latitude == 0 {
		t.Errorf("v2.0 through the SDK: %s", raw)
	}
	if d := out.V3Vehicle.Data; d.ID != v.ID || d.Type != "vehicle" || d.Attributes.Make != v.Make || d.Attributes.Year != v.Year {
		t.Errorf("getVehicle: %+v, want %+v", d, v)
	}
	// The SDK replaces a body's meta with the response headers, so the
	// page's meta never reaches its caller; links do.
	sg := out.V3Signals
	if len(sg.Data) != 10 || sg.Links.Next == nil || sg.Included.Vehicle.ID != v.ID || out.V3SignalsRequestID == "" {
		t.Errorf("getSignals: %d signals, next %v, included %+v", len(sg.Data), sg.Links.Next, sg.Included)
	}
	for _, s := range sg.Data {
		if s.ID != s.Attributes.Code || s.Attributes.Status.Value == "" || s.Meta.RetrievedAt == 0 {
			t.Errorf("getSignals: signal %+v", s)
		}
	}
	one := out.V3Signal.Data
	var odo struct {
		Unit  string
		Value float64
	}
	if err := json.Unmarshal(one.Attributes.Body, &odo); err != nil || one.ID != "odometer-traveleddistance" ||
		odo.Unit != "kilometers" || odo.Value < out.V2Odometer.Distance || one.Meta.OEMUpdatedAt == 0 {
		t.Errorf("getSignal: %+v %s (v2 odometer %v)", one, one.Attributes.Body, out.V2Odometer.Distance)
	}
	if e := out.V3Unknown.Error; e.StatusCode != 404 || e.Type != "RESOURCE_NOT_FOUND" || e.Code != "PATH" || e.RequestID == "" {
		t.Errorf("getSignal of an unknown code: %+v, want a 404 RESOURCE_NOT_FOUND:PATH SmartcarError", e)
	}

	// The simulator saw user-token-mode v3 calls for the user, none without one.
	var st smartcartest.Stats
	adminJSON(t, "GET", origin+"/admin/stats", nil, &st)
	if st.V3Requests != 4 || st.MissingUserID != 0 || st.V3TokenErrors != 0 {
		t.Errorf("stats: %d v3 requests, %d without user, %d token errors; want 4, 0, 0", st.V3Requests,
			st.MissingUserID, st.V3TokenErrors)
	}
	var reqs []smartcartest.Request
	adminJSON(t, "GET", origin+"/admin/requests?vehicleId="+v.ID, nil, &reqs)
	for _, rq := range reqs {
		if strings.HasPrefix(rq.Route, "/v3") && rq.UserID != tok.UserID {
			t.Errorf("%s recorded for user %q, want %q", rq.Route, rq.UserID, tok.UserID)
		}
	}
}

var originPattern = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+`)

// startCommand runs the command with args until the test ends and returns
// the origin it serves, read from its settings.
func startCommand(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	out, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, w, io.Discard)
		w.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run() = %v", err)
		}
	})
	var origin string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if origin == "" {
			origin = originPattern.FindString(sc.Text())
		}
		if sc.Text() == "# ready" {
			break
		}
	}
	go io.Copy(io.Discard, out)
	if origin == "" {
		t.Fatal("the command printed no origin")
	}
	return origin
}

// adminJSON calls the admin API and decodes its answer.
func adminJSON(t *testing.T, method, url string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: HTTP %d %s", method, url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
}
