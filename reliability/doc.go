// Package reliability holds the fault tests of smartcar-poller: each test
// builds the smartcar-poller binary, starts its own redis-server and
// nats-server processes and the Smartcar simulator, runs replicas of the
// daemon, injects one fault (kill -9 of a replica, a Redis or NATS restart,
// Smartcar errors, a lost refresh response, SIGTERM under load) and then reads
// the events stream to prove that no (vehicle, tick, path) was lost or
// published twice.
//
// The package has no code of its own besides this comment. CI runs a fast
// variant of every scenario; FAULTS=full (make faults) runs the long ones.
// docs/reliability.md ("Faults") reports the figures of the last full run.
// RELIABILITY_BIN runs a prebuilt binary instead of building ../cmd/smartcar-poller,
// and RELIABILITY_LOGS=1 prints every replica's logs, not only a failed test's.
package reliability
