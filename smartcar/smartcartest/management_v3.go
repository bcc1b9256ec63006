package smartcartest

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Webhook is a webhook of the application, as the Dashboard would
// configure it: where VEHICLE_STATE and VEHICLE_ERROR events of its
// subscribed vehicles go, which signals they carry and which signals'
// changes trigger them.
type Webhook struct {
	ID   string `json:"id"`   // "" = generated
	Name string `json:"name"` // "" = "smartcartest"
	URL  string `json:"url"`
	// Signals are the codes a VEHICLE_STATE event carries (nil = every code,
	// see SignalCodes); Triggers the codes whose change sends one (nil =
	// Signals).
	Signals  []string `json:"signals,omitempty"`
	Triggers []string `json:"triggers,omitempty"`
	Mode     string   `json:"mode"` // LIVE (default) or TEST
}

// AddWebhook registers (or, for a known ID, replaces) a webhook and returns
// it with its defaults filled in. Vehicles subscribe to it through the
// Management API v3 or POST /v2.0/vehicles/{id}/webhooks/{webhookId}; each
// subscribed vehicle then gets a FIRST_DELIVERY event and an event whenever
// a trigger signal changes.
func (s *Server) AddWebhook(w Webhook) Webhook {
	if w.ID == "" {
		w.ID = s.ids.uuid()
	}
	w.Name = cmp.Or(w.Name, "smartcartest")
	w.Mode = cmp.Or(strings.ToUpper(w.Mode), "LIVE")
	w.Signals = slices.Clone(w.Signals)
	if w.Signals == nil {
		w.Signals = SignalCodes()
	}
	w.Triggers = slices.Clone(w.Triggers)
	if w.Triggers == nil {
		w.Triggers = slices.Clone(w.Signals)
	}
	s.mu.Lock()
	cp := w
	s.v3.hooks[w.ID] = &cp
	s.mu.Unlock()
	s.hooks.start(s)
	s.hooks.kick()
	return w
}

// Webhooks returns the registered webhooks by id.
func (s *Server) Webhooks() []Webhook {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Webhook, 0, len(s.v3.hooks))
	for _, id := range sortedKeys(s.v3.hooks) {
		out = append(out, *s.v3.hooks[id])
	}
	return out
}

// subscription is one vehicle subscribed to one webhook.
type subscription struct {
	webhookID, vehicleID, userID string
	createdAt                    time.Time

	// What was last delivered; guarded by hookEngine.mu.
	delivered bool
	last      map[string]string // trigger code → body JSON
	lastErr   *apiError         // error reported by the last VEHICLE_ERROR, until RESOLVED
}

// subscribe subscribes a vehicle to a webhook (a no-op when it is); the
// caller holds s.mu.
func (s *Server) subscribe(webhookID, vehicleID, userID string, now time.Time) {
	if s.webhooks[vehicleID] == nil {
		s.webhooks[vehicleID] = map[string]*subscription{}
	}
	if s.webhooks[vehicleID][webhookID] == nil {
		s.webhooks[vehicleID][webhookID] = &subscription{webhookID: webhookID, vehicleID: vehicleID,
			userID: userID, createdAt: now}
	}
}

// unsubscribe removes a subscription; the caller holds s.mu.
func (s *Server) unsubscribe(webhookID, vehicleID string) {
	delete(s.webhooks[vehicleID], webhookID)
	if len(s.webhooks[vehicleID]) == 0 {
		delete(s.webhooks, vehicleID)
	}
}

type subscriptionResource struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Attributes struct {
		WebhookID string `json:"webhookId"`
		VehicleID string `json:"vehicleId"`
		UserID    string `json:"userId"`
		CreatedAt string `json:"createdAt"`
	} `json:"attributes"`
}

func (sub *subscription) resource() subscriptionResource {
	var r subscriptionResource
	r.ID, r.Type = sub.vehicleID, "subscription"
	r.Attributes.WebhookID, r.Attributes.VehicleID = sub.webhookID, sub.vehicleID
	r.Attributes.UserID, r.Attributes.CreatedAt = sub.userID, rfc3339(sub.createdAt)
	return r
}

