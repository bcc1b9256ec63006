package smartcartest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// DefaultWebhookCheckInterval is how often (real time) the simulator looks
// for signal changes of subscribed vehicles and for retries that are due.
const DefaultWebhookCheckInterval = time.Second

// WithWebhookCheckInterval sets how often (real time) the simulator looks
// for changed signals of subscribed vehicles and for due retries (default
// 1s). Subscribing, commands and CheckWebhooks look at once.
func WithWebhookCheckInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.webhookCheck = d
		}
	}
}

// WithWebhookClient sets the HTTP client that delivers v4 webhook events
// (default: one with a 15 s timeout). A test that serves its receiver
// in-process passes a client whose Transport calls the receiver's handler.
func WithWebhookClient(c *http.Client) Option { return func(cfg *config) { cfg.webhookClient = c } }

// WebhookDelivery is the record of one delivery attempt of a v4 webhook
// event.
type WebhookDelivery struct {
	Time       time.Time `json:"time"` // server clock when the attempt started
	WebhookID  string    `json:"webhookId"`
	VehicleID  string    `json:"vehicleId"`
	EventType  string    `json:"eventType"` // VEHICLE_STATE or VEHICLE_ERROR
	EventID    string    `json:"eventId"`
	DeliveryID string    `json:"deliveryId"`
	// Triggers are FIRST_DELIVERY, SIGNAL_UPDATED:<code> (VEHICLE_STATE) or
	// ERROR:<type:code>, RESOLVED:<type:code> (VEHICLE_ERROR).
	Triggers []string `json:"triggers"`
	Attempt  int      `json:"attempt"` // 1, then 2 to 4 for the retries
	Status   int      `json:"status"`  // receiver's HTTP status; 0 when it did not answer
	Error    string   `json:"error,omitempty"`
	OK       bool     `json:"ok"`               // answered 2xx
	GaveUp   bool     `json:"gaveUp,omitempty"` // the last attempt failed: the event is dropped
	// Payload is the signed body that was sent.
	Payload json.RawMessage `json:"payload"`
}

// hookEngine delivers v4 webhook events: one goroutine watches subscribed
// vehicles for changes and starts due retries, each attempt runs in its own
// goroutine, and Close stops and waits for all of them.
type hookEngine struct {
	once   sync.Once
	kickC  chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	client *http.Client

	check sync.Mutex // one check at a time

	mu       sync.Mutex
	stopped  bool
	started  int // attempts started
	retries  []*outgoing
	records  []WebhookDelivery // the latest, at most the record limit
	dropped  int               // older records forgotten
	recorded chan struct{}     // closed and replaced at every record
}

// outgoing is an event on its way to a webhook.
type outgoing struct {
	webhookID, vehicleID, url string
	eventType, eventID        string
	deliveryID                string
	triggers                  []string
	body                      []byte
	signature                 string
	attempt                   int
	sentAt                    time.Time // clock time the current attempt started
	due                       time.Time // clock time of the next attempt
}

// start starts the watcher once; it never starts after stop.
func (h *hookEngine) start(s *Server) {
	h.once.Do(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.stopped {
			return
		}
		h.kickC = make(chan struct{}, 1)
		h.ctx, h.cancel = context.WithCancel(context.Background())
		h.client = s.cfg.webhookClient
		if h.client == nil {
			h.client = &http.Client{Timeout: 15 * time.Second}
		}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			s.watchWebhooks()
		}()
	})
}

// kick asks the watcher to look now.
func (h *hookEngine) kick() {
	h.mu.Lock()
	c := h.kickC
	h.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case c <- struct{}{}:
	default:
	}
}

// stop cancels deliveries in flight and waits for every goroutine.
func (h *hookEngine) stop() {
	h.mu.Lock()
	h.stopped = true
	cancel := h.cancel
	h.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	h.wg.Wait()
}

// watchWebhooks runs until the server closes.
func (s *Server) watchWebhooks() {
	h := &s.hooks
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.kickC:
		case <-timer.C:
		}
		s.CheckWebhooks()
		wait := s.cfg.webhookCheck
		h.mu.Lock()
		now := s.clock()
		for _, o := range h.retries {
			wait = min(wait, max(0, o.due.Sub(now)))
		}
		h.mu.Unlock()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// CheckWebhooks looks once, at the server clock's time, for what the
