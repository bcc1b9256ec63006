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
//     answers a repeated eventId "duplicate", and stores any other
//     VEHICLE_STATE or VEHICLE_ERROR in the inbox (durably, under its
//     eventId) before it answers, so it answers well within Smartcar's
//     15 s however busy processing is, and loses nothing the daemon
//     answered for;
//   - ProcessWebhook, called for each stored delivery by the daemon's
//     inbox consumer, turns VEHICLE_STATE signals into the same normalized
//     events polling publishes (package normalize: a signal the webhook
//     carries only part of is completed from the vehicle's latest event of
//     it; a code without a normalized type is a generic signal event),
//     leaving out those older than the vehicle's latest state (Smartcar
//     retries and reorders), records the vehicle's last-webhook time (so
//     schedules with when.webhooks_silent_for skip it), and turns
//     VEHICLE_ERROR into error and status events: an error that needs the
//     user or an operator sets needs_reauth or disabled, and its RESOLVED
//     sets connected again only from the status that error set.
//
// It declares the small interfaces it calls (Auth, API, Grants, Registry,
// Marks, Publisher, Latest, Inbox); internal/daemon wires *smartcar.AuthClient,
// *smartcar.Client, *credentials.Manager, the registry store, the marks
// (package marks: Connect states and webhook eventIds have a home of their
// own, since nothing but onboarding reads them), *events.Publisher and
// *inbox.Inbox into them. It must not know NATS subjects, Redis keys, cron
// or the worker.
package onboard
