// Package storelock takes expiring locks that name their holder, in Redis
// (SET NX PX, released by a compare-and-delete script) and in a JetStream KV
// bucket (Create, or Update once the holder's expiry has passed; released by
// a Delete at the revision written). Only the holder releases a lock; a
// release after the lock expired and was taken by someone else reports
// ErrLost. The credentials' refresh locks and the registry's poll leases are
// such locks.
//
// It must not know what a lock protects. KV locks judge expiry with the
// local clock, so processes' clocks must agree to well under a lock's TTL.
package storelock
