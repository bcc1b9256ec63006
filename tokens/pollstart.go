package tokens

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// PollStart is what a poll reads from the store before it calls Smartcar,
// as StartPoll returns it: the vehicle's poll lease, taken; the end of the
// vehicle's Retry-After hold (zero when there is none); the vehicle itself.
type PollStart struct {
	// Unlock releases the lease, as the unlock func of Lock does (ErrLockLost
	// if it expired and someone else took it since).
	Unlock func(context.Context) error
	// Hold is the end of the vehicle's hold, as Hold returns it.
	Hold time.Time
	// Vehicle is the registered vehicle, as GetVehicle returns it.
	Vehicle Vehicle
}

// PollLeaseKey is the lock key of a vehicle's poll lease: StartPoll takes
// Lock(ctx, PollLeaseKey(id), ttl).
func PollLeaseKey(vehicleID string) string { return "poll:" + vehicleID }

// releaseTimeout bounds the release of a lease StartPoll took and gives back
// because the rest failed.
const releaseTimeout = 5 * time.Second

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

// startPollScript takes the poll lease KEYS[1] like Lock (SET NX PX, owner
// ARGV[1], ttl ARGV[2] ms) and returns vehicle ARGV[3]'s registration
// (KEYS[2]), state (KEYS[3]) and hold (KEYS[4]) as strings, empty when absent.
// It returns 0 when the lease is taken by someone else, and 1, without
// keeping the lease, when the vehicle is not registered.
var startPollScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
local reg = redis.call('HGET', KEYS[2], ARGV[3])
if not reg then
  redis.call('DEL', KEYS[1])
  return 1
end
return {reg, redis.call('HGET', KEYS[3], ARGV[3]) or '', redis.call('GET', KEYS[4]) or ''}`)

// StartPoll takes the vehicle's poll lease for ttl and reads its hold and
// registry entry, in one round trip (one Lua script). The lease is the lock
// Lock(ctx, PollLeaseKey(vehicleID), ttl) takes: an error wrapping ErrLocked
// while someone else holds it. For an unknown vehicle it returns ErrNotFound
// and leaves no lease behind.
func (s *RedisStore) StartPoll(ctx context.Context, vehicleID string, ttl time.Duration) (PollStart, error) {
	if err := validID("vehicle", vehicleID); err != nil {
		return PollStart{}, err
	}
	key := PollLeaseKey(vehicleID)
	if err := validLock(key, ttl); err != nil {
		return PollStart{}, err
	}
	owner := newOwner()
	k := s.lockKey(key)
	res, err := startPollScript.Run(ctx, s.rdb,
		[]string{k, s.vehiclesKey(), s.stateKey(), s.holdKey(vehicleID)},
		owner, max(ttl.Milliseconds(), 1), vehicleID).Result()
	if err != nil {
		// The lease may be ours (a reply lost on the way): it expires after ttl.
		return PollStart{}, fmt.Errorf("start poll %s: %w", vehicleID, err)
	}
	switch res {
	case int64(0):
		return PollStart{}, fmt.Errorf("start poll %s: lock %s: %w", vehicleID, key, ErrLocked)
	case int64(1):
		return PollStart{}, fmt.Errorf("start poll %s: vehicle: %w", vehicleID, ErrNotFound)
	}
	unlock := s.unlocker(key, k, owner)
	vals, ok := res.([]any)
	if !ok || len(vals) != 3 {
		return PollStart{}, giveBack(ctx, unlock, fmt.Errorf("start poll %s: unexpected reply %T: %w", vehicleID, res, errMalformed))
	}
	reg, _ := vals[0].(string)
	state, _ := vals[1].(string)
	hold, _ := vals[2].(string)
	v, err := decodeRedisVehicle(vehicleID, reg, state)
	if err != nil {
		return PollStart{}, giveBack(ctx, unlock, fmt.Errorf("start poll: %w", err))
	}
	ps := PollStart{Unlock: unlock, Vehicle: v}
	if hold != "" {
		ms, err := strconv.ParseInt(hold, 10, 64)
		if err != nil {
			return PollStart{}, giveBack(ctx, unlock, fmt.Errorf("start poll %s: hold: %w", vehicleID, errMalformed))
		}
		ps.Hold = activeHold(ms)
	}
	return ps, nil
}

// StartPoll takes the vehicle's poll lease for ttl (Lock) and reads its
// hold and registry entry (Hold, GetVehicle): from the mirror when it runs,
// else 2 more round trips. Errors are those of RedisStore.StartPoll: ErrLocked
// while the lease is taken, ErrNotFound (lease released) for an unknown
// vehicle.
func (s *KVStore) StartPoll(ctx context.Context, vehicleID string, ttl time.Duration) (PollStart, error) {
	if err := validID("vehicle", vehicleID); err != nil {
		return PollStart{}, err
	}
	unlock, err := s.Lock(ctx, PollLeaseKey(vehicleID), ttl)
	if err != nil {
		return PollStart{}, fmt.Errorf("start poll %s: %w", vehicleID, err)
	}
	v, err := s.GetVehicle(ctx, vehicleID)
	if err != nil {
		return PollStart{}, giveBack(ctx, unlock, fmt.Errorf("start poll: %w", err))
	}
	hold, err := s.Hold(ctx, vehicleID)
	if err != nil {
		return PollStart{}, giveBack(ctx, unlock, fmt.Errorf("start poll: %w", err))
	}
	return PollStart{Unlock: unlock, Hold: hold, Vehicle: v}, nil
}
