package smartcartest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// handleWebhookSubscription is POST (user token) and DELETE (Bearer AMT)
// /vehicles/{id}/webhooks/{webhookId}.
func (s *Server) handleWebhookSubscription(c *call, vehicleID, webhookID string) {
	if webhookID == "" || bytes.ContainsRune([]byte(webhookID), '/') {
		c.rec.Route = "unknown"
		c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
		return
	}
	switch c.r.Method {
	case http.MethodPost:
		g, ok := s.userCall(c)
		if !ok {
			return
		}
		if _, err := s.grantVehicle(g, vehicleID); err != nil {
			c.fail(err)
			return
		}
		if s.fault(c, vehicleID) {
			return
		}
		s.mu.Lock()
		s.subscribe(webhookID, vehicleID, g.userID, c.now)
		s.mu.Unlock()
		s.hooks.kick()
		c.value(map[string]string{"webhookId": webhookID, "vehicleId": vehicleID})
	case http.MethodDelete:
		if subtle.ConstantTimeCompare([]byte(bearer(c.r)), []byte(s.ManagementToken)) != 1 {
			c.fail(newError("AUTHENTICATION", ""))
			return
		}
		if s.fault(c, vehicleID) {
			return
		}
		s.mu.Lock()
		s.unsubscribe(webhookID, vehicleID)
		s.mu.Unlock()
		c.json(http.StatusOK, []byte(`{"status":"success"}`))
	default:
		c.rec.Route = "unknown"
		c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
	}
}

// Subscriptions returns the webhook ids vehicleID is subscribed to.
func (s *Server) Subscriptions(vehicleID string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedKeys(s.webhooks[vehicleID])
}

// sign is Smartcar's webhook signature: lowercase hex HMAC-SHA256 keyed by the AMT.
func sign(key string, msg []byte) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

type webhookMeta struct {
	Version     string `json:"version"`
	DeliveryID  string `json:"deliveryId"`
	DeliveredAt any    `json:"deliveredAt"`
	WebhookID   string `json:"webhookId"`
	WebhookName string `json:"webhookName"`
	SignalCount int    `json:"signalCount,omitempty"`
	Mode        string `json:"mode,omitempty"`
}

// Webhook event types SendWebhook delivers.
const (
	EventVehicleState = "VEHICLE_STATE"
	EventVehicleError = "VEHICLE_ERROR"
)

// SendWebhook delivers one signed v4 event about vehicleID to url and
// returns an error unless the receiver answers 2xx. VEHICLE_STATE carries
// the vehicle's current signals (trigger FIRST_DELIVERY the first time,
// SIGNAL_UPDATED after). VEHICLE_ERROR carries the error of the fault set
// on the vehicle (default VEHICLE_STATE:UNREACHABLE) with state ERROR, or,
// once that fault is cleared, the last reported error with state RESOLVED.
func (s *Server) SendWebhook(ctx context.Context, url, eventType, vehicleID string) error {
	v := s.vehicle(vehicleID)
	if v == nil {
		return fmt.Errorf("send webhook: unknown vehicle %q", vehicleID)
	}
	now := s.clock()
	s.mu.Lock()
	webhookID := "smartcartest-webhook"
	if ids := sortedKeys(s.webhooks[vehicleID]); len(ids) > 0 {
		webhookID = ids[0]
	}
	s.mu.Unlock()
	meta := webhookMeta{Version: "4.0", DeliveryID: s.ids.uuid(), DeliveredAt: now.UnixMilli(),
		WebhookID: webhookID, WebhookName: "smartcartest", Mode: "LIVE"}
	vehicleInfo := map[string]any{"id": v.ID, "make": v.Make, "model": v.Model, "year": v.Year, "vin": v.VIN}
	var payload map[string]any
	switch eventType {
	case EventVehicleState:
		var codes []string // what the powertrain has
		for _, d := range defsOf(sendWebhookSignals) {
			if v.capable(d.kinds) {
				codes = append(codes, d.code)
			}
		}
		signals := s.webhookSignals(v, now, codes)
		meta.SignalCount = len(signals)
		trigger := map[string]any{"type": "SIGNAL_UPDATED", "signal": map[string]string{"code": sendWebhookSignals[0]}}
		v.lim.mu.Lock()
		if !v.lim.delivered {
			v.lim.delivered = true
			trigger = map[string]any{"type": "FIRST_DELIVERY"}
		}
		v.lim.mu.Unlock()
		payload = map[string]any{
			"data":     map[string]any{"vehicle": vehicleInfo, "signals": signals, "user": map[string]string{"id": v.UserID}},
			"triggers": []any{trigger},
		}
	case EventVehicleError:
		payload = map[string]any{
			"data": map[string]any{"vehicle": vehicleInfo, "errors": []any{s.webhookError(v)},
				"user": map[string]string{"id": v.UserID}},
		}
	default:
		return fmt.Errorf("send webhook: unknown event type %q", eventType)
	}
	payload["eventId"] = s.ids.uuid()
	payload["eventType"] = eventType
	payload["meta"] = meta
	if _, _, err := s.deliver(ctx, url, payload); err != nil {
		return fmt.Errorf("send webhook: %w", err)
	}
	return nil
}

