// Package kvcredentials is the credentials.Store on JetStream KV, for the
// embedded default (one replica). Buckets (prefix upper-cased, '-' → '_'),
// each keeping one revision per key:
//
//	<PREFIX>_GRANTS  <grant id> → the record of credentials.EncodeGrant, version inside
//	<PREFIX>_LOCKS   lock.<key> → {owner, expires_at}
//
// Keys are escaped: bytes outside [A-Za-z0-9_-] become =XX. Every write is a
// compare-and-set on the key's revision (kv.Create / kv.Update), which works
// on nats-server 2.9 too. Lock expiries are written in the value and checked
// with the local clock (bucket TTLs and per-message TTLs are not used), so
// processes' clocks must agree to well under a lock's TTL.
//
// It owns the grants bucket and the lock.* keys of the locks bucket, which
// it shares with the vehicle registry (kvregistry: hold.*, webhook.* and
// the poll leases lock.poll*); it must not know the registry's keys.
package kvcredentials
