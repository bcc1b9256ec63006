package smartcartest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

type delivery struct {
	signature string
	body      []byte
}

// receiver records deliveries and answers with status.
type receiver struct {
	mu     sync.Mutex
	got    []delivery
	status int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, delivery{r.Header.Get("SC-Signature"), body})
	status := rc.status
	rc.mu.Unlock()
	w.WriteHeader(status)
}

func (rc *receiver) last(t *testing.T) (delivery, map[string]any) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) == 0 {
		t.Fatal("nothing delivered")
	}
	d := rc.got[len(rc.got)-1]
	var payload map[string]any
	if err := json.Unmarshal(d.body, &payload); err != nil {
		t.Fatal(err)
	}
	return d, payload
}

func hmacHex(key string, msg []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// dig walks nested JSON objects and arrays.
func dig(v any, keys ...any) any {
	for _, k := range keys {
		switch k := k.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			a, _ := v.([]any)
			if k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func TestServer_SendWebhook(t *testing.T) {
	s := newServer(t)
	rc := &receiver{status: 200}
	hook := httptest.NewServer(rc)
	defer hook.Close()
	bev := firstOfKind(t, s, smartcartest.BEV)
	ctx := context.Background()

	if err := s.SendWebhook(ctx, hook.URL, smartcartest.EventVehicleState, bev.ID); err != nil {
		t.Fatal(err)
	}
	d, p := rc.last(t)
	if want := hmacHex(s.ManagementToken, d.body); d.signature != want {
		t.Errorf("SC-Signature %s, want HMAC-SHA256(AMT, body) %s", d.signature, want)
	}
	if p["eventType"] != "VEHICLE_STATE" || p["eventId"] == "" || dig(p, "meta", "version") != "4.0" {
		t.Errorf("payload %s", d.body)
	}
	if dig(p, "data", "vehicle", "id") != bev.ID || dig(p, "data", "vehicle", "vin") != bev.VIN || dig(p, "data", "user", "id") != bev.UserID {
		t.Errorf("vehicle/user in payload: %s", d.body)
	}
	if dig(p, "triggers", 0, "type") != "FIRST_DELIVERY" {
		t.Errorf("first delivery trigger %v", dig(p, "triggers"))
	}
	codes := map[string]bool{}
	for _, sig := range dig(p, "data", "signals").([]any) {
		codes[dig(sig, "code").(string)] = true
	}
	if !codes["odometer-traveleddistance"] || !codes["tractionbattery-stateofcharge"] || !codes["location-preciselocation"] {
		t.Errorf("signals %v", codes)
	}
	st, _ := s.VehicleState(bev.ID)
	if got := dig(p, "data", "signals", 0, "body", "value").(float64); got < st.OdometerKm-0.01 || got > st.OdometerKm+0.01 {
		t.Errorf("odometer signal %v, state %v", got, st.OdometerKm)
	}

	s.SendWebhook(ctx, hook.URL, smartcartest.EventVehicleState, bev.ID)
	if _, p := rc.last(t); dig(p, "triggers", 0, "type") != "SIGNAL_UPDATED" {
		t.Errorf("second delivery trigger %v", dig(p, "triggers"))
	}

	// VEHICLE_ERROR reports the fault, then its resolution.
	var states []string
	s.SetAsleep(bev.ID, true)
	s.SendWebhook(ctx, hook.URL, smartcartest.EventVehicleError, bev.ID)
	_, p = rc.last(t)
	states = append(states, dig(p, "data", "errors", 0, "type").(string)+":"+dig(p, "data", "errors", 0, "code").(string)+" "+dig(p, "data", "errors", 0, "state").(string))
	s.SetAsleep(bev.ID, false)
	s.SendWebhook(ctx, hook.URL, smartcartest.EventVehicleError, bev.ID)
	_, p = rc.last(t)
	states = append(states, dig(p, "data", "errors", 0, "type").(string)+":"+dig(p, "data", "errors", 0, "code").(string)+" "+dig(p, "data", "errors", 0, "state").(string))
	if diff := cmp.Diff([]string{"VEHICLE_STATE:ASLEEP ERROR", "VEHICLE_STATE:ASLEEP RESOLVED"}, states); diff != "" {
		t.Errorf("error events (-want +got):\n%s", diff)
	}

	rc.mu.Lock()
	rc.status = 500
	rc.mu.Unlock()
	if err := s.SendWebhook(ctx, hook.URL, smartcartest.EventVehicleState, bev.ID); err == nil {
		t.Error("delivery to a failing receiver reported no error")
	}
	if err := s.SendWebhook(ctx, hook.URL, "VEHICLE_PARTY", bev.ID); err == nil {
		t.Error("unknown event type reported no error")
	}
	if err := s.SendWebhook(ctx, hook.URL, smartcartest.EventVehicleState, "nope"); err == nil {
		t.Error("unknown vehicle reported no error")
	}
}

func TestServer_VerifyWebhook(t *testing.T) {
	s := newServer(t)
	answer := func(key string, contentType string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var p struct {
				EventType string
				Data      struct{ Challenge string }
			}
			if err := json.NewDecoder(r.Body).Decode(&p); err != nil || p.EventType != "VERIFY" {
				w.WriteHeader(400)
				return
			}
			w.Header().Set("Content-Type", contentType)
			json.NewEncoder(w).Encode(map[string]string{"challenge": hmacHex(key, []byte(p.Data.Challenge))})
		}
	}
	tests := []struct {
		name    string
		handler http.Handler
		wantErr bool
	}{
		{"correct", answer(s.ManagementToken, "application/json"), false},
		{"wrong key", answer("not-the-amt", "application/json"), true},
		{"wrong content type", answer(s.ManagementToken, "text/plain"), true},
		{"refuses", http.NotFoundHandler(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hook := httptest.NewServer(tt.handler)
			defer hook.Close()
			if err := s.VerifyWebhook(context.Background(), hook.URL); (err != nil) != tt.wantErr {
				t.Errorf("VerifyWebhook() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

func TestServer_WebhookSubscription(t *testing.T) {
	s := newServer(t)
	tok := s.Connect(nil, nil)
	v := s.VehicleIDs()[0]
	r := api(t, s, "POST", tok.AccessToken, vehiclePath(v, "/webhooks/wh-1"), nil)
	var sub struct{ WebhookID, VehicleID string }
	r.decode(t, &sub)
	if r.status != 200 || sub.WebhookID != "wh-1" || sub.VehicleID != v {
		t.Fatalf("subscribe: HTTP %d %s", r.status, r.body)
	}
	if diff := cmp.Diff([]string{"wh-1"}, s.Subscriptions(v)); diff != "" {
		t.Errorf("subscriptions (-want +got):\n%s", diff)
	}
	if r := api(t, s, "DELETE", tok.AccessToken, vehiclePath(v, "/webhooks/wh-1"), nil); r.status != 401 {
		t.Errorf("unsubscribe with a user token: HTTP %d, want 401", r.status)
	}
	if r := api(t, s, "DELETE", s.ManagementToken, vehiclePath(v, "/webhooks/wh-1"), nil); r.status != 200 {
		t.Errorf("unsubscribe with the AMT: HTTP %d", r.status)
	}
	if got := s.Subscriptions(v); len(got) != 0 {
		t.Errorf("subscriptions after unsubscribe: %v", got)
	}
}
