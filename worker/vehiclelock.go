package worker

import (
	"context"
	"sync"
)

// vehicleLocks serializes the polls of one vehicle within a process: two jobs
// for the same vehicle (two schedules, a follow-up and a new tick) never call
// Smartcar at the same time, so a Retry-After one of them receives is seen by
// the other before it sends anything.
type vehicleLocks struct {
	mu   sync.Mutex
	busy map[string]chan struct{}
}

// lock waits until no other job of the process polls vehicleID and returns
// the function that lets the next one in.
func (l *vehicleLocks) lock(ctx context.Context, vehicleID string) (func(), error) {
	for {
		l.mu.Lock()
		if l.busy == nil {
			l.busy = make(map[string]chan struct{})
		}
		ch, held := l.busy[vehicleID]
		if !held {
			ch = make(chan struct{})
			l.busy[vehicleID] = ch
			l.mu.Unlock()
			return func() {
				l.mu.Lock()
				delete(l.busy, vehicleID)
				l.mu.Unlock()
				close(ch)
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
