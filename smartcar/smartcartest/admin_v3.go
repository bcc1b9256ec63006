package smartcartest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// handleAdminV3 serves the admin calls of the v3 surface; it reports
// false for any other path, which handleAdmin then answers.
//
//	GET  /admin/billing[?vehicleId=&month=2026-05]  Billing
//	POST /admin/app-token                           AppToken: {"accessToken", "expiresIn"}
//	POST /admin/app-tokens/revoke                   RevokeAppTokens: {"revoked": n}
//	GET  /admin/webhooks                            Webhooks
//	POST /admin/webhooks                            AddWebhook (body: Webhook)
//	POST /admin/webhooks/check                      CheckWebhooks
//	GET  /admin/webhooks/deliveries[?webhookId=&vehicleId=&limit=N]  WebhookDeliveries
func (s *Server) handleAdminV3(w http.ResponseWriter, r *http.Request) bool {
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if v != nil {
			_ = json.NewEncoder(w).Encode(v)
		}
	}
	q := r.URL.Query()
	switch r.Method + " " + strings.TrimSuffix(r.URL.Path, "/") {
	case "GET /admin/billing":
		reply(http.StatusOK, billingFilter(s.Billing(), q.Get("vehicleId"), q.Get("month")))
	case "POST /admin/app-token":
		reply(http.StatusOK, map[string]any{"accessToken": s.AppToken(), "expiresIn": s.appTokenSeconds()})
	case "POST /admin/app-tokens/revoke":
		reply(http.StatusOK, map[string]int{"revoked": s.RevokeAppTokens()})
	case "GET /admin/webhooks":
		reply(http.StatusOK, s.Webhooks())
	case "POST /admin/webhooks":
		var hook Webhook
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&hook); err != nil {
			reply(http.StatusBadRequest, map[string]string{"error": fmt.Errorf("decode body: %w", err).Error()})
			return true
		}
		if hook.URL == "" {
			reply(http.StatusBadRequest, map[string]string{"error": "url is required"})
			return true
		}
		reply(http.StatusCreated, s.AddWebhook(hook))
	case "POST /admin/webhooks/check":
		s.CheckWebhooks()
		reply(http.StatusNoContent, nil)
	case "GET /admin/webhooks/deliveries":
		all := s.WebhookDeliveries()
		kept := all[:0]
		for _, d := range all {
			if (q.Get("webhookId") == "" || d.WebhookID == q.Get("webhookId")) &&
				(q.Get("vehicleId") == "" || d.VehicleID == q.Get("vehicleId")) {
				kept = append(kept, d)
			}
		}
		if n, err := strconv.Atoi(q.Get("limit")); err == nil && n >= 0 && n < len(kept) {
			kept = kept[len(kept)-n:]
		}
		reply(http.StatusOK, kept)
	default:
		return false
	}
	return true
}
