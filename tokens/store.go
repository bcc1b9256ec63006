package tokens

import (
	"context"
	"time"
)

// Store is the backend contract: grants with a version compare-and-set,
// expiring locks, the vehicle registry and Retry-After holds. RedisStore and
// KVStore implement it, and one conformance suite tests both.
//
// Every method returns ErrNotFound (wrapped) for a missing grant or vehicle,
// and wraps backend failures, which may be transient (a restarting server).
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
	// StartPoll takes a vehicle's poll lease, the lock
	// Lock(ctx, PollLeaseKey(vehicleID), ttl), and returns it with the
	// vehicle's hold and registry entry: what a poll reads before it calls
	// Smartcar (one round trip on Redis). It returns ErrLocked while someone
	// else holds the lease, and ErrNotFound, without keeping the lease, for
	// an unknown vehicle.
	StartPoll(ctx context.Context, vehicleID string, ttl time.Duration) (PollStart, error)

	// PutVehicle registers or replaces a vehicle. An empty Status is stored
	// as StatusConnected.
	PutVehicle(ctx context.Context, v Vehicle) error
	// GetVehicle returns a registered vehicle.
	GetVehicle(ctx context.Context, id string) (Vehicle, error)
	// ListVehicles returns every registered vehicle, sorted by ID.
	ListVehicles(ctx context.Context) ([]Vehicle, error)
	// DeleteVehicle removes a vehicle and its hold.
	DeleteVehicle(ctx context.Context, id string) error
	// SetStatus sets a registered vehicle's status and reason.
	SetStatus(ctx context.Context, id string, s Status, reason string) error
	// TouchPoll records that the vehicle was polled at t; an older t than the
	// stored one is ignored.
	TouchPoll(ctx context.Context, id string, t time.Time) error
	// SetHold keeps workers off the vehicle until until (a Retry-After). It
	// only ever extends a hold, never shortens it, and the hold expires by
	// itself. Holds have millisecond precision.
	SetHold(ctx context.Context, id string, until time.Time) error
	// Hold returns the end of the vehicle's hold, or the zero time when there
	// is none (or it has passed).
	Hold(ctx context.Context, id string) (time.Time, error)
}
