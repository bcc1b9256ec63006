// Package smartcar is a Go client for the Smartcar API, with the feature set
// of Smartcar's official Python SDK: Smartcar Connect (auth URL, code and
// refresh-token exchange), vehicle data and commands, batch requests,
// compatibility, the management API and webhook signatures.
//
// The package owns the wire protocol: URLs and versions, request headers,
// response metadata ([Meta]) and the typed [*Error] that every failed request
// returns, with its Retry-After and its classification (Retryable,
// NeedsReauth, Permanent). Defaults come from SMARTCAR_* environment variables,
// read in one place ([NewClient], [NewAuthClient]).
//
// It must not know about Redis, NATS, cron or any other part of the daemon,
// and it does no rate limiting or retrying of its own: callers decide what to
// do with a [*Error].
//
// A typical flow:
//
//	auth, err := smartcar.NewAuthClient() // SMARTCAR_CLIENT_ID, _SECRET, _REDIRECT_URI
//	url := auth.AuthURL([]string{"read_odometer"}, nil)
//	// ... the user comes back to the redirect URI with ?code=...
//	access, err := auth.ExchangeCode(ctx, code)
//	ids, err := smartcar.GetVehicles(ctx, access.AccessToken, nil)
//	v := smartcar.NewVehicle(ids.Vehicles[0], access.AccessToken)
//	odo, err := v.Odometer(ctx)
//	if d, ok := smartcar.RetryAfter(err); ok {
//		// wait d before asking this vehicle again
//	}
//
// API v1.0 error names are mapped onto the v2.0 types (vehicle_state_error
// becomes VEHICLE_STATE) so that they classify the same way; OAuth errors
// from the token endpoint have Type OAUTH and the OAuth error in Code
// ("invalid_grant").
//
// Client-side validation failures (a malformed API version, a latitude out
// of range, a batch path that was not requested) are a *Error with Type
// VALIDATION and StatusCode 0. Transport failures, timeouts, cancellation and
// response bodies that cannot be understood are a *Error with Type SDK_ERROR
// wrapping the cause, so errors.Is(err, context.DeadlineExceeded) works. The
// one failure that is not a *Error is missing client credentials
// ([ErrMissingCredentials]).
package smartcar
