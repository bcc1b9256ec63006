package redisregistry

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/registry"
)

// DefaultPrefix is the key prefix of a Store created with an empty one.
const DefaultPrefix = "smartcar:"

// Store is a registry.Store on Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ registry.Store = (*Store)(nil)

// New returns a store using rdb with keys under prefix (DefaultPrefix when
// empty).
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: prefix}
}

func (s *Store) holdKey(id string) string  { return s.prefix + "hold:" + id }
func (s *Store) leaseKey(id string) string { return s.prefix + "lock:poll:" + id }
func (s *Store) vehiclesKey() string       { return s.prefix + "vehicles" }
func (s *Store) stateKey() string          { return s.prefix + "vehicle_state" }
func (s *Store) webhooksKey() string       { return s.prefix + "webhooks" }

// PutVehicle registers or replaces a vehicle, its status and last poll at once.
func (s *Store) PutVehicle(ctx context.Context, v registry.Vehicle) error {
	if err := registry.CheckID(v.ID); err != nil {
		return err
	}
	st, err := registry.NormStatus(v.Status)
	if err != nil {
		return fmt.Errorf("put vehicle %s: %w", v.ID, err)
	}
	reg, err := encodeRegistration(v)
	if err != nil {
		return err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.vehiclesKey(), v.ID, reg)
		p.HSet(ctx, s.stateKey(), v.ID, formatState(st, v.LastPoll, v.Reason))
		return nil
	})
	if err != nil {
		return fmt.Errorf("put vehicle %s: %w", v.ID, err)
	}
	return nil
}

// GetVehicle returns a registered vehicle.
func (s *Store) GetVehicle(ctx context.Context, id string) (registry.Vehicle, error) {
	if err := registry.CheckID(id); err != nil {
		return registry.Vehicle{}, err
	}
	var reg, state *redis.StringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		reg = p.HGet(ctx, s.vehiclesKey(), id)
		state = p.HGet(ctx, s.stateKey(), id)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return registry.Vehicle{}, fmt.Errorf("get vehicle %s: %w", id, err)
	}
	if errors.Is(reg.Err(), redis.Nil) {
		return registry.Vehicle{}, fmt.Errorf("get vehicle %s: %w", id, registry.ErrNotFound)
	}
	return decodeVehicle(id, reg.Val(), state.Val())
}

// ListVehicles reads both vehicle hashes in one transaction (two HGETALLs).
func (s *Store) ListVehicles(ctx context.Context) ([]registry.Vehicle, error) {
	var reg, state *redis.MapStringStringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		reg = p.HGetAll(ctx, s.vehiclesKey())
		state = p.HGetAll(ctx, s.stateKey())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list vehicles: %w", err)
	}
	regs, states := reg.Val(), state.Val()
	ids := slices.Sorted(maps.Keys(regs))
	out := make([]registry.Vehicle, len(ids))
	for i, id := range ids {
		if out[i], err = decodeVehicle(id, regs[id], states[id]); err != nil {
			return nil, fmt.Errorf("list vehicles: %w", err)
		}
	}
	return out, nil
}

// DeleteVehicle removes a vehicle, its state, its hold, its plans and its
// call counts: it reads the names of the schedules and months the store has
// seen, then deletes in one MULTI.
func (s *Store) DeleteVehicle(ctx context.Context, id string) error {
	if err := registry.CheckID(id); err != nil {
		return err
	}
	schedules, months, err := s.planNames(ctx)
	if err != nil {
		return fmt.Errorf("delete vehicle %s: %w", id, err)
	}
	var n *redis.IntCmd
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.HDel(ctx, s.vehiclesKey(), id)
		p.HDel(ctx, s.stateKey(), id)
		p.Del(ctx, s.holdKey(id))
		s.deletePlansAndCalls(ctx, p, id, schedules, months)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete vehicle %s: %w", id, err)
	}
	if n.Val() == 0 {
		return fmt.Errorf("delete vehicle %s: %w", id, registry.ErrNotFound)
	}
	return nil
}

// setStateScript rewrites part of a registered vehicle's state
// "<status>|<poll>|<reason>" (KEYS[2], field ARGV[1]) and keeps the rest.
// ARGV[2] = "status": status ARGV[3], reason ARGV[4]; "poll": poll ARGV[3],
// only if later than the stored one. Returns 0 if the vehicle is not in KEYS[1].
var setStateScript = redis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 0 end
local cur = redis.call('HGET', KEYS[2], ARGV[1]) or ''
local st, poll, reason = string.match(cur, '^([^|]*)|([^|]*)|(.*)$')
if not st then st, poll, reason = 'connected', '', '' end
if ARGV[2] == 'status' then
  st, reason = ARGV[3], ARGV[4]
else
  if poll ~= '' and poll >= ARGV[3] then return 1 end
  poll = ARGV[3]
