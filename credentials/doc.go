// Package credentials owns the v2 Smartcar grants: one rotating token pair
// per Smartcar user, their refresh (Manager), their encryption at rest
// (Keyring, the key file) and the Store contract their backends implement.
// It must not know vehicles, polling, NATS subjects, schedules or events; it
// uses package smartcar only for smartcar.Access and *smartcar.Error. Which
// vehicle uses which grant is the registry's (package registry).
//
// # Backends
//
// Store is the backend contract, implemented by rediscredentials.Store (the
// production backend, shared by replicas) and kvcredentials.Store
// (JetStream KV, for the embedded default); credentialstest.Run is the one
// conformance suite both pass. Grants are written with a version
// compare-and-set; locks carry an owner token and an expiry, and only the
// owner releases them. A grant's tokens are (de)serialized by EncodeGrant and
// DecodeGrant alone, for both backends.
//
// # Encryption at rest
//
// With a Keyring, both backends store each grant record sealed with
// AES-256-GCM (random nonce, the grant id as associated data) together with
// the id of its key (KeyID: 8 hex digits of the key's SHA-256). Reads accept
// any key of the Keyring and plaintext records; writes use the current key.
// RotateKey re-encrypts the records not under the current key with a
// compare-and-set that keeps each grant's Version, so it runs safely beside
// refreshing daemons. A record under an unknown key fails with ErrUnknownKey
// naming the key id; an altered record fails with ErrDecrypt. Without a
// Keyring records are plaintext JSON.
//
// # Refresh
//
// Smartcar refresh tokens are single use: a refresh returns a new pair and
// the old refresh token dies about a minute later. Manager.AccessToken
// refreshes a grant's pair RefreshBefore its expiry:
//
//  1. singleflight per grant, so one goroutine per process does the work;
//  2. the store lock LockKey(id) (LockTTL), so one process does it; a
//     process that finds the lock held polls the grant with backoff until its
//     holder stored a fresh pair (or the lock expired, then takes it);
//  3. after taking the lock, re-read the grant: another process may just have
//     refreshed it;
//  4. call Smartcar (at most LockTTL/2), then UpdateGrant with a compare-and-
//     set on the version read in 3, BEFORE the new access token is returned
//     to anyone; a failed write is retried with backoff for PersistTimeout;
//  5. release the lock.
//
// An OAuth invalid_grant sets Grant.NeedsReauth (so no process sends that
// refresh token again) and calls ManagerConfig.OnReauth (cmd marks the
// grant's vehicles needs_reauth there); callers get an error wrapping
// ErrReauthRequired. A new Connect clears it. The refresh runs detached from
// the caller's context: a caller that gives up does not abandon a pair
// Smartcar has already issued. Errors and logs never carry tokens:
// Smartcar's OAuth error text (which echoes the refresh token) is dropped,
// and Access/Grant redact themselves in slog.
//
// # Remaining windows
//
// The pair is lost, and the user must reconnect, only when:
//   - the process dies between Smartcar's reply and the store write (a few
//     milliseconds), or the store stays unwritable for PersistTimeout;
//   - Smartcar rotated but its reply was lost (dropped connection, timeout).
//     The refresh is then retried at once (up to 3 calls within LockTTL/2),
//     using the old refresh token during its one-minute grace; this is the
//     only recovery the API allows, and it counts as a reuse of a spent token.
//
// Two refreshes of one grant can happen only if a refresh outlives LockTTL
// (a hung call, or a store down for longer than LockTTL that comes back with
// the lock gone but the grant intact): the second process then sends the
// just-used refresh token. Within the grace minute it still works and the
// compare-and-set keeps exactly one pair; later it fails with invalid_grant
// and the grant is marked needs_reauth. Store writes are retried more often
// (every 20-250 ms) than lock waiters poll (up to every 500 ms), so the
// first writer usually wins. The KV store judges lock expiry with the local
// clock: replicas' clocks must agree to well under LockTTL.
//
// # Costs
//
// AccessToken with a fresh token costs nothing: the Manager keeps each
// grant's access token in memory until it is due for a refresh (Smartcar
// access tokens stay valid until they expire, whoever refreshed the pair);
// a refresh, a rejected token (ForceRefresh) and every decision to refresh
// read the store.
package credentials
