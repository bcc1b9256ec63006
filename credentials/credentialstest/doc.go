// Package credentialstest is the conformance suite of credentials.Store
// (like River's riverdrivertest): every backend runs Run against a real
// server, so the Manager can rely on one contract. It must not know any
// backend.
package credentialstest
