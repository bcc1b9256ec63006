package smartcartest_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

func TestServer_WithLatency(t *testing.T) {
	s := newServer(t, smartcartest.WithLatency(time.Minute))
	tok := s.Connect(nil, nil)
	client := &http.Client{Timeout: 100 * time.Millisecond}
	req, _ := http.NewRequest("GET", s.URL+"/v2.0/user", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("delayed API call answered at once: HTTP %d", resp.StatusCode)
	}
	// The admin API is not delayed.
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(s.URL + "/admin/stats")
	if err != nil {
		t.Fatalf("admin call: %v", err)
	}
	resp.Body.Close()
}

// syncBuffer is a bytes.Buffer safe for a logger and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestServer_LogsHoldNoSecrets(t *testing.T) {
	var logs syncBuffer
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithVehicleRateLimit(1, time.Minute),
		smartcartest.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	for range 3 { // the third is inside a Retry-After window: logged as a rule break
		get(t, s, tok.AccessToken, vehiclePath(v, "/odometer"))
	}
	var next tokenResponse
	refresh(t, s, tok.RefreshToken).decode(t, &next)
	clock.Advance(2 * time.Minute)
	refresh(t, s, tok.RefreshToken) // spent after its grace: logged
	get(t, s, "not-a-token", "/user")
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("pair", "tokens", tok)

	out := logs.String()
	for _, secret := range []string{tok.AccessToken, tok.RefreshToken, next.AccessToken, next.RefreshToken,
		s.ClientSecret, s.ManagementToken, "not-a-token"} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain a secret %q", secret)
		}
	}
	for _, want := range []string{"Retry-After window", "spent refresh token", `"route":"/odometer"`, "REDACTED"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(tok.String(), tok.AccessToken) {
		t.Error("Tokens.String shows the access token")
	}
}

func TestFault_JSON(t *testing.T) {
	f := smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 90 * time.Second,
		Latency: 1500 * time.Millisecond, Probability: 0.25, Times: 3}
	raw, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"RATE_LIMIT","code":"VEHICLE","retryAfter":"1m30s","latency":"1.5s","probability":0.25,"times":3}`
	if string(raw) != want {
		t.Errorf("JSON %s, want %s", raw, want)
	}
	var back smartcartest.Fault
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	var secs smartcartest.Fault
	if err := json.Unmarshal([]byte(`{"drop":true,"retryAfter":30}`), &secs); err != nil || secs.RetryAfter != 30*time.Second || !secs.Drop {
		t.Errorf("seconds form: %+v %v", secs, err)
	}
}

// TestServer_LogsUnknownRoute: a request the simulator has no route for is
// logged with its method and path, so a client pointed at the wrong URL (the
// Python SDK posting its token call to the origin's root) sees what it asked.
func TestServer_LogsUnknownRoute(t *testing.T) {
	var logs syncBuffer
	s := newServer(t, smartcartest.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	get(t, s, tok.AccessToken, vehiclePath(v, "/odometer")) // known: not logged at info
	tests := []struct{ method, path, outcome string }{
		{"POST", "/", "RESOURCE_NOT_FOUND:PATH"},
		{"GET", "/v9.9/user", "RESOURCE_NOT_FOUND:VERSION"},
		{"DELETE", "/v2.0/vehicles/" + v + "/odometer", "RESOURCE_NOT_FOUND:PATH"},
	}
	for _, tt := range tests {
		do(t, nil, tt.method, s.URL+tt.path, nil, "Authorization", "Bearer "+tok.AccessToken)
	}

	type line struct {
		Level, Msg, Method, Path, Outcome string
		Status                            int
	}
	var got []line
	for _, raw := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var l line
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("log line %q: %v", raw, err)
		}
		if l.Msg == "unknown route" {
			got = append(got, l)
		}
	}
	var want []line
	for _, tt := range tests {
		want = append(want, line{Level: "WARN", Msg: "unknown route", Method: tt.method, Path: tt.path, Outcome: tt.outcome, Status: 404})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("unknown-route log lines (-want +got):\n%s", diff)
	}
	if strings.Contains(logs.String(), tok.AccessToken) {
		t.Error("logs contain the access token")
	}
}
