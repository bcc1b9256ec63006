package kvregistry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
	"github.com/smartcar-poller/smartcar-poller/internal/storelock"
	"github.com/smartcar-poller/smartcar-poller/registry"
)

// leaseKey is the key of a vehicle's poll lease in the locks bucket: the
// lock "poll:<id>" (escaped), as every version of the daemon takes it.
func leaseKey(vehicleID string) string { return "lock." + kvbucket.Key("poll:"+vehicleID) }

// releaseTimeout bounds the release of a lease StartPoll took and gives back
// because the rest failed.
const releaseTimeout = 5 * time.Second

// StartPoll takes the vehicle's poll lease for ttl in the locks bucket (a
// compare-and-set, seen by every process) and reads its hold and registry
// entry: from the mirror when it runs, else 2 more round trips. The release
// is a delete at the lease's revision. The daemon, the only process that
// polls on this store, keeps its leases in memory instead
// (registry.LocalLeases).
func (s *Store) StartPoll(ctx context.Context, vehicleID string, ttl time.Duration) (registry.PollStart, error) {
	if err := registry.CheckID(vehicleID); err != nil {
		return registry.PollStart{}, err
	}
	lock, err := storelock.KV(ctx, s.locks, leaseKey(vehicleID), ttl)
	if errors.Is(err, storelock.ErrHeld) {
		return registry.PollStart{}, fmt.Errorf("start poll %s: %w", vehicleID, registry.ErrLeased)
	} else if err != nil {
		return registry.PollStart{}, fmt.Errorf("start poll %s: %w", vehicleID, err)
	}
	unlock := func(ctx context.Context) error {
		err := lock(ctx)
		if errors.Is(err, storelock.ErrLost) {
			return fmt.Errorf("release poll lease %s: %w", vehicleID, registry.ErrLeaseLost)
		} else if err != nil {
			return fmt.Errorf("release poll lease %s: %w", vehicleID, err)
		}
		return nil
	}
	v, err := s.GetVehicle(ctx, vehicleID)
	if err != nil {
		return registry.PollStart{}, giveBack(ctx, unlock, fmt.Errorf("start poll: %w", err))
	}
	hold, err := s.Hold(ctx, vehicleID)
	if err != nil {
		return registry.PollStart{}, giveBack(ctx, unlock, fmt.Errorf("start poll: %w", err))
	}
	return registry.PollStart{Unlock: unlock, Hold: hold, Vehicle: v}, nil
}

// giveBack releases a lease after the rest of StartPoll failed with err,
// even if ctx has ended, and returns err (naming a failed release too).
func giveBack(ctx context.Context, unlock func(context.Context) error, err error) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if uerr := unlock(rctx); uerr != nil {
		return fmt.Errorf("%w (release the lease: %w)", err, uerr)
	}
	return err
}
