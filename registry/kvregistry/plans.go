package kvregistry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
	"github.com/smartcar-poller/smartcar-poller/registry"
)

// PlanBuckets returns the names of the due and plans buckets for prefix.
func PlanBuckets(prefix string) (due, plans string) {
	return kvbucket.Name(prefix, "PLAN_DUE"), kvbucket.Name(prefix, "PLANS")
}

func stateKey(schedule, vehicleID string) string {
	return "state." + kvbucket.Key(vehicleID) + "." + schedule
}

func callsKey(vehicleID string, at time.Time) string {
	return "calls." + kvbucket.Key(vehicleID) + "." + registry.BillingMonth(at)
}

func formatMillis(ms int64) []byte { return strconv.AppendInt(nil, ms, 10) }

func checkPlanArgs(schedule, vehicleID string) error {
	if err := registry.CheckSchedule(schedule); err != nil {
		return err
	}
	return registry.CheckID(vehicleID)
}

// AddPlan creates the vehicle's due key (kv.Create): it reports false when
// the key exists.
func (s *Store) AddPlan(ctx context.Context, schedule, vehicleID string, due time.Time) (bool, error) {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return false, err
	}
	ms := due.UnixMilli()
	rev, err := s.due.Create(ctx, dueKey(schedule, vehicleID), formatMillis(ms))
	if kvbucket.IsRevisionMismatch(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("add plan %s/%s: %w", schedule, vehicleID, err)
	}
	s.mirrors.plans.setDue(schedule, vehicleID, ms, rev)
	return true, nil
}

// SetPlan writes the state, then the due time: a process that stops in
// between leaves the new state with the old due time (a lease's end, when
// the plan was claimed), so the vehicle comes back then.
func (s *Store) SetPlan(ctx context.Context, schedule, vehicleID string, p registry.Plan) error {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return err
	}
	if _, err := s.plans.Put(ctx, stateKey(schedule, vehicleID), p.State); err != nil {
		return fmt.Errorf("set plan %s/%s: state: %w", schedule, vehicleID, err)
	}
	ms := p.Due.UnixMilli()
	rev, err := s.due.Put(ctx, dueKey(schedule, vehicleID), formatMillis(ms))
	if err != nil {
		return fmt.Errorf("set plan %s/%s: due: %w", schedule, vehicleID, err)
	}
	s.mirrors.plans.setDue(schedule, vehicleID, ms, rev)
	return nil
}

// GetPlan reads the due key and the state key from the server.
func (s *Store) GetPlan(ctx context.Context, schedule, vehicleID string) (registry.Plan, error) {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return registry.Plan{}, err
	}
	e, err := s.due.Get(ctx, dueKey(schedule, vehicleID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return registry.Plan{}, fmt.Errorf("get plan %s/%s: %w", schedule, vehicleID, registry.ErrNotFound)
	}
	if err != nil {
		return registry.Plan{}, fmt.Errorf("get plan %s/%s: %w", schedule, vehicleID, err)
	}
	ms, err := strconv.ParseInt(string(e.Value()), 10, 64)
	if err != nil {
		return registry.Plan{}, fmt.Errorf("get plan %s/%s: due: %w", schedule, vehicleID, registry.ErrMalformed)
	}
	p := registry.Plan{Due: registry.PlanTime(ms)}
	st, err := s.plans.Get(ctx, stateKey(schedule, vehicleID))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
	case err != nil:
		return registry.Plan{}, fmt.Errorf("get plan %s/%s: state: %w", schedule, vehicleID, err)
	case len(st.Value()) > 0:
		p.State = st.Value()
	}
	return p, nil
}

// DeletePlan deletes the due key, then the state key.
func (s *Store) DeletePlan(ctx context.Context, schedule, vehicleID string) error {
	if err := checkPlanArgs(schedule, vehicleID); err != nil {
		return err
	}
	if err := s.due.Delete(ctx, dueKey(schedule, vehicleID)); err != nil {
		return fmt.Errorf("delete plan %s/%s: %w", schedule, vehicleID, err)
	}
	s.mirrors.plans.remove(schedule, vehicleID, 0)
	if err := s.plans.Delete(ctx, stateKey(schedule, vehicleID)); err != nil {
		return fmt.Errorf("delete plan %s/%s: state: %w", schedule, vehicleID, err)
	}
	return nil
}