// webhooks must be told: a subscribed vehicle's first delivery, a changed
// trigger signal, a vehicle error or its resolution, and retries that are
// due. It starts those deliveries (they run in the background; see
// WaitWebhookDelivery) and returns how many it started. The simulator
// calls it every WithWebhookCheckInterval; tests that move a WithClock
// clock call it after moving it.
func (s *Server) CheckWebhooks() int {
	h := &s.hooks
	h.check.Lock()
	defer h.check.Unlock()
	now := s.clock()

	h.mu.Lock()
	if h.stopped || h.ctx == nil {
		h.mu.Unlock()
		return 0
	}
	started := h.started
	var due []*outgoing
	kept := h.retries[:0]
	for _, o := range h.retries {
		if !now.Before(o.due) {
			due = append(due, o)
		} else {
			kept = append(kept, o)
		}
	}
	h.retries = kept
	h.mu.Unlock()
	for _, o := range due {
		s.send(o)
	}

	type target struct {
		sub *subscription
		w   Webhook
		v   *vehicle
	}
	var targets []target
	s.mu.RLock()
	for _, vid := range sortedKeys(s.webhooks) {
		for _, wid := range sortedKeys(s.webhooks[vid]) {
			if w := s.v3.hooks[wid]; w != nil && w.URL != "" && s.vehicles[vid] != nil {
				targets = append(targets, target{s.webhooks[vid][wid], *w, s.vehicles[vid]})
			}
		}
	}
	s.mu.RUnlock()
	for _, tg := range targets {
		s.checkSubscription(tg.sub, &tg.w, tg.v, now)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.started - started
}

// checkSubscription sends what one subscription is owed.
func (s *Server) checkSubscription(sub *subscription, w *Webhook, v *vehicle, now time.Time) {
	h := &s.hooks
	f, faulty := s.faults.peek(v.ID)
	h.mu.Lock()
	defer h.mu.Unlock()
	if faulty {
		e := faultError(f)
		if sub.lastErr == nil || sub.lastErr.outcome() != e.outcome() {
			sub.lastErr = e
			s.queueEvent(sub, w, v, now, EventVehicleError, []string{"ERROR:" + e.outcome()},
				map[string]any{"vehicle": vehicleInfo(v), "user": map[string]string{"id": sub.userID},
					"errors": []any{webhookErrorEntry(e, "ERROR", w.Signals)}}, nil)
		}
		return // an unreachable vehicle reports no state
	}
	if sub.lastErr != nil {
		e := sub.lastErr
		sub.lastErr = nil
		s.queueEvent(sub, w, v, now, EventVehicleError, []string{"RESOLVED:" + e.outcome()},
			map[string]any{"vehicle": vehicleInfo(v), "user": map[string]string{"id": sub.userID},
				"errors": []any{webhookErrorEntry(e, "RESOLVED", w.Signals)}}, nil)
	}
	// The trigger signals first: most looks find nothing changed.
	current := map[string]string{}
	for _, sg := range s.buildSignals(v, now, defsOf(w.Triggers), nil) {
		current[sg.def.code] = sg.bodyJSON()
	}
	var triggers []map[string]any
	var names []string
	if !sub.delivered {
		triggers = []map[string]any{{"type": "FIRST_DELIVERY"}}
		names = []string{"FIRST_DELIVERY"}
	} else {
		for _, code := range w.Triggers {
			if cur, ok := current[code]; ok && cur != sub.last[code] {
				triggers = append(triggers, map[string]any{"type": "SIGNAL_UPDATED",
					"signal": map[string]string{"code": code}})
				names = append(names, "SIGNAL_UPDATED:"+code)
			}
		}
	}
	if len(triggers) == 0 {
		return
	}
	sigs := s.buildSignals(v, now, defsOf(w.Signals), nil)
	delivered := make([]webhookSignal, len(sigs))
	for i := range sigs {
		delivered[i] = sigs[i].webhook()
	}
	sub.delivered, sub.last = true, current
	s.queueEvent(sub, w, v, now, EventVehicleState, names,
		map[string]any{"vehicle": vehicleInfo(v), "signals": delivered, "user": map[string]string{"id": sub.userID}},
		triggers)
}

func vehicleInfo(v *vehicle) map[string]any {
	return map[string]any{"id": v.ID, "make": v.Make, "model": v.Model, "year": v.Year, "vin": v.VIN}
}

// webhookErrorEntry is one member of a VEHICLE_ERROR event's errors.
func webhookErrorEntry(e *apiError, state string, codes []string) map[string]any {
	var code any
	if e.Code != "" {
		code = e.Code
	}
	var resolution any
	if e.Resolution != "" {
		resolution = e.Resolution
	}
	signals := make([]map[string]string, len(codes))
	for i, c := range codes {
		signals[i] = map[string]string{"code": c}
	}
	return map[string]any{"type": e.Type, "code": code, "state": state, "description": e.Description,
		"docURL": docURL(e.Type, e.Code), "resolution": map[string]any{"type": resolution}, "signals": signals}
}

// queueEvent builds, signs and sends an event; the caller holds hooks.mu.
func (s *Server) queueEvent(sub *subscription, w *Webhook, v *vehicle, now time.Time, eventType string,
	names []string, data map[string]any, triggers []map[string]any) {
	meta := webhookMeta{Version: "4.0", DeliveryID: s.ids.uuid(), DeliveredAt: now.UnixMilli(), WebhookID: w.ID,
		WebhookName: w.Name, Mode: w.Mode}
	if sigs, ok := data["signals"].([]webhookSignal); ok {
		meta.SignalCount = len(sigs)
	}
	payload := map[string]any{"eventId": s.ids.uuid(), "eventType": eventType, "data": data, "meta": meta}
	if triggers != nil {
		payload["triggers"] = triggers
	}
	body, err := json.Marshal(payload)
	if err != nil {
		s.log.Error("encode webhook payload", "err", err)
		return
	}
	o := &outgoing{webhookID: w.ID, vehicleID: v.ID, url: w.URL, eventType: eventType,
		eventID: payload["eventId"].(string), deliveryID: meta.DeliveryID, triggers: names, body: body,
		signature: sign(s.ManagementToken, body)}
	s.sendLocked(o)
}

// send starts an attempt.
func (s *Server) send(o *outgoing) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.sendLocked(o)
}