// handleWebhooksV3 is /v3/webhooks/{id} and /v3/webhooks/{id}/subscriptions
// of the Management API v3 (Bearer application token).
func (s *Server) handleWebhooksV3(c *call, rest string) {
	webhookID, sub, _ := strings.Cut(rest, "/")
	switch {
	case sub == "" && c.r.Method == http.MethodGet:
		c.rec.Route = "/v3/webhooks"
	case sub == "subscriptions":
		c.rec.Route = "/v3/webhooks/subscriptions"
	default:
		c.rec.Route = "unknown"
		c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
		return
	}
	if err := s.authApp(c); err != nil {
		c.fail(err)
		return
	}
	if s.fault(c, "") {
		return
	}
	s.mu.RLock()
	w := s.v3.hooks[webhookID]
	s.mu.RUnlock()
	if w == nil {
		c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
		return
	}
	switch {
	case sub == "":
		c.value(map[string]any{"data": map[string]any{"id": w.ID, "type": "webhook",
			"attributes": map[string]any{"name": w.Name, "url": w.URL, "signals": w.Signals,
				"triggers": w.Triggers, "mode": w.Mode}}})
	case c.r.Method == http.MethodGet:
		s.handleSubscriptionsList(c, webhookID)
	case c.r.Method == http.MethodPost || c.r.Method == http.MethodDelete:
		s.changeSubscriptions(c, webhookID)
	default:
		c.rec.Route = "unknown"
		c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
	}
}

// changeSubscriptions is POST (subscribe) and DELETE (unsubscribe)
// /v3/webhooks/{id}/subscriptions with {"vehicleIds": [...]}: 202, the
// change is "in progress" (and, here, already done). Only vehicles the
// application is connected to can subscribe.
func (s *Server) changeSubscriptions(c *call, webhookID string) {
	var req struct {
		VehicleIDs []string `json:"vehicleIds"`
	}
	if err := readJSON(c.r, &req); err != nil {
		c.fail(err)
		return
	}
	if len(req.VehicleIDs) == 0 {
		c.fail(validationError("vehicleIds", `"vehicleIds" must list at least one vehicle`))
		return
	}
	message := "subscription deletion in progress"
	s.mu.Lock()
	if c.r.Method == http.MethodPost {
		users := make([]string, len(req.VehicleIDs))
		for i, id := range req.VehicleIDs {
			conns := s.connections("", id)
			if len(conns) == 0 {
				s.mu.Unlock()
				c.fail(validationError("vehicleIds", "vehicle "+id+" is not connected to this application"))
				return
			}
			users[i] = conns[0].UserID
		}
		for i, id := range req.VehicleIDs {
			s.subscribe(webhookID, id, users[i], c.now)
		}
		message = "subscription creation in progress"
	} else {
		for _, id := range req.VehicleIDs {
			s.unsubscribe(webhookID, id)
		}
	}
	s.mu.Unlock()
	s.hooks.kick()
	c.json(http.StatusAccepted, []byte(`{"meta":{"message":"`+message+`"}}`))
}

// handleSubscriptionsList is GET /v3/webhooks/{id}/subscriptions
// (webhookID set) and GET /v3/subscriptions (filters filter[webhookId],
// filter[vehicleId], filter[userId]), paged with page[number]/page[size].
func (s *Server) handleSubscriptionsList(c *call, webhookID string) {
	if webhookID == "" {
		if err := s.authApp(c); err != nil {
			c.fail(err)
			return
		}
		if s.fault(c, "") {
			return
		}
	}
	page, size, ok := pageQuery(c, 10, 100)
	if !ok {
		return
	}
	q := c.r.URL.Query()
	filters := map[string]string{"filter[webhookId]": q.Get("filter[webhookId]"),
		"filter[vehicleId]": q.Get("filter[vehicleId]"), "filter[userId]": q.Get("filter[userId]")}
	if webhookID != "" {
		filters["filter[webhookId]"] = webhookID
	}
	var all []*subscription
	s.mu.RLock()
	for _, byHook := range s.webhooks {
		for _, sub := range byHook {
			if (filters["filter[webhookId]"] == "" || sub.webhookID == filters["filter[webhookId]"]) &&
				(filters["filter[vehicleId]"] == "" || sub.vehicleID == filters["filter[vehicleId]"]) &&
				(filters["filter[userId]"] == "" || sub.userID == filters["filter[userId]"]) {
				all = append(all, sub)
			}
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(all, func(a, b *subscription) int {
		return cmp.Or(a.createdAt.Compare(b.createdAt), strings.Compare(a.webhookID, b.webhookID),
			strings.Compare(a.vehicleID, b.vehicleID))
	})
	lo, hi := pageBounds(len(all), page, size)
	data := make([]subscriptionResource, 0, hi-lo)
	for _, sub := range all[lo:hi] {
		data = append(data, sub.resource())
	}
	path := "/v3/subscriptions"
	keep := map[string][]string{}
	if webhookID != "" {
		path = "/v3/webhooks/" + webhookID + "/subscriptions"
		delete(filters, "filter[webhookId]")
	}
	for k, v := range filters {
		if v != "" {
			keep[k] = []string{v}
		}
	}
	c.value(map[string]any{
		"data":  data,
		"meta":  listMeta{Page: page, PageSize: size, TotalCount: len(all)},
		"links": pageLinks(path, keep, page, size, len(all), true),
	})
}
