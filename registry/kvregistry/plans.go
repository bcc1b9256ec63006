package kvregistry

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
	"github.com/smartcar-poller/smartcar-poller/registry"
)

// PlanBuckets returns the names of the plans and calls buckets for prefix.
func PlanBuckets(prefix string) (plans, calls string) {
	return kvbucket.Name(prefix, "PLANS"), kvbucket.Name(prefix, "CALLS")
}

// encodePlan is a plan's value: its due time (Unix ms, 8 bytes big-endian),
// then its state.
func encodePlan(dueMs int64, state []byte) []byte {
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(state)), uint64(dueMs)), state...)
}

// decodePlan splits a plan's value; ok is false when it is not one.
func decodePlan(b []byte) (dueMs int64, state []byte, ok bool) {
	if len(b) < 8 {
		return 0, nil, false
	}
	return int64(binary.BigEndian.Uint64(b)), b[8:], true
}

func checkPlanArgs(schedule, vehicleID string) error {
	if err := registry.CheckSchedule(schedule); err != nil {
		return err
	}
	return registry.CheckID(vehicleID)
}

// AddPlan creates the vehicle's plan key (kv.Create) with no state: it
// reports false when the key exists.
func (s *Store) AddPlan(ctx context.Context, schedule, vehicleID string, due time.Time) (bool, error) {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return false, err
	}
	ms := due.UnixMilli()
	rev, err := s.plans.Create(ctx, planKey(schedule, vehicleID), encodePlan(ms, nil))
	if kvbucket.IsRevisionMismatch(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("add plan %s/%s: %w", schedule, vehicleID, err)
	}
	s.mirrors.plans.setDue(schedule, vehicleID, ms, rev)
	return true, nil
}

// SetPlan writes the plan's key: state and due time at once.
func (s *Store) SetPlan(ctx context.Context, schedule, vehicleID string, p registry.Plan) error {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return err
	}
	ms := p.Due.UnixMilli()
	rev, err := s.plans.Put(ctx, planKey(schedule, vehicleID), encodePlan(ms, p.State))
	if err != nil {
		return fmt.Errorf("set plan %s/%s: %w", schedule, vehicleID, err)
	}
	s.mirrors.plans.setDue(schedule, vehicleID, ms, rev)
	return nil
}

// GetPlan reads the plan's key from the server.
func (s *Store) GetPlan(ctx context.Context, schedule, vehicleID string) (registry.Plan, error) {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return registry.Plan{}, err
	}
	e, err := s.plans.Get(ctx, planKey(schedule, vehicleID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return registry.Plan{}, fmt.Errorf("get plan %s/%s: %w", schedule, vehicleID, registry.ErrNotFound)
	}
	if err != nil {
		return registry.Plan{}, fmt.Errorf("get plan %s/%s: %w", schedule, vehicleID, err)
	}
	ms, state, ok := decodePlan(e.Value())
	if !ok {
		return registry.Plan{}, fmt.Errorf("get plan %s/%s: %w", schedule, vehicleID, registry.ErrMalformed)
	}
	p := registry.Plan{Due: registry.PlanTime(ms)}
	if len(state) > 0 {
		p.State = state
	}
	return p, nil
}

// UpdatePlan reads the plan's key, calls fn and writes its result with
// kv.Update on the revision it read: any other write to the key (SetPlan, a
// ClaimDue's lease, DeletePlan's delete marker) moves its revision on, and
// the update reads again.
func (s *Store) UpdatePlan(ctx context.Context, schedule, vehicleID string, fn func(registry.Plan) (registry.Plan, error)) error {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return err
	}
	key := planKey(schedule, vehicleID)
	for range kvbucket.CASRetries {
		e, err := s.plans.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return fmt.Errorf("update plan %s/%s: %w", schedule, vehicleID, registry.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("update plan %s/%s: %w", schedule, vehicleID, err)
		}
		ms, state, ok := decodePlan(e.Value())
		if !ok {
			return fmt.Errorf("update plan %s/%s: %w", schedule, vehicleID, registry.ErrMalformed)
		}
		p := registry.Plan{Due: registry.PlanTime(ms)}
		if len(state) > 0 {
			p.State = state
		}
		next, err := fn(p)
		if errors.Is(err, registry.ErrSkip) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("update plan %s/%s: %w", schedule, vehicleID, err)
		}
		ms = next.Due.UnixMilli()
		rev, err := s.plans.Update(ctx, key, encodePlan(ms, next.State), e.Revision())
		if kvbucket.IsRevisionMismatch(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("update plan %s/%s: %w", schedule, vehicleID, err)
		}
		s.mirrors.plans.setDue(schedule, vehicleID, ms, rev)
		return nil
	}
	return fmt.Errorf("update plan %s/%s: %w", schedule, vehicleID, registry.ErrConflict)
}

