// Package events owns the telemetry messages that smartcar-poller emits: the
// CloudEvents 1.0 envelope (structured JSON mode), the signals, the
// normalized data types, the NATS subjects, the events stream, publishing,
// the latest-state KV bucket and the JSON Schemas of every event type.
//
// An event for vehicle v and signal s is published on subject
// <prefix>.vehicles.<v>.<s> into the stream <PREFIX>_EVENTS with
// Nats-Msg-Id set to the event id, so a redelivered job cannot store an event
// twice. Its JSON is also kept under key <v>.<s> in the KV bucket
// <PREFIX>_LATEST, so late subscribers can read the current state. A generic
// signal event (SignalGeneric: an API v3 signal without a normalized type)
// goes to <prefix>.vehicles.<v>.signals.<code> and key <v>.signals.<code>,
// the code taken from its data. Publish stores a batch as it comes (the
// poller's jobs); PublishNewer, for sources that deliver out of order
// (webhooks), publishes an event only if it is fresher than the latest one
// of its signal, deciding by compare-and-set on the latest-state entry.
//
// Data is normalized: metric, with the unit in the field name (distance_km,
// range_km, pressure_kpa, ...). Fractions stay in 0..1 and keep Smartcar's
// names (percent_remaining, life_remaining, limit).
//
// The package must not know Smartcar wire types (it does not import package
// smartcar) nor Redis: package normalize turns Smartcar responses and
// webhooks into these types.
// Secrets (tokens, client secrets, Smartcar's battery-capacity URL that
// embeds a token) never belong in an event.
package events