// sendLocked starts an attempt in a goroutine the engine owns; the caller
// holds hooks.mu.
func (s *Server) sendLocked(o *outgoing) {
	h := &s.hooks
	if h.stopped {
		return
	}
	o.attempt++
	h.started++
	o.sentAt = s.clock()
	s.stats.webhookDeliveries.Add(1) // counted as it starts: the receiver may look before it ends
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		s.attempt(o)
	}()
}

// attempt POSTs the event once and records it; a failure schedules the
// next retry (25 s, 50 s, 100 s of simulated time), the last one gives up.
func (s *Server) attempt(o *outgoing) {
	h := &s.hooks
	rec := WebhookDelivery{Time: o.sentAt, WebhookID: o.webhookID, VehicleID: o.vehicleID, EventType: o.eventType,
		EventID: o.eventID, DeliveryID: o.deliveryID, Triggers: o.triggers, Attempt: o.attempt,
		Payload: o.body}
	status, err := s.post(h.ctx, h.client, o)
	rec.Status = status
	rec.OK = err == nil
	if err != nil {
		rec.Error = err.Error()
	}
	if h.ctx.Err() != nil {
		return // closing: the attempt did not really happen
	}
	now := s.clock()
	h.mu.Lock()
	if !rec.OK {
		s.stats.webhookFailures.Add(1)
		if n := o.attempt - 1; n < len(s.cfg.webhookBackoff) {
			o.due = now.Add(time.Duration(float64(s.cfg.webhookBackoff[n]) / s.cfg.timeScale))
			h.retries = append(h.retries, o)
		} else {
			rec.GaveUp = true
		}
	}
	if len(h.records) >= s.cfg.recordLimit {
		n := (len(h.records) + 1) / 2
		h.records = slices.Clone(h.records[n:])
		h.dropped += n
	}
	h.records = append(h.records, rec)
	if h.recorded != nil {
		close(h.recorded)
	}
	h.recorded = make(chan struct{})
	kick := h.kickC
	h.mu.Unlock()
	if !rec.OK && kick != nil {
		select { // let the watcher time the retry
		case kick <- struct{}{}:
		default:
		}
	}
	if !rec.OK {
		s.log.Warn("webhook delivery failed", "webhook_id", rec.WebhookID, "vehicle_id", rec.VehicleID,
			"event_type", rec.EventType, "attempt", rec.Attempt, "err", err)
	}
}

// post sends one signed body and reports the receiver's status.
func (s *Server) post(ctx context.Context, client *http.Client, o *outgoing) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.url, bytes.NewReader(o.body))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Smartcar-Webhooks (smartcartest)")
	req.Header.Set("SC-Signature", o.signature)
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("receiver answered HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// WebhookDeliveries returns the delivery attempts so far, oldest first (at
// most the record limit, see WithRecordLimit).
func (s *Server) WebhookDeliveries() []WebhookDelivery {
	h := &s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.records)
}

// WaitWebhookDelivery waits until a delivery attempt for which match
// reports true has been recorded (one recorded earlier counts too) and
// returns it, or returns ctx's error.
func (s *Server) WaitWebhookDelivery(ctx context.Context, match func(WebhookDelivery) bool) (WebhookDelivery, error) {
	h := &s.hooks
	seen := 0 // records looked at, counting forgotten ones
	for {
		h.mu.Lock()
		seen = max(seen, h.dropped)
		recs := h.records[seen-h.dropped:] // records are only appended to
		seen += len(recs)
		if h.recorded == nil {
			h.recorded = make(chan struct{})
		}
		wait := h.recorded
		h.mu.Unlock()
		for _, d := range recs {
			if match(d) {
				return d, nil
			}
		}
		select {
		case <-ctx.Done():
			return WebhookDelivery{}, fmt.Errorf("wait for webhook delivery: %w", ctx.Err())
		case <-wait:
		}
	}
}