// DeletePlan deletes the plan's key.
func (s *Store) DeletePlan(ctx context.Context, schedule, vehicleID string) error {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return err
	}
	if err := s.plans.Delete(ctx, planKey(schedule, vehicleID)); err != nil {
		return fmt.Errorf("delete plan %s/%s: %w", schedule, vehicleID, err)
	}
	s.mirrors.plans.remove(schedule, vehicleID, 0)
	return nil
}

// deletePlansAndCalls deletes every plan key of the vehicle (found by the
// subject filter <id>.*) and its calls key.
func (s *Store) deletePlansAndCalls(ctx context.Context, id string) error {
	keys, err := listKeys(ctx, s.plans, kvbucket.Key(id)+".*")
	if err != nil {
		return err
	}
	for _, key := range keys {
		if err := s.plans.Delete(ctx, key); err != nil {
			return err
		}
		if schedule, vid, ok := parsePlanKey(key); ok {
			s.mirrors.plans.remove(schedule, vid, 0)
		}
	}
	if _, err := s.calls.Get(ctx, kvbucket.Key(id)); errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	return s.calls.Delete(ctx, kvbucket.Key(id))
}

// listKeys returns the keys of kv matching filter (one subject filter, which
// nats-server 2.9 accepts).
func listKeys(ctx context.Context, kv jetstream.KeyValue, filter string) ([]string, error) {
	l, err := kv.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("list keys %s: %w", filter, err)
	}
	defer func() { _ = l.Stop() }()
	var keys []string
	for k := range l.Keys() {
		keys = append(keys, k)
	}
	return keys, nil
}

// claimWriters bounds the concurrent compare-and-set writes of one claim.
const claimWriters = 16

// ClaimDue picks the due vehicles from the in-memory index when the mirror
// is loaded (moving them to now+lease there at once, so concurrent claims
// in this process get others), otherwise from a scan of the schedule's plan
// keys (a KV watch of *.<schedule>: a CLI's path, whose cost grows with the
// schedule). Each pick's plan key is then rewritten with the new due time
// (read, then compare-and-set on the revision the pick saw, up to
// claimWriters at once): one another writer changed in between is left
// out, so no two claims anywhere return the same vehicle within a lease.
func (s *Store) ClaimDue(ctx context.Context, schedule string, now time.Time, lease time.Duration, limit int) ([]string, error) {
	if err := registry.CheckSchedule(schedule); err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	nowMs, endMs := now.UnixMilli(), now.Add(lease).UnixMilli()
	picks, ok := s.mirrors.plans.claim(schedule, nowMs, endMs, limit)
	if !ok {
		var err error
		if picks, err = s.scanDue(ctx, schedule, nowMs, limit); err != nil {
			return nil, fmt.Errorf("claim due %s: %w", schedule, err)
		}
	}
	won := make([]bool, len(picks))
	errs := make([]error, len(picks))
	var g errgroup.Group // one failed write must not cancel the others: their claims stand
	g.SetLimit(claimWriters)
	for i, p := range picks {
		g.Go(func() error {
			won[i], errs[i] = s.lease(ctx, schedule, p, endMs)
			return nil
		})
	}
	_ = g.Wait()
	out := make([]string, 0, len(picks))
	for i, p := range picks {
		if won[i] && errs[i] == nil {
			out = append(out, p.id)
		}
	}
	// A pick whose write failed comes back when its lease ends (it moved in
	// memory); the others are claimed and returned with the error.
	if err := errors.Join(errs...); err != nil {
		return out, fmt.Errorf("claim due %s: %w", schedule, err)
	}
	return out, nil
}

