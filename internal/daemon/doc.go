// Package daemon wires smartcar-poller's running daemon from its
// configuration: it opens (or starts) NATS and the token store of the
// configured backend (the embedded JetStream KV buckets or Redis), the
// credentials, the vehicle registry and the marks, and builds the events
// publisher, the job queue, the Smartcar clients, the rate limiter, the
// worker, the scheduler and the webhook inbox. cmd/smartcar-poller runs it
// (and serves HTTP and metrics around it); bench/ measures the same wiring.
//
// Open builds the parts, Run runs them until its context ends, Close
// releases what Open opened.
package daemon
