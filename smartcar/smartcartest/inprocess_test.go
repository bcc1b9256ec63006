package smartcartest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// handlerTransport answers requests with a handler, in-process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// TestNew_InProcess: a simulator made by New serves the SDK through a
// RoundTripper, with no socket, and delivers webhooks through the client
// WithWebhookClient gives it; CheckWebhooks says how many deliveries it
// started.
func TestNew_InProcess(t *testing.T) {
	clock := newClock()
	var mu sync.Mutex
	var got [][]byte
	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
	})
	s := smartcartest.New(smartcartest.WithClock(clock.Now), smartcartest.WithWebhookCheckInterval(time.Hour),
		smartcartest.WithWebhookClient(&http.Client{Transport: handlerTransport{receiver}}))
	defer s.Close()
	if s.URL != "http://smartcar.invalid" {
		t.Errorf("URL %q", s.URL)
	}
	s.Connect(nil, nil)
	o := s.Origins()
	app, err := smartcar.NewAppClient(&smartcar.AppClientOptions{ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		IAMOrigin: o.IAM, APIOrigin: o.APIV3, ManagementOrigin: o.ManagementV3,
		HTTPClient: &http.Client{Transport: handlerTransport{s}}})
	if err != nil {
		t.Fatal(err)
	}
	id := s.VehicleIDs()[0]
	sig, err := app.Vehicle(id, s.Users()[0]).Signals(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if odo, ok := sig.Get("odometer-traveleddistance"); !ok || odo.Err != nil {
		t.Errorf("odometer: %+v", odo)
	}
	w := s.AddWebhook(smartcartest.Webhook{URL: "http://receiver.invalid/hook", Signals: []string{"charge-ischarging"}})
	if _, err := app.SubscribeVehicles(t.Context(), w.ID, id); err != nil {
		t.Fatal(err)
	}
	// The subscription kicks the watcher too: whoever looks first sends
	// the first delivery, and nothing is left to send after it.
	n := s.CheckWebhooks()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := s.WaitWebhookDelivery(ctx, func(d smartcartest.WebhookDelivery) bool { return d.OK }); err != nil {
		t.Fatal(err)
	}
	if n > 1 || s.CheckWebhooks() != 0 {
		t.Errorf("CheckWebhooks started %d deliveries, then more", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("receiver got %d deliveries, want 1", len(got))
	}
	ev, err := smartcar.ParseWebhook(got[0])
	if err != nil || ev.Vehicle.ID != id {
		t.Errorf("delivery %s: %v", got[0], err)
	}
}
