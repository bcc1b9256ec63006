package smartcar

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"strconv"
)

// Bodies of the fixed commands.
var (
	bodyLock        = []byte(`{"action":"LOCK"}`)
	bodyUnlock      = []byte(`{"action":"UNLOCK"}`)
	bodyStartCharge = []byte(`{"action":"START"}`)
	bodyStopCharge  = []byte(`{"action":"STOP"}`)
)

// action sends a command; an empty response body is accepted.
func (v *Vehicle) action(ctx context.Context, method, path string, body []byte) (*ActionResponse, error) {
	if v.err != nil {
		return nil, v.err
	}
	r := v.request(method, path, "", body)
	r.allowEmpty = true
	return fetch[ActionResponse](ctx, v.client, &r)
}

// Lock locks the vehicle (POST /security).
func (v *Vehicle) Lock(ctx context.Context) (*ActionResponse, error) {
	return v.action(ctx, http.MethodPost, PathLockStatus, bodyLock)
}

// Unlock unlocks the vehicle (POST /security).
func (v *Vehicle) Unlock(ctx context.Context) (*ActionResponse, error) {
	return v.action(ctx, http.MethodPost, PathLockStatus, bodyUnlock)
}

// StartCharge starts charging (POST /charge).
func (v *Vehicle) StartCharge(ctx context.Context) (*ActionResponse, error) {
	return v.action(ctx, http.MethodPost, PathCharge, bodyStartCharge)
}

// StopCharge stops charging (POST /charge).
func (v *Vehicle) StopCharge(ctx context.Context) (*ActionResponse, error) {
	return v.action(ctx, http.MethodPost, PathCharge, bodyStopCharge)
}

// SetChargeLimit sets the charge limit, a fraction in [0, 1] (Smartcar
// accepts 0.5 to 1). A value outside [0, 1], such as 80 for 80 %, fails
// before sending with a VALIDATION *Error.
func (v *Vehicle) SetChargeLimit(ctx context.Context, limit float64) (*ActionResponse, error) {
	if math.IsNaN(limit) || limit < 0 || limit > 1 {
		return nil, validationError("PARAMETER", "charge limit "+ftoa(limit)+" must be a fraction between 0 and 1")
	}
	body := `{"limit":` + ftoa(limit) + `}`
	return v.action(ctx, http.MethodPost, PathChargeLimit, []byte(body))
}

// SendDestination sends a destination to the vehicle's navigation system.
// Coordinates outside [-90, 90] / [-180, 180] fail before sending with a
// VALIDATION *Error.
func (v *Vehicle) SendDestination(ctx context.Context, latitude, longitude float64) (*ActionResponse, error) {
	if math.IsNaN(latitude) || latitude < -90 || latitude > 90 {
		return nil, validationError("PARAMETER", "latitude "+ftoa(latitude)+" must be between -90 and 90")
	}
	if math.IsNaN(longitude) || longitude < -180 || longitude > 180 {
		return nil, validationError("PARAMETER", "longitude "+ftoa(longitude)+" must be between -180 and 180")
	}
	body := `{"latitude":` + ftoa(latitude) + `,"longitude":` + ftoa(longitude) + `}`
	return v.action(ctx, http.MethodPost, "/navigation/destination", []byte(body))
}

// Disconnect revokes this application's access to the vehicle (DELETE
// /application); the user must go through Connect again to restore it.
func (v *Vehicle) Disconnect(ctx context.Context) (*ActionResponse, error) {
	return v.action(ctx, http.MethodDelete, "/application", nil)
}

// Subscribe subscribes the vehicle to a webhook (POST /webhooks/{id}).
func (v *Vehicle) Subscribe(ctx context.Context, webhookID string) (*WebhookSubscription, error) {
	if v.err != nil {
		return nil, v.err
	}
	r := v.request(http.MethodPost, "/webhooks/"+url.PathEscape(webhookID), "", nil)
	return fetch[WebhookSubscription](ctx, v.client, &r)
}

// Unsubscribe removes the vehicle from a webhook (DELETE /webhooks/{id}).
// Smartcar authorizes this call with the application management token
// (amt), not the user's access token.
func (v *Vehicle) Unsubscribe(ctx context.Context, amt, webhookID string) (*ActionResponse, error) {
	if v.err != nil {
		return nil, v.err
	}
	r := v.request(http.MethodDelete, "/webhooks/"+url.PathEscape(webhookID), "", nil)
	r.auth = []string{"Bearer " + amt}
	r.secrets[1] = amt
	r.allowEmpty = true
	return fetch[ActionResponse](ctx, v.client, &r)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
