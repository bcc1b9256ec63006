package smartcar

import (
	"cmp"
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// Subscription is one vehicle subscribed to a webhook (Management API v3).
type Subscription struct {
	WebhookID string
	VehicleID string
	UserID    string
	CreatedAt time.Time
}

// SubscriptionsFilter selects subscriptions: by webhook, by vehicle or both.
type SubscriptionsFilter struct {
	WebhookID string
	VehicleID string
}

// subscriptionWire is {id: vehicleId, type: "subscription", attributes:
// {webhookId, vehicleId, userId, createdAt}}.
type subscriptionWire struct {
	ID         string `json:"id"`
	Attributes struct {
		WebhookID string   `json:"webhookId"`
		VehicleID string   `json:"vehicleId"`
		UserID    string   `json:"userId"`
		CreatedAt flexTime `json:"createdAt"`
	} `json:"attributes"`
}

func (w *subscriptionWire) subscription() Subscription {
	a := &w.Attributes
	return Subscription{WebhookID: a.WebhookID, VehicleID: cmp.Or(a.VehicleID, w.ID), UserID: a.UserID,
		CreatedAt: time.Time(a.CreatedAt)}
}

// Subscriptions lists subscriptions (GET /v3/subscriptions with
// filter[webhookId] and filter[vehicleId]; filter may be nil), following
// every page, like Connections.
func (a *AppClient) Subscriptions(ctx context.Context, filter *SubscriptionsFilter) iter.Seq2[Subscription, error] {
	var f SubscriptionsFilter
	if filter != nil {
		f = *filter
	}
	u := a.mgmtOrigin + "/v3/subscriptions?" +
		listQuery([2]string{"webhookId", f.WebhookID}, [2]string{"vehicleId", f.VehicleID})
	return list(ctx, a, a.mgmtOrigin, u, (*subscriptionWire).subscription)
}

// WebhookSubscriptions lists the vehicles subscribed to one webhook (GET
// /v3/webhooks/{webhookID}/subscriptions), following every page.
func (a *AppClient) WebhookSubscriptions(ctx context.Context, webhookID string) iter.Seq2[Subscription, error] {
	if webhookID == "" {
		return func(yield func(Subscription, error) bool) {
			yield(Subscription{}, validationError("PARAMETER", "webhook subscriptions: webhook id is empty"))
		}
	}
	u := a.mgmtOrigin + "/v3/webhooks/" + url.PathEscape(webhookID) + "/subscriptions?" + listQuery()
	seq := list(ctx, a, a.mgmtOrigin, u, (*subscriptionWire).subscription)
	return func(yield func(Subscription, error) bool) {
		for s, err := range seq {
			if err == nil {
				s.WebhookID = cmp.Or(s.WebhookID, webhookID)
			}
			if !yield(s, err) {
				return
			}
		}
	}
}

// ListSubscriptions returns every subscription Subscriptions yields.
func (a *AppClient) ListSubscriptions(ctx context.Context, filter *SubscriptionsFilter) ([]Subscription, error) {
	return collect(a.Subscriptions(ctx, filter))
}

// SubscriptionChange is the answer of SubscribeVehicles and
// UnsubscribeVehicles. Smartcar applies the change asynchronously: 202 with
// a message such as "subscription creation in progress" is a success.
type SubscriptionChange struct {
	StatusCode int
	Message    string // meta.message, when the answer has one
	Meta       Meta
}

// SubscribeVehicles subscribes vehicles to a webhook (POST
// /v3/webhooks/{webhookID}/subscriptions {"vehicleIds": [...]}).
func (a *AppClient) SubscribeVehicles(ctx context.Context, webhookID string, vehicleIDs ...string) (*SubscriptionChange, error) {
	return a.changeSubscriptions(ctx, http.MethodPost, webhookID, vehicleIDs)
}

// UnsubscribeVehicles removes vehicles from a webhook (DELETE
// /v3/webhooks/{webhookID}/subscriptions {"vehicleIds": [...]}).
func (a *AppClient) UnsubscribeVehicles(ctx context.Context, webhookID string, vehicleIDs ...string) (*SubscriptionChange, error) {
	return a.changeSubscriptions(ctx, http.MethodDelete, webhookID, vehicleIDs)
}

func (a *AppClient) changeSubscriptions(ctx context.Context, method, webhookID string, vehicleIDs []string) (*SubscriptionChange, error) {
	if webhookID == "" || len(vehicleIDs) == 0 {
		return nil, validationError("PARAMETER", "subscriptions: a webhook id and at least one vehicle id are required")
	}
	body, err := encodeBody(struct {
		VehicleIDs []string `json:"vehicleIds"`
	}{vehicleIDs})
	if err != nil {
		return nil, err
	}
	r := request{method: method, url: a.mgmtOrigin + "/v3/webhooks/" + url.PathEscape(webhookID) + "/subscriptions",
		body: body, ctype: jsonContentType}
	resp, err := rawV3(ctx, a.client, a.appBearer(), &r)
	if err != nil {
		return nil, err
	}
	out := &SubscriptionChange{StatusCode: resp.StatusCode, Meta: resp.Meta}
	var w struct {
		Meta struct {
			Message string `json:"message"`
		} `json:"meta"`
	}
	if json.Unmarshal(resp.Body, &w) == nil {
		out.Message = w.Meta.Message
	}
	return out, nil
}