end
redis.call('HSET', KEYS[2], ARGV[1], st .. '|' .. poll .. '|' .. reason)
return 1`)

func (s *Store) setState(ctx context.Context, action, id string, args ...any) error {
	if err := registry.CheckID(id); err != nil {
		return err
	}
	n, err := setStateScript.Run(ctx, s.rdb, []string{s.vehiclesKey(), s.stateKey()}, append([]any{id}, args...)...).Int64()
	if err != nil {
		return fmt.Errorf("%s %s: %w", action, id, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %s: %w", action, id, registry.ErrNotFound)
	}
	return nil
}

// SetStatus sets a registered vehicle's status and reason.
func (s *Store) SetStatus(ctx context.Context, id string, st events.Status, reason string) error {
	if !st.Valid() {
		return fmt.Errorf("set status %s: unknown status %q", id, st)
	}
	return s.setState(ctx, "set status", id, "status", string(st), reason)
}

// casFieldScript sets field ARGV[1] of hash KEYS[1] to ARGV[3] if it still
// holds ARGV[2]: 1 when set, 0 when it changed, -1 when it is gone.
var casFieldScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return -1 end
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`)

// SetUserID sets a registered vehicle's Smartcar user id: its registration
// is read, changed and written back with a compare-and-set on that one
// field, so writes to other vehicles never conflict with it.
func (s *Store) SetUserID(ctx context.Context, id, userID string) error {
	if err := registry.CheckID(id); err != nil {
		return err
	}
	if userID == "" {
		return fmt.Errorf("set user id %s: empty user id", id)
	}
	for range casRetries {
		cur, err := s.rdb.HGet(ctx, s.vehiclesKey(), id).Result()
		if errors.Is(err, redis.Nil) {
			return fmt.Errorf("set user id %s: %w", id, registry.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("set user id %s: %w", id, err)
		}
		v, err := decodeVehicle(id, cur, "")
		if err != nil {
			return fmt.Errorf("set user id: %w", err)
		}
		if v.UserID == userID {
			return nil
		}
		v.UserID = userID
		reg, err := encodeRegistration(v)
		if err != nil {
			return err
		}
		n, err := casFieldScript.Run(ctx, s.rdb, []string{s.vehiclesKey()}, id, cur, reg).Int64()
		switch {
		case err != nil:
			return fmt.Errorf("set user id %s: %w", id, err)
		case n == 1:
			return nil
		case n < 0:
			return fmt.Errorf("set user id %s: %w", id, registry.ErrNotFound)
		}
	}
	return fmt.Errorf("set user id %s: %w", id, registry.ErrConflict)
}

// casRetries bounds the compare-and-set rounds of one write.
const casRetries = 10

// TouchPoll records the vehicle's last poll, never moving it back.
func (s *Store) TouchPoll(ctx context.Context, id string, t time.Time) error {
	if t.IsZero() {
		return s.setState(ctx, "touch poll", id, "poll", "")
	}
	return s.setState(ctx, "touch poll", id, "poll", formatPoll(t))
}

var setHoldScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) <= cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[1])
return 1`)

// SetHold extends the vehicle's hold to until; the key expires then.
func (s *Store) SetHold(ctx context.Context, id string, until time.Time) error {
	if err := registry.CheckID(id); err != nil {
		return err
	}
	ms := registry.HoldMillis(until)
	if ms <= time.Now().UnixMilli() {
		return nil // already over: nothing to hold
	}
	if err := setHoldScript.Run(ctx, s.rdb, []string{s.holdKey(id)}, ms).Err(); err != nil {
		return fmt.Errorf("set hold %s: %w", id, err)
	}
	return nil
}

// Hold returns the end of the vehicle's hold, zero when there is none.
func (s *Store) Hold(ctx context.Context, id string) (time.Time, error) {
	if err := registry.CheckID(id); err != nil {
		return time.Time{}, err
	}
	v, err := s.rdb.Get(ctx, s.holdKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("get hold %s: %w", id, err)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("get hold %s: %w", id, registry.ErrMalformed)
	}
	return registry.HoldEnd(ms), nil
}

// touchWebhookScript sets the field only if the new time is later.
var touchWebhookScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and tonumber(cur) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`)

// TouchWebhook records a webhook from the vehicle at t; an older t is ignored.
func (s *Store) TouchWebhook(ctx context.Context, vehicleID string, t time.Time) error {
	if err := registry.CheckID(vehicleID); err != nil {
		return err
	}
	if err := touchWebhookScript.Run(ctx, s.rdb, []string{s.webhooksKey()}, vehicleID, t.UnixNano()).Err(); err != nil {
		return fmt.Errorf("touch webhook: %w", err)
	}
	return nil
}

// LastWebhooks returns each vehicle's last webhook time.
func (s *Store) LastWebhooks(ctx context.Context) (map[string]time.Time, error) {
	m, err := s.rdb.HGetAll(ctx, s.webhooksKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("last webhooks: %w", err)
	}
	out := make(map[string]time.Time, len(m))
	for id, v := range m {
		ns, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue // not ours: ignore rather than fail a firing
		}
		out[id] = time.Unix(0, ns).UTC()
	}
	return out, nil
}
