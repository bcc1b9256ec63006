// Package normalize turns Smartcar data into event data: API v2 batch items
// (FromBatchItem), API v3 signals (FromSignals) and v4 webhook signals
// (FromWebhook) become the normalized data types of package events, through
// one set of unit conversions (those of package smartcar) and one set of
// range checks (Check). The same vehicle state gives the same event type and
// data whichever of the three it came from.
//
// Table says which daemon signal comes from which v2 paths and v3 codes. A
// daemon signal composed of several v3 codes (battery is state of charge +
// range) needs every part its schema requires; a delivery that carries only
// some of them (a webhook subscribed to a few signals, a signal in ERROR) is
// completed from the vehicle's previous event of that signal when the
// caller gives one (Previous); without one the parts it did carry go out as
// generic signal events. A v3 code no daemon signal uses also goes out as a
// generic signal event (events.SignalGeneric), as Smartcar sent it. A v2
// body carries all its parts or is invalid.
//
// A value out of range (a latitude of 200, a state of charge of 150 %) is
// refused the same way from every source: a v2 item fails, a v3 signal is
// reported in Result.Rejected and never published, not even as a generic
// signal event.
//
// The package reads Smartcar's types and writes events' types; it knows
// neither NATS nor Redis, calls nothing and keeps no state.
package normalize
