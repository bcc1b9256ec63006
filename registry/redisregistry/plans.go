package redisregistry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/registry"
)

// callsTTL keeps a month's call counts for this long after its last count:
// past the end of the month, with room for a late reader.
const callsTTL = 70 * 24 * time.Hour

func (s *Store) dueKey(schedule string) string   { return s.prefix + "due:" + schedule }
func (s *Store) plansKey(schedule string) string { return s.prefix + "plans:" + schedule }
func (s *Store) schedulesKey() string            { return s.prefix + "plan_schedules" }
func (s *Store) callsKey(month string) string    { return s.prefix + "calls:" + month }
func (s *Store) callMonthsKey() string           { return s.prefix + "call_months" }

func checkPlanArgs(schedule, vehicleID string) error {
	if err := registry.CheckSchedule(schedule); err != nil {
		return err
	}
	return registry.CheckID(vehicleID)
}

// AddPlan is one ZADD NX (and an SADD of the schedule's name) in a MULTI.
func (s *Store) AddPlan(ctx context.Context, schedule, vehicleID string, due time.Time) (bool, error) {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return false, err
	}
	var n *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.ZAddNX(ctx, s.dueKey(schedule), redis.Z{Score: float64(due.UnixMilli()), Member: vehicleID})
		p.SAdd(ctx, s.schedulesKey(), schedule)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("add plan %s/%s: %w", schedule, vehicleID, err)
	}
	return n.Val() == 1, nil
}

// SetPlan writes the state and the due time in one MULTI.
func (s *Store) SetPlan(ctx context.Context, schedule, vehicleID string, p registry.Plan) error {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return err
	}
	_, err := s.rdb.TxPipelined(ctx, func(pl redis.Pipeliner) error {
		pl.HSet(ctx, s.plansKey(schedule), vehicleID, p.State)
		pl.ZAdd(ctx, s.dueKey(schedule), redis.Z{Score: float64(p.Due.UnixMilli()), Member: vehicleID})
		pl.SAdd(ctx, s.schedulesKey(), schedule)
		return nil
	})
	if err != nil {
		return fmt.Errorf("set plan %s/%s: %w", schedule, vehicleID, err)
	}
	return nil
}

// GetPlan reads the due time and the state in one MULTI.
func (s *Store) GetPlan(ctx context.Context, schedule, vehicleID string) (registry.Plan, error) {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return registry.Plan{}, err
	}
	dueMs, state, err := s.readPlan(ctx, schedule, vehicleID)
	if err != nil {
		return registry.Plan{}, fmt.Errorf("get plan %s/%s: %w", schedule, vehicleID, err)
	}
	return storedPlan(dueMs, state), nil
}

// readPlan reads a plan as stored: its due time in Unix ms and its state
// ("" for none), ErrNotFound when it is not in the due index.
func (s *Store) readPlan(ctx context.Context, schedule, vehicleID string) (int64, string, error) {
	var due *redis.FloatCmd
	var state *redis.StringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		due = p.ZScore(ctx, s.dueKey(schedule), vehicleID)
		state = p.HGet(ctx, s.plansKey(schedule), vehicleID)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, "", err
	}
	if errors.Is(due.Err(), redis.Nil) {
		return 0, "", registry.ErrNotFound
	}
	return int64(due.Val()), state.Val(), nil // a missing state reads as ""
}

func storedPlan(dueMs int64, state string) registry.Plan {
	p := registry.Plan{Due: registry.PlanTime(dueMs)}
	if state != "" {
		p.State = []byte(state)
	}
	return p
}

// updatePlanScript writes vehicle ARGV[1]'s plan (due time ARGV[4] in the
// due index KEYS[1], state ARGV[5] in the plans hash KEYS[2]) if it still
// has due time ARGV[2] and state ARGV[3] (a missing state is ""): 1 when
// written, 0 when it changed, -1 when it is gone.
var updatePlanScript = redis.NewScript(`
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due then return -1 end
if tonumber(due) ~= tonumber(ARGV[2]) then return 0 end
local st = redis.call('HGET', KEYS[2], ARGV[1]) or ''
if st ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1])
return 1`)