// deletePlansAndCalls deletes every due, state and calls key of the
// vehicle, found by their subjects (<id>.* in the due bucket, *.<id>.* in
// the plans bucket).
func (s *Store) deletePlansAndCalls(ctx context.Context, id string) error {
	k := kvbucket.Key(id)
	for _, b := range []struct {
		kv     jetstream.KeyValue
		filter string
		due    bool
	}{{s.due, k + ".*", true}, {s.plans, "*." + k + ".*", false}} {
		keys, err := listKeys(ctx, b.kv, b.filter)
		if err != nil {
			return err
		}
		for _, key := range keys {
			if err := b.kv.Delete(ctx, key); err != nil {
				return err
			}
			if schedule, vid, ok := parseDueKey(key); ok && b.due {
				s.mirrors.plans.remove(schedule, vid, 0)
			}
		}
	}
	return nil
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

// ClaimDue picks the due vehicles from the in-memory index when the mirror
// is loaded (moving them to now+lease there at once, so concurrent claims
// in this process get others), otherwise from a scan of the schedule's due
// keys (a KV watch of *.<schedule>: a CLI's path, whose cost grows with the
// schedule). Each pick is then written with a compare-and-set on its due
// key: one another writer changed in between is left out, so no two claims
// anywhere return the same vehicle within a lease.
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
	val := formatMillis(endMs)
	out := make([]string, 0, len(picks))
	for _, p := range picks {
		rev, err := s.due.Update(ctx, dueKey(schedule, p.id), val, p.rev)
		if kvbucket.IsRevisionMismatch(err) {
			continue // written by someone else since: the watch brings it
		}
		if err != nil {
			// The picks moved in memory come back when the lease ends.
			return nil, fmt.Errorf("claim due %s: %w", schedule, err)
		}
		s.mirrors.plans.setDue(schedule, p.id, endMs, rev)
		out = append(out, p.id)
	}
	return out, nil
}

// scanDue reads the schedule's due keys and returns up to limit of those due
// at or before now, earliest first.
func (s *Store) scanDue(ctx context.Context, schedule string, now int64, limit int) ([]claimed, error) {
	w, err := s.due.Watch(ctx, "*."+schedule)
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
			_, id, ok := parseDueKey(e.Key())
			ms, err := strconv.ParseInt(string(e.Value()), 10, 64)
			if ok && err == nil && ms <= now {
				due = append(due, pick{claimed{id: id, rev: e.Revision()}, ms})
			}
		}
	}
}

// AddCalls adds n to the vehicle's calls key of the month with a
// compare-and-set.
func (s *Store) AddCalls(ctx context.Context, vehicleID string, at time.Time, n int) (int, error) {
	if err := registry.CheckID(vehicleID); err != nil {
		return 0, err
	}
	key := callsKey(vehicleID, at)
	for range kvbucket.CASRetries {
		cur, rev, err := s.calls(ctx, key)
		if err != nil {
			return 0, fmt.Errorf("add calls %s: %w", vehicleID, err)
		}
		val := []byte(strconv.Itoa(cur + n))
		if rev == 0 {
			_, err = s.plans.Create(ctx, key, val)
		} else {
			_, err = s.plans.Update(ctx, key, val, rev)
		}
		if err == nil {
			return cur + n, nil
		}
		if !kvbucket.IsRevisionMismatch(err) {
			return 0, fmt.Errorf("add calls %s: %w", vehicleID, err)
		}
	}
	return 0, fmt.Errorf("add calls %s: %w", vehicleID, registry.ErrConflict)
}

// Calls reads the vehicle's calls key of the month.
func (s *Store) Calls(ctx context.Context, vehicleID string, at time.Time) (int, error) {
	if err := registry.CheckID(vehicleID); err != nil {
		return 0, err
	}
	n, _, err := s.calls(ctx, callsKey(vehicleID, at))
	if err != nil {
		return 0, fmt.Errorf("calls %s: %w", vehicleID, err)
	}
	return n, nil
}

// calls reads a calls key: its count and revision, 0 and 0 when absent.
func (s *Store) calls(ctx context.Context, key string) (int, uint64, error) {
	e, err := s.plans.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	n, err := strconv.Atoi(string(e.Value()))
	if err != nil {
		return 0, 0, registry.ErrMalformed
	}
	return n, e.Revision(), nil
}
