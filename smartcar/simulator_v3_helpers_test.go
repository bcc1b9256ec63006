package smartcar_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// simClock is the simulator's clock, moved by the test; the AppClient reads
// it too, so both sides agree on when an application token expires.
type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *simClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// setSimEnv configures the SDK through the SMARTCAR_* variables, v2 and v3,
// the way users configure it.
func setSimEnv(t *testing.T, sim *smartcartest.Server) {
	t.Helper()
	o := sim.Origins()
	for k, v := range map[string]string{
		"SMARTCAR_CLIENT_ID": sim.ClientID, "SMARTCAR_CLIENT_SECRET": sim.ClientSecret,
		"SMARTCAR_REDIRECT_URI": sim.RedirectURI, "SMARTCAR_API_ORIGIN": o.API,
		"SMARTCAR_AUTH_ORIGIN": o.Auth, "SMARTCAR_CONNECT_ORIGIN": o.Connect,
		"SMARTCAR_MANAGEMENT_API_ORIGIN": o.Management, "SMARTCAR_IAM_ORIGIN": o.IAM,
		"SMARTCAR_API_V3_ORIGIN": o.APIV3, "SMARTCAR_MANAGEMENT_API_V3_ORIGIN": o.ManagementV3,
	} {
		t.Setenv(k, v)
	}
	t.Setenv("SMARTCAR_VEHICLE_API_V3_ORIGIN", "")
}

// connectUser runs Connect in mode for the simulator's user (the simulator
// approves every vehicle of that user) and returns the user id the redirect
// carries and the exchanged tokens.
func connectUser(t *testing.T, sim *smartcartest.Server, user, mode string) (string, *smartcar.Access) {
	t.Helper()
	sim.SetConnect(smartcartest.ConnectConfig{UserID: user})
	defer sim.SetConnect(smartcartest.ConnectConfig{})
	auth, err := smartcar.NewAuthClient(smartcar.WithMode(mode))
	if err != nil {
		t.Fatal(err)
	}
	authURL := auth.AuthURL([]string{"read_vehicle_info", "read_vin", "read_odometer", "read_location", "read_battery",
		"read_charge", "control_charge", "read_fuel", "read_tires", "read_engine_oil", "read_security",
		"control_security", "control_navigation"}, &smartcar.AuthURLOptions{State: "st-" + mode})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("Connect answered %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	access, err := auth.ExchangeCode(t.Context(), loc.Query().Get("code"))
	if err != nil {
		t.Fatalf("ExchangeCode: %v", err)
	}
	return loc.Query().Get("user_id"), access
}

// holdTokens is a transport that holds every application-token request
// until release is closed, so that a test can have other callers queue up
// behind the one request in flight.
type holdTokens struct {
	release chan struct{}
}

func (h *holdTokens) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/oauth2/token" {
		select {
		case <-h.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// hookReceiver is a webhook endpoint: it verifies SC-Signature with the
// management token, parses the body with smartcar.ParseWebhook and keeps
// every event by delivery id. A body that fails either is answered 401 or
// 400 and kept in rejected.
type hookReceiver struct {
	*httptest.Server
	amt string

	mu       sync.Mutex
	events   map[string]*smartcar.WebhookEvent // by meta.deliveryId
	attempts map[string]int                    // deliveries seen per eventId
	rejected []string
	failNext int                    // answer the next n deliveries 503
	verify   *smartcar.WebhookEvent // the last VERIFY
}

func newHookReceiver(t *testing.T, amt string) *hookReceiver {
	h := &hookReceiver{amt: amt, events: map[string]*smartcar.WebhookEvent{}, attempts: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err != nil:
		w.WriteHeader(http.StatusBadRequest)
		return
	case !smartcar.VerifyPayload(h.amt, r.Header.Get("SC-Signature"), body):
		h.rejected = append(h.rejected, "signature: "+string(body))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	ev, err := smartcar.ParseWebhook(body)
	if err != nil {
		h.rejected = append(h.rejected, err.Error())
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if ev.Type == smartcar.WebhookVerify {
		h.verify = ev
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"challenge": smartcar.HashChallenge(h.amt, ev.Challenge)})
		return
	}
	h.attempts[ev.EventID]++
	if h.failNext > 0 {
		h.failNext--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	h.events[ev.Meta.DeliveryID] = ev
	w.WriteHeader(http.StatusOK)
}

// failDeliveries makes the next n deliveries fail with 503.
func (h *hookReceiver) failDeliveries(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failNext = n
}

// event returns the parsed event of a delivery the simulator recorded as
// answered 2xx.
func (h *hookReceiver) event(t *testing.T, d smartcartest.WebhookDelivery) *smartcar.WebhookEvent {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	ev := h.events[d.DeliveryID]
	if ev == nil {
		t.Fatalf("delivery %s (%s %v) answered 2xx but the receiver has no event; rejected: %v",
			d.DeliveryID, d.EventType, d.Triggers, h.rejected)
	}
	return ev
}

func (h *hookReceiver) verified() *smartcar.WebhookEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.verify
}

func (h *hookReceiver) attemptsOf(eventID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.attempts[eventID]
}

func (h *hookReceiver) rejections() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.rejected...)
}

// waitDelivery waits for the simulator to record a delivery attempt that
// match accepts.
func waitDelivery(t *testing.T, sim *smartcartest.Server, match func(smartcartest.WebhookDelivery) bool) smartcartest.WebhookDelivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	d, err := sim.WaitWebhookDelivery(ctx, match)
	if err != nil {
		t.Fatalf("%v; deliveries so far: %+v", err, sim.WebhookDeliveries())
	}
	return d
}

// asError returns err as a *smartcar.Error or fails the test.
func asError(t *testing.T, err error) *smartcar.Error {
	t.Helper()
	e, ok := smartcar.AsError(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *smartcar.Error", err, err)
	}
	return e
}

// requestsSince returns the simulator's records after the first n.
func requestsSince(sim *smartcartest.Server, n int) []smartcartest.Request {
	return sim.Requests()[n:]
}

// routes counts records by method and route.
func routes(recs []smartcartest.Request) map[string]int {
	out := map[string]int{}
	for _, r := range recs {
		out[r.Method+" "+r.Route]++
	}
	return out
}