// UpdatePlan reads the plan, calls fn and writes its result with a Lua
// compare-and-set on the plan's content (due time and state): any other
// write to the plan (SetPlan, a ClaimDue's lease, DeletePlan) changes one
// or the other, or removes it. A plan that comes back to exactly what was
// read (deleted and added again at the same due time with no state) is
// taken as unchanged: fn decided from equal content.
func (s *Store) UpdatePlan(ctx context.Context, schedule, vehicleID string, fn func(registry.Plan) (registry.Plan, error)) error {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return err
	}
	for range casRetries {
		dueMs, state, err := s.readPlan(ctx, schedule, vehicleID)
		if err != nil {
			return fmt.Errorf("update plan %s/%s: %w", schedule, vehicleID, err)
		}
		next, err := fn(storedPlan(dueMs, state))
		if errors.Is(err, registry.ErrSkip) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("update plan %s/%s: %w", schedule, vehicleID, err)
		}
		n, err := updatePlanScript.Run(ctx, s.rdb, []string{s.dueKey(schedule), s.plansKey(schedule)},
			vehicleID, dueMs, state, next.Due.UnixMilli(), next.State).Int64()
		switch {
		case err != nil:
			return fmt.Errorf("update plan %s/%s: %w", schedule, vehicleID, err)
		case n == 1:
			return nil
		case n < 0:
			return fmt.Errorf("update plan %s/%s: %w", schedule, vehicleID, registry.ErrNotFound)
		}
	}
	return fmt.Errorf("update plan %s/%s: %w", schedule, vehicleID, registry.ErrConflict)
}

// DeletePlan removes the vehicle from the schedule's due index and plans.
func (s *Store) DeletePlan(ctx context.Context, schedule, vehicleID string) error {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return err
	}
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.ZRem(ctx, s.dueKey(schedule), vehicleID)
		p.HDel(ctx, s.plansKey(schedule), vehicleID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete plan %s/%s: %w", schedule, vehicleID, err)
	}
	return nil
}

// deletePlansAndCalls removes the vehicle from every schedule and every
// month's counts the store has seen (plan_schedules, call_months: a few
// names each), in one MULTI after reading the names.
func (s *Store) deletePlansAndCalls(ctx context.Context, p redis.Pipeliner, id string, schedules, months []string) {
	for _, sch := range schedules {
		p.ZRem(ctx, s.dueKey(sch), id)
		p.HDel(ctx, s.plansKey(sch), id)
	}
	for _, m := range months {
		p.HDel(ctx, s.callsKey(m), id)
	}
}

// planNames reads the names of the schedules and months that may hold a
// vehicle's plans and counts.
func (s *Store) planNames(ctx context.Context) (schedules, months []string, err error) {
	var sch, mon *redis.StringSliceCmd
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		sch = p.SMembers(ctx, s.schedulesKey())
		mon = p.SMembers(ctx, s.callMonthsKey())
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return sch.Val(), mon.Val(), nil
}

// claimDueScript returns up to ARGV[3] members of the due index KEYS[1]
// with a score at or before ARGV[1], lowest first, and moves each to score
// ARGV[2] (ZADD XX, in batches within Lua's unpack limit).
var claimDueScript = redis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local batch = {}
for i, id in ipairs(ids) do
  batch[#batch + 1] = ARGV[2]
  batch[#batch + 1] = id
  if #batch >= 1000 then
    redis.call('ZADD', KEYS[1], 'XX', unpack(batch))
    batch = {}
  end
end
if #batch > 0 then redis.call('ZADD', KEYS[1], 'XX', unpack(batch)) end
return ids`)

// ClaimDue is one Lua script: a ZRANGEBYSCORE with a LIMIT and a ZADD XX of
// the vehicles it returns to now+lease, atomic across replicas; its cost is
// O(log N + limit).
func (s *Store) ClaimDue(ctx context.Context, schedule string, now time.Time, lease time.Duration, limit int) ([]string, error) {
	if err := registry.CheckSchedule(schedule); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	ids, err := claimDueScript.Run(ctx, s.rdb, []string{s.dueKey(schedule)},
		now.UnixMilli(), now.Add(lease).UnixMilli(), limit).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("claim due %s: %w", schedule, err)
	}
	return ids, nil
}

// AddCalls is an HINCRBY of the vehicle's field in the month's hash, which
// expires callsTTL after its last count, in one MULTI.
func (s *Store) AddCalls(ctx context.Context, vehicleID string, at time.Time, n int) (int, error) {
	if err := registry.CheckID(vehicleID); err != nil {
		return 0, err
	}
	month := registry.BillingMonth(at)
	var total *redis.IntCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		total = p.HIncrBy(ctx, s.callsKey(month), vehicleID, int64(n))
		p.Expire(ctx, s.callsKey(month), callsTTL)
		p.SAdd(ctx, s.callMonthsKey(), month)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("add calls %s: %w", vehicleID, err)
	}
	return int(total.Val()), nil
}

// Calls reads the vehicle's field in the month's hash.
func (s *Store) Calls(ctx context.Context, vehicleID string, at time.Time) (int, error) {
	if err := registry.CheckID(vehicleID); err != nil {
		return 0, err
	}
	v, err := s.rdb.HGet(ctx, s.callsKey(registry.BillingMonth(at)), vehicleID).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("calls %s: %w", vehicleID, err)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("calls %s: %w", vehicleID, registry.ErrMalformed)
	}
	return n, nil
}
