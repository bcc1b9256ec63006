// Package onboard serves the daemon's onboarding and push endpoints:
//
//   - GET /connect sends the user to Smartcar Connect with a random state
//     kept (single use, short TTL) in the marks;
//   - GET /callback checks the state, exchanges the code, registers the
//     grant's vehicles with the Smartcar user id (the redirect's user_id
//     when the pair is not kept, else the access token's user; the grant's
//     vehicles left out this time become disconnected), stores the token
//     pair (unless Config.DropGrants: a daemon on API v3 needs none) and
//     publishes "status: connected" for each vehicle, or
//     shows Connect's error (access_denied, vehicle_incompatible, ...) and
//     publishes nothing. A vehicle in needs_reauth comes back the same way,
//     with its id, registry entry and event history;
//   - POST /webhooks/smartcar answers VERIFY, rejects a bad SC-Signature,
//     drops a repeated eventId, turns VEHICLE_STATE signals into the same
//     normalized events polling publishes (package normalize: a signal the
//     webhook carries only part of is completed from the vehicle's latest
//     event of it; a code without a normalized type is a generic signal
//     event) and records the vehicle's last-webhook time (so schedules with
//     when.webhooks_silent_for skip it), and turns VEHICLE_ERROR into error
//     or status events.
//
// It declares the small interfaces it calls (Auth, API, Grants, Registry,
// Marks, Publisher, Latest); cmd wires *smartcar.AuthClient,
// *smartcar.Client, *credentials.Manager, the registry store, the marks
// (package marks: Connect states and webhook eventIds have a home of their
// own, since nothing but onboarding reads them) and *events.Publisher into
// them. It must not know NATS subjects, Redis keys, cron or the worker.
package onboard
