package registry

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// LocalLeases returns s with its poll leases kept in this process's memory
// instead of the store: StartPoll takes the lease in memory, then reads the
// vehicle (GetVehicle) and its hold (Hold) from s; everything else is s's.
// Use it only where this process is the only one polling the vehicles of s:
// the daemon on the embedded KV store, which holds a lock that keeps other
// replicas out (the data_dir lock, or the one-replica lock in
// <PREFIX>_REPLICA). There a lease in the store would cost round trips and
// guard against nobody; with the KV store's mirror StartPoll then costs no
// round trip at all.
func LocalLeases(s Store) Store {
	return &localLeases{Store: s, held: make(map[string]localLease)}
}

type localLeases struct {
	Store

	mu   sync.Mutex
	next uint64
	held map[string]localLease // vehicle id → lease
}

type localLease struct {
	owner   uint64
	expires time.Time
}

// StartPoll takes the lease in memory and reads the vehicle and its hold.
func (l *localLeases) StartPoll(ctx context.Context, vehicleID string, ttl time.Duration) (PollStart, error) {
	if err := CheckID(vehicleID); err != nil {
		return PollStart{}, err
	}
	if ttl < time.Millisecond {
		return PollStart{}, fmt.Errorf("start poll %s: ttl %v below 1ms", vehicleID, ttl)
	}
	unlock, err := l.take(vehicleID, ttl)
	if err != nil {
		return PollStart{}, err
	}
	v, err := l.GetVehicle(ctx, vehicleID)
	if err != nil {
		_ = unlock(ctx)
		return PollStart{}, fmt.Errorf("start poll: %w", err)
	}
	hold, err := l.Hold(ctx, vehicleID)
	if err != nil {
		_ = unlock(ctx)
		return PollStart{}, fmt.Errorf("start poll: %w", err)
	}
	return PollStart{Unlock: unlock, Hold: hold, Vehicle: v}, nil
}

// take takes the vehicle's lease unless a live one is held.
func (l *localLeases) take(id string, ttl time.Duration) (func(context.Context) error, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if cur, ok := l.held[id]; ok && now.Before(cur.expires) {
		return nil, fmt.Errorf("start poll %s: %w", id, ErrLeased)
	}
	l.next++
	owner := l.next
	l.held[id] = localLease{owner: owner, expires: now.Add(ttl)}
	return func(context.Context) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		cur, ok := l.held[id]
		if !ok || cur.owner != owner {
			return fmt.Errorf("release poll lease %s: %w", id, ErrLeaseLost)
		}
		delete(l.held, id)
		return nil
	}, nil
}