// lease rewrites a pick's plan with due time endMs if it is still at the
// revision the pick saw; false when another writer changed it since (the
// watch brings that write to the index).
func (s *Store) lease(ctx context.Context, schedule string, p claimed, endMs int64) (bool, error) {
	key := planKey(schedule, p.id)
	val := p.val
	if val == nil {
		e, err := s.plans.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if e.Revision() != p.rev {
			return false, nil
		}
		val = e.Value()
	}
	_, state, ok := decodePlan(val)
	if !ok {
		return false, nil
	}
	rev, err := s.plans.Update(ctx, key, encodePlan(endMs, state), p.rev)
	if kvbucket.IsRevisionMismatch(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	s.mirrors.plans.setDue(schedule, p.id, endMs, rev)
	return true, nil
}

// scanDue reads the schedule's plan keys and returns up to limit of those
// due at or before now, earliest first.
func (s *Store) scanDue(ctx context.Context, schedule string, now int64, limit int) ([]claimed, error) {
	w, err := s.plans.Watch(ctx, "*."+schedule)
	if err != nil {
		return nil, err
	}
	defer kvbucket.StopWatch(w)
	type pick struct {
		claimed
		due int64
	}
	var due []pick
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("watch closed")
			}
			if e == nil { // all values read
				slices.SortFunc(due, func(a, b pick) int { return cmp.Or(cmp.Compare(a.due, b.due), cmp.Compare(a.id, b.id)) })
				out := make([]claimed, 0, min(limit, len(due)))
				for _, p := range due[:min(limit, len(due))] {
					out = append(out, p.claimed)
				}
				return out, nil
			}
			if e.Operation() != jetstream.KeyValuePut {
				continue
			}
			_, id, ok := parsePlanKey(e.Key())
			ms, _, valid := decodePlan(e.Value())
			if ok && valid && ms <= now {
				due = append(due, pick{claimed{id: id, rev: e.Revision(), val: e.Value()}, ms})
			}
		}
	}
}

// callsMonths is how many months' counts a vehicle's calls key keeps:
// the latest ones written.
const callsMonths = 2

// AddCalls adds n to the month's count in the vehicle's calls key with a
// compare-and-set.
func (s *Store) AddCalls(ctx context.Context, vehicleID string, at time.Time, n int) (int, error) {
	if err := registry.CheckID(vehicleID); err != nil {
		return 0, err
	}
	key, month := kvbucket.Key(vehicleID), registry.BillingMonth(at)
	for range kvbucket.CASRetries {
		counts, rev, err := s.readCalls(ctx, key)
		if err != nil {
			return 0, fmt.Errorf("add calls %s: %w", vehicleID, err)
		}
		total := counts.add(month, n)
		if rev == 0 {
			_, err = s.calls.Create(ctx, key, counts.encode())
		} else {
			_, err = s.calls.Update(ctx, key, counts.encode(), rev)
		}
		if err == nil {
			return total, nil
		}
		if !kvbucket.IsRevisionMismatch(err) {
			return 0, fmt.Errorf("add calls %s: %w", vehicleID, err)
		}
	}
	return 0, fmt.Errorf("add calls %s: %w", vehicleID, registry.ErrConflict)
}

// Calls reads the month's count from the vehicle's calls key.
func (s *Store) Calls(ctx context.Context, vehicleID string, at time.Time) (int, error) {
	if err := registry.CheckID(vehicleID); err != nil {
		return 0, err
	}
	counts, _, err := s.readCalls(ctx, kvbucket.Key(vehicleID))
	if err != nil {
		return 0, fmt.Errorf("calls %s: %w", vehicleID, err)
	}
	return counts.get(registry.BillingMonth(at)), nil
}

// readCalls reads a calls key: its counts and revision, none and 0 when
// absent.
func (s *Store) readCalls(ctx context.Context, key string) (monthCounts, uint64, error) {
	e, err := s.calls.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	c, err := parseMonthCounts(string(e.Value()))
	return c, e.Revision(), err
}

// monthCounts are a calls key's counts, latest month first; stored as
// "YYYY-MM=n,YYYY-MM=n".
type monthCounts []monthCount

type monthCount struct {
	month string
	n     int
}

func parseMonthCounts(v string) (monthCounts, error) {
	var c monthCounts
	for f := range strings.SplitSeq(v, ",") {
		m, n, ok := strings.Cut(f, "=")
		k, err := strconv.Atoi(n)
		if !ok || err != nil {
			return nil, registry.ErrMalformed
		}
		c = append(c, monthCount{m, k})
	}
	return c, nil
}

func (c monthCounts) encode() []byte {
	var b []byte
	for i, m := range c {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(append(append(b, m.month...), '='), int64(m.n), 10)
	}
	return b
}

func (c monthCounts) get(month string) int {
	for _, m := range c {
		if m.month == month {
			return m.n
		}
	}
	return 0
}

// add adds n to month's count and returns it; it keeps the callsMonths
// latest months (a count older than those is returned but not kept).
func (c *monthCounts) add(month string, n int) int {
	for i := range *c {
		if (*c)[i].month == month {
			(*c)[i].n += n
			return (*c)[i].n
		}
	}
	*c = append(*c, monthCount{month, n})
	slices.SortFunc(*c, func(a, b monthCount) int { return strings.Compare(b.month, a.month) })
	*c = (*c)[:min(len(*c), callsMonths)]
	return n
}
