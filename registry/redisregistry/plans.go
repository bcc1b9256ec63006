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
	var due *redis.FloatCmd
	var state *redis.StringCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		due = p.ZScore(ctx, s.dueKey(schedule), vehicleID)
		state = p.HGet(ctx, s.plansKey(schedule), vehicleID)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return registry.Plan{}, fmt.Errorf("get plan %s/%s: %w", schedule, vehicleID, err)
	}
	if errors.Is(due.Err(), redis.Nil) {
		return registry.Plan{}, fmt.Errorf("get plan %s/%s: %w", schedule, vehicleID, registry.ErrNotFound)
	}
	p := registry.Plan{Due: registry.PlanTime(int64(due.Val()))}
	if state.Err() == nil && state.Val() != "" {
		p.State = []byte(state.Val())
	}
	return p, nil
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
