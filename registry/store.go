package registry

import (
	"context"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
)

// Store is the backend contract of the vehicle registry: vehicles with
// their status and last poll, Retry-After holds, poll leases, the last
// webhook of each vehicle, and adaptive schedules' plans with billed-call
// counts (Planner). redisregistry.Store and kvregistry.Store
// implement all of it, and registrytest.Run tests both with one suite.
//
// Every method returns ErrNotFound (wrapped) for an unknown vehicle where it
// says so, and wraps backend failures, which may be transient (a restarting
// server).
type Store interface {
	Planner

	// PutVehicle registers or replaces a vehicle. An empty Status is stored
	// as connected; an unknown one is an error.
	PutVehicle(ctx context.Context, v Vehicle) error
	// GetVehicle returns a registered vehicle.
	GetVehicle(ctx context.Context, id string) (Vehicle, error)
	// ListVehicles returns every registered vehicle, sorted by ID.
	ListVehicles(ctx context.Context) ([]Vehicle, error)
	// DeleteVehicle removes a vehicle and its hold.
	DeleteVehicle(ctx context.Context, id string) error
	// SetStatus sets a registered vehicle's status and reason.
	SetStatus(ctx context.Context, id string, s events.Status, reason string) error
	// SetUserID sets a registered vehicle's Smartcar user id (sent as
	// sc-user-id on API v3) and keeps the rest of it; userID must not be
	// empty. Writes to other vehicles never make it retry.
	SetUserID(ctx context.Context, id, userID string) error
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

	// StartPoll takes the vehicle's poll lease for ttl, so nobody else polls
	// it until the returned Unlock (or the ttl) ends it, and returns it with
	// what a poll reads before it calls Smartcar: the vehicle's hold and its
	// registry entry (one round trip on Redis). It returns ErrLeased while
	// someone else holds the lease, and ErrNotFound, without keeping the
	// lease, for an unknown vehicle.
	StartPoll(ctx context.Context, vehicleID string, ttl time.Duration) (PollStart, error)

	// TouchWebhook records a webhook from the vehicle at t; an older t is
	// ignored. The vehicle need not be registered.
	TouchWebhook(ctx context.Context, vehicleID string, t time.Time) error
	// LastWebhooks returns each vehicle's last webhook time.
	LastWebhooks(ctx context.Context) (map[string]time.Time, error)
}

// PollStart is what StartPoll returns: the vehicle's poll lease, taken; the
// end of the vehicle's Retry-After hold (zero when there is none); the
// vehicle itself.
type PollStart struct {
	// Unlock releases the lease: ErrLeaseLost if it expired and someone else
	// took it since.
	Unlock func(context.Context) error
	// Hold is the end of the vehicle's hold, as Hold returns it.
	Hold time.Time
	// Vehicle is the registered vehicle, as GetVehicle returns it.
	Vehicle Vehicle
}
