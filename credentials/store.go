package credentials

import (
	"context"
	"time"
)

// Store is the backend contract: grants with a version compare-and-set,
// expiring locks, and what RotateKey needs. rediscredentials.Store and
// kvcredentials.Store implement all of it, and credentialstest.Run tests
// both with one suite.
//
// Every method returns ErrNotFound (wrapped) for a missing grant, and wraps
// backend failures, which may be transient (a restarting server). Records
// are (de)serialized by EncodeGrant and DecodeGrant, with the store's
// Keyring (nil: plaintext).
type Store interface {
	// GetGrant returns the stored grant.
	GetGrant(ctx context.Context, id string) (Grant, error)
	// CreateGrant stores g as the grant's pair, replacing any stored one (a
	// reconnect). The stored Version becomes the previous one plus one (1 for
	// a new grant), so a refresh racing with the reconnect loses its
	// compare-and-set; g.Version is ignored.
	CreateGrant(ctx context.Context, g Grant) error
	// UpdateGrant stores g if the stored version is expectVersion and returns
	// the stored grant, whose Version is expectVersion+1. It returns
	// ErrConflict if the version differs, ErrNotFound if there is no grant.
	UpdateGrant(ctx context.Context, g Grant, expectVersion int64) (Grant, error)
	// DeleteGrant removes the grant.
	DeleteGrant(ctx context.Context, id string) error

	// Lock takes the lock named key for ttl. It returns ErrLocked while
	// someone else holds it. Only the returned unlock releases it; unlock
	// returns ErrLockLost if the lock expired and someone else took it since.
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(context.Context) error, err error)

	// GrantIDs returns the ids of every stored grant, in no order.
	GrantIDs(ctx context.Context) ([]string, error)
	// Rekey rewrites the grant's record with the store's current key if it
	// is under another key or in plaintext (see Reseal), with a
	// compare-and-set on the stored record that keeps the grant's Version;
	// a write that loses is read and tried again. It reports whether it
	// rewrote the record (false when it was current, or is gone), and
	// returns ErrNoKeyring without a Keyring.
	Rekey(ctx context.Context, id string) (bool, error)
}

// LockKey is the name of a grant's refresh lock (Store.Lock): the Manager
// takes it for every refresh.
func LockKey(grantID string) string { return "grant:" + grantID }
