package redisregistry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/internal/storelock"
	"github.com/smartcar-poller/smartcar-poller/registry"
)

// startPollScript takes the poll lease KEYS[1] (SET NX PX, owner ARGV[1],
// ttl ARGV[2] ms) and returns vehicle ARGV[3]'s registration (KEYS[2]),
// state (KEYS[3]) and hold (KEYS[4]) as strings, empty when absent. It
// returns 0 when the lease is taken by someone else, and 1, without keeping
// the lease, when the vehicle is not registered.
var startPollScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local reg = redis.call('HGET', KEYS[2], ARGV[3])
if not reg then
  redis.call('DEL', KEYS[1])
  return 1
end
return {reg, redis.call('HGET', KEYS[3], ARGV[3]) or '', redis.call('GET', KEYS[4]) or ''}`)

// releaseTimeout bounds the release of a lease StartPoll took and gives back
// because the rest failed.
const releaseTimeout = 5 * time.Second

// StartPoll takes the vehicle's poll lease for ttl and reads its hold and
// registry entry, in one round trip (one Lua script). The release is a
// compare-and-delete: a second round trip.
func (s *Store) StartPoll(ctx context.Context, vehicleID string, ttl time.Duration) (registry.PollStart, error) {
	if err := registry.CheckID(vehicleID); err != nil {
		return registry.PollStart{}, err
	}
	k := s.leaseKey(vehicleID)
	if err := storelock.Check(k, ttl); err != nil {
		return registry.PollStart{}, fmt.Errorf("start poll %s: %w", vehicleID, err)
	}
	owner := storelock.Owner()
	res, err := startPollScript.Run(ctx, s.rdb,
		[]string{k, s.vehiclesKey(), s.stateKey(), s.holdKey(vehicleID)},
		owner, max(ttl.Milliseconds(), 1), vehicleID).Result()
	if err != nil {
		// The lease may be ours (a reply lost on the way): it expires after ttl.
		return registry.PollStart{}, fmt.Errorf("start poll %s: %w", vehicleID, err)
	}
	switch res {
	case int64(0):
		return registry.PollStart{}, fmt.Errorf("start poll %s: %w", vehicleID, registry.ErrLeased)
	case int64(1):
		return registry.PollStart{}, fmt.Errorf("start poll %s: vehicle: %w", vehicleID, registry.ErrNotFound)
	}
	unlock := s.unlocker(vehicleID, storelock.RedisUnlock(s.rdb, k, owner))
	vals, ok := res.([]any)
	if !ok || len(vals) != 3 {
		return registry.PollStart{}, giveBack(ctx, unlock, fmt.Errorf("start poll %s: unexpected reply %T: %w", vehicleID, res, registry.ErrMalformed))
	}
	reg, _ := vals[0].(string)
	state, _ := vals[1].(string)
	hold, _ := vals[2].(string)
	v, err := decodeVehicle(vehicleID, reg, state)
	if err != nil {
		return registry.PollStart{}, giveBack(ctx, unlock, fmt.Errorf("start poll: %w", err))
	}
	ps := registry.PollStart{Unlock: unlock, Vehicle: v}
	if hold != "" {
		ms, err := strconv.ParseInt(hold, 10, 64)
		if err != nil {
			return registry.PollStart{}, giveBack(ctx, unlock, fmt.Errorf("start poll %s: hold: %w", vehicleID, registry.ErrMalformed))
		}
		ps.Hold = registry.HoldEnd(ms)
	}
	return ps, nil
}

// unlocker wraps a lease's release in the registry's errors.
func (s *Store) unlocker(vehicleID string, unlock storelock.Unlock) func(context.Context) error {
	return func(ctx context.Context) error {
		err := unlock(ctx)
		if errors.Is(err, storelock.ErrLost) {
			return fmt.Errorf("release poll lease %s: %w", vehicleID, registry.ErrLeaseLost)
		} else if err != nil {
			return fmt.Errorf("release poll lease %s: %w", vehicleID, err)
		}
		return nil
	}
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
