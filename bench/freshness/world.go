package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// Clock is the virtual clock of a run: the simulator reads it (WithClock),
// the run moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// handlerTransport answers requests with a handler, in-process: no socket.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// WorldConfig is what a world is made of.
type WorldConfig struct {
	Vehicles int
	Seed     int64
	Start    time.Time
	Quota    int // billed calls per vehicle per month (the simulator's 430)
	// Webhooks, when set, subscribes every EV to a webhook that delivers
	// these signals, triggered by these triggers.
	WebhookSignals, WebhookTriggers []string
}

// World is one simulated fleet: the simulator on a virtual clock, served
// in-process to the real Go v3 client, with what it shows recorded.
type World struct {
	Clock *Clock
	Sim   *smartcartest.Server
	App   *smartcar.AppClient
	User  string
	IDs   []string
	Kinds map[string]smartcartest.Kind
	Seen  *Seen // what polls and webhooks showed, when
	// Initial are the first deliveries of the subscriptions, at the start.
	Initial []*smartcar.WebhookEvent
	hooks   chan *smartcar.WebhookEvent // deliveries, as they arrive
}

// Seen records, per vehicle, the times polls returned data and webhooks
// delivered signals, and the 430s. The transport and the webhook receiver
// fill it, whatever decides the polls.
type Seen struct {
	mu       sync.Mutex
	polls    map[string][]time.Time
	webhooks map[string][]time.Time
	quota    map[string]int
	calls    int
}

func newSeen() *Seen {
	return &Seen{polls: map[string][]time.Time{}, webhooks: map[string][]time.Time{}, quota: map[string]int{}}
}

// recording wraps the simulator's handler and records the polls.
type recording struct {
	sim   http.Handler
	clock *Clock
	seen  *Seen
}

func (r recording) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rec := &statusRecorder{ResponseWriter: w}
	r.sim.ServeHTTP(rec, req)
	rest, ok := strings.CutPrefix(req.URL.Path, "/v3/vehicles/")
	if !ok {
		return
	}
	id, sub, _ := strings.Cut(rest, "/")
	if sub != "signals" {
		return
	}
	now := r.clock.Now()
	r.seen.mu.Lock()
	defer r.seen.mu.Unlock()
	r.seen.calls++
	switch rec.status {
	case http.StatusOK:
		r.seen.polls[id] = append(r.seen.polls[id], now)
	case 430:
		r.seen.quota[id]++
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// NewWorld builds a world and connects its vehicles.
func NewWorld(ctx context.Context, cfg WorldConfig) (*World, error) {
	clock := &Clock{t: cfg.Start}
	w := &World{Clock: clock, Seen: newSeen(), hooks: make(chan *smartcar.WebhookEvent, 4096),
		Kinds: map[string]smartcartest.Kind{}}
	receiver := http.HandlerFunc(w.receive)
	w.Sim = smartcartest.New(
		smartcartest.WithSeed(cfg.Seed),
		smartcartest.WithVehicles(cfg.Vehicles),
		smartcartest.WithClock(clock.Now),
		smartcartest.WithMonthlyQuota(cfg.Quota),
		smartcartest.WithAppRateLimit(0, 0),
		smartcartest.WithVehicleRateLimit(0, 0),
		smartcartest.WithAppTokenLifetime(90*24*time.Hour),
		smartcartest.WithRecordLimit(1024),
		smartcartest.WithWebhookCheckInterval(24*time.Hour), // the run checks on its own clock
		smartcartest.WithWebhookClient(&http.Client{Transport: handlerTransport{receiver}}),
	)
	w.Sim.Connect(nil, nil)
	w.User = w.Sim.Users()[0]
	for _, v := range w.Sim.Vehicles() {
		w.IDs = append(w.IDs, v.ID)
		w.Kinds[v.ID] = v.Kind
	}
	o := w.Sim.Origins()
	app, err := smartcar.NewAppClient(&smartcar.AppClientOptions{
		ClientID: w.Sim.ClientID, ClientSecret: w.Sim.ClientSecret,
		IAMOrigin: o.IAM, APIOrigin: o.APIV3, ManagementOrigin: o.ManagementV3,
		HTTPClient: &http.Client{Transport: handlerTransport{recording{w.Sim, clock, w.Seen}}},
	})
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("app client: %w", err)
	}
	w.App = app
	if cfg.WebhookSignals != nil {
		if err := w.subscribe(ctx, cfg.WebhookSignals, cfg.WebhookTriggers); err != nil {
			w.Close()
			return nil, err
		}
	}
	return w, nil
}

// subscribe subscribes every EV to a webhook of signals and waits for the
// first deliveries.
func (w *World) subscribe(ctx context.Context, signals, triggers []string) error {
	hook := w.Sim.AddWebhook(smartcartest.Webhook{URL: "http://receiver.invalid/webhooks", Signals: signals,
		Triggers: triggers})
	var evs []string
	for _, id := range w.IDs {
		if w.Kinds[id] != smartcartest.ICE {
			evs = append(evs, id)
		}
	}
	for rest := evs; len(rest) > 0; {
		n := min(len(rest), 100)
		if _, err := w.App.SubscribeVehicles(ctx, hook.ID, rest[:n]...); err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		rest = rest[n:]
	}
	// Every subscription gets a first delivery; subscribing also kicked the
	// simulator's own watcher, so whoever looks first sends them.
	w.Sim.CheckWebhooks()
	for len(w.Initial) < len(evs) {
		select {
		case ev := <-w.hooks:
			w.Initial = append(w.Initial, ev)
		case <-ctx.Done():
			return fmt.Errorf("first webhook deliveries: %d of %d: %w", len(w.Initial), len(evs), ctx.Err())
		}
	}
	sortEvents(w.Initial)
	return nil
}

// receive is the webhook receiver: it parses a delivery and hands it on.
func (w *World) receive(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || !smartcar.VerifyPayload(w.Sim.ManagementToken, r.Header.Get("SC-Signature"), body) {
		http.Error(rw, "bad delivery", http.StatusUnauthorized)
		return
	}
	ev, err := smartcar.ParseWebhook(bytes.Clone(body))
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	w.hooks <- ev
}

// CheckWebhooks has the simulator look for webhook deliveries at the
// clock's time and returns the events delivered, by vehicle.
func (w *World) CheckWebhooks(ctx context.Context) ([]*smartcar.WebhookEvent, error) {
	n := w.Sim.CheckWebhooks()
	out := make([]*smartcar.WebhookEvent, 0, n)
	for range n {
		select {
		case ev := <-w.hooks:
			out = append(out, ev)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	sortEvents(out)
	now := w.Clock.Now()
	w.Seen.mu.Lock()
	for _, ev := range out {
		if ev.Type == smartcar.WebhookVehicleState {
			w.Seen.webhooks[ev.Vehicle.ID] = append(w.Seen.webhooks[ev.Vehicle.ID], now)
		}
	}
	w.Seen.mu.Unlock()
	return out, nil
}

// sortEvents orders deliveries by vehicle: they arrive in any order.
func sortEvents(evs []*smartcar.WebhookEvent) {
	slices.SortStableFunc(evs, func(a, b *smartcar.WebhookEvent) int { return strings.Compare(a.Vehicle.ID, b.Vehicle.ID) })
}

// Close stops the simulator.
func (w *World) Close() { w.Sim.Close() }
