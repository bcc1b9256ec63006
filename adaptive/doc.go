// Package adaptive decides when to poll a vehicle next, so that a monthly
// budget of billed Smartcar calls buys the freshest possible view of the
// changes users care about: a trip that starts or ends, a charge that starts
// or stops.
//
// After every poll (Polled) and every webhook (Webhook) it classifies the
// vehicle from its latest data (Classify: driving, charging, plugged in,
// parked, asleep), keeps a compact per-vehicle record (Vehicle: the last
// values, the month's billed calls and a token bucket, and what it learned
// of the vehicle's week) and returns the next due time. The due time comes
// from the state's floor (the shortest interval between two polls), the
// predicted end of a charge, the likelihood of a change in the hours ahead
// (learned per vehicle: polls go where changes happen, at a rate that grows
// with the square root of their likelihood), the age of the data (a vehicle
// whose data never moves is polled less and less) and the budget: what is
// left of the month is spread over the days left, a vehicle may run at most
// one day's share ahead, and the reserve is left for commands and retries.
// A 430 parks the vehicle until the next billing month (QuotaExhausted).
//
// It is pure logic: no I/O, no clock of its own (every call takes the
// time), no goroutines. It must not know the registry, the scheduler or
// the worker; FromSignals turns Smartcar API v3 signals (from a poll or a
// webhook) into the Observation it reads.
package adaptive
