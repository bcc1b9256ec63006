// Package smartcar is a Go client for the Smartcar API: API v3 (application
// tokens, signals, v3 commands, connections, the Management API v3 and
// webhooks v4.0, which Smartcar's official SDKs only partly speak) and API
// v2.0 with the feature set of the official Python SDK (Smartcar Connect,
// code and refresh-token exchange, vehicle data and commands, batch
// requests, compatibility, the management API and webhook signatures).
// Smartcar has announced v2.0 for deprecation; new integrations should use
// v3 (https://smartcar.com/docs).
//
// The package owns the wire protocol: URLs and versions, request headers,
// response metadata ([Meta]) and the typed [*Error] that every failed request
// returns, with its Retry-After and its classification (Retryable,
// NeedsReauth, Permanent, QuotaExhausted). Defaults come from SMARTCAR_*
// environment variables, read in one place per client ([NewClient],
// [NewAuthClient], [NewAppClient]).
//
// It must not know about Redis, NATS, cron or any other part of the daemon,
// and it does no rate limiting or retrying of its own (beyond renewing an
// application token answered 401, once): callers decide what to do with a
// [*Error].
//
// # API v3
//
// [AppClient] is the application: it exchanges the client id and secret for
// an application token (OAuth client_credentials at the IAM service),
// caches it, renews it shortly before it expires with one request in flight
// however many goroutines ask, and retries a call answered 401 once with a
// new token. [AppClient.Vehicle] gives a [VehicleV3] that acts on behalf of
// one user (sent as sc-user-id): [VehicleV3.Signals] (every page),
// [VehicleV3.Signal], [VehicleV3.Command] and its shortcuts, whose 202
// answer is a pending [CommandExecution]. [Client.VehicleV3] and
// [Vehicle.Signals] use a user's access token instead, as the official SDKs
// do. A [Signal] keeps its body raw; decode it with [Signal.Decode] or the
// typed bodies ([ScalarBody] with metric conversions, [LocationBody],
// [ClosuresBody], [TiresBody], [ChargeLimitsBody]). [AppClient.Connections]
// and the subscription methods cover connections and the Management API v3.
// [ParseWebhook] reads webhook v4.0 deliveries (and legacy v2.0 ones) once
// [VerifyPayload] has accepted the signature.
//
//	app, err := smartcar.NewAppClient(nil) // SMARTCAR_CLIENT_ID, _SECRET
//	signals, err := app.Vehicle(vehicleID, userID).Signals(ctx)
//	if odo, ok := signals.Get(smartcar.SignalOdometer); ok {
//		body, err := odo.Scalar()
//		km, err := body.Kilometers()
//	}
//	if e, ok := smartcar.AsError(err); ok && e.QuotaExhausted() {
//		// no call for this vehicle before e.NotBefore(time.Now())
//	}
//
// # API v2.0
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
// # Errors
//
// API v1.0 error names are mapped onto the v2.0 types (vehicle_state_error
// becomes VEHICLE_STATE) so that they classify the same way; OAuth errors
// from the token endpoints have Type OAUTH and the OAuth error in Code
// ("invalid_grant", "invalid_client"). v3 errors, flat or JSON:API
// ({"errors": [...]}), become the same *Error; a signal, command execution
// or webhook error that Smartcar reports inside a successful answer is a
// *Error too, without a status code.
//
// Client-side validation failures (a malformed API version, a latitude out
// of range, a batch path that was not requested, a malformed webhook body)
// are a *Error with Type VALIDATION and StatusCode 0. Transport failures,
// timeouts, cancellation and response bodies that cannot be understood are a
// *Error with Type SDK_ERROR wrapping the cause, so errors.Is(err,
// context.DeadlineExceeded) works. The one failure that is not a *Error is
// missing client credentials ([ErrMissingCredentials]). Client secrets and
// tokens never appear in an error, and the types that hold them redact them
// in String and LogValue.
package smartcar