// webhookError picks the error a VEHICLE_ERROR event reports.
func (s *Server) webhookError(v *vehicle) map[string]any {
	f, active := s.faults.peek(v.ID)
	v.lim.mu.Lock()
	defer v.lim.mu.Unlock()
	state := "ERROR"
	var e *apiError
	switch {
	case active:
		e = faultError(f)
		v.lim.lastError = e
	case v.lim.lastError != nil:
		e, state = v.lim.lastError, "RESOLVED"
		v.lim.lastError = nil
	default:
		e = newError("VEHICLE_STATE", "UNREACHABLE")
		v.lim.lastError = e
	}
	return webhookErrorEntry(e, state, []string{"odometer-traveleddistance"})
}

// sendWebhookSignals are the signals SendWebhook delivers, in this order,
// those the vehicle's powertrain has.
var sendWebhookSignals = []string{"odometer-traveleddistance", "location-preciselocation",
	"tractionbattery-stateofcharge", "charge-ischarging", "internalcombustionengine-fuellevel"}

// VerifyWebhook sends a VERIFY challenge to url and checks that the answer
// is HTTP 200 with {"challenge": hex HMAC-SHA256(AMT, challenge)}.
func (s *Server) VerifyWebhook(ctx context.Context, url string) error {
	challenge := s.ids.uuid()
	payload := map[string]any{
		"eventId":   s.ids.uuid(),
		"eventType": "VERIFY",
		"data":      map[string]string{"challenge": challenge},
		"meta": webhookMeta{Version: "4.0", DeliveryID: s.ids.uuid(), WebhookID: "smartcartest-webhook",
			WebhookName: "smartcartest", DeliveredAt: s.clock().UTC().Format(timeLayout)},
	}
	resp, body, err := s.deliver(ctx, url, payload)
	if err != nil {
		return fmt.Errorf("verify webhook: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("verify webhook: receiver answered HTTP %d, want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return fmt.Errorf("verify webhook: answer has Content-Type %q, want application/json", ct)
	}
	var answer struct {
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return fmt.Errorf("verify webhook: decode answer: %w", err)
	}
	if !hmac.Equal([]byte(answer.Challenge), []byte(sign(s.ManagementToken, []byte(challenge)))) {
		return fmt.Errorf("verify webhook: wrong challenge answer %q", answer.Challenge)
	}
	return nil
}

// deliver POSTs a signed payload and returns the answer and its body.
func (s *Server) deliver(ctx context.Context, url string, payload any) (*http.Response, []byte, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("encode payload: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Smartcar-Webhooks (smartcartest)")
	req.Header.Set("SC-Signature", sign(s.ManagementToken, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, nil, fmt.Errorf("receiver answered HTTP %d", resp.StatusCode)
	}
	return resp, answer, nil
}

func round(v float64, digits int) float64 {
	f, _ := json.Number(appendNum(nil, v, digits)).Float64()
	return f
}
