package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// Leases takes short leases that every replica sees (a tokens.Store). Lock
// returns an error wrapping tokens.ErrLocked when someone else holds key.
type Leases interface {
	Lock(ctx context.Context, key string, ttl time.Duration) (unlock func(context.Context) error, err error)
}

var errLeased = errors.New("another replica is polling the vehicle")

// leaseKey is the store key of a vehicle's poll lease.
func leaseKey(vehicleID string) string { return "poll:" + vehicleID }

// lease takes the vehicle's poll lease so no other replica calls Smartcar for
// it until this poll is done. It returns a context that ends before the lease
// expires (so no call of ours outlives it) and the release function. When
// another replica holds the lease, the job is snoozed for LeaseBusy plus
// jitter: waiting for it would tie up a worker slot.
func (w *Worker) lease(ctx context.Context, vehicleID string) (context.Context, func(), error) {
	if w.deps.Leases == nil {
		return ctx, func() {}, nil
	}
	unlock, err := w.deps.Leases.Lock(ctx, leaseKey(vehicleID), w.cfg.LeaseTTL)
	if errors.Is(err, tokens.ErrLocked) {
		w.st.leaseBusy.Add(1)
		return nil, nil, queue.Snooze(w.cfg.LeaseBusy+rand.N(w.cfg.LeaseBusy), errLeased)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("take poll lease: %w", err)
	}
	// Stop our own calls a margin before the lease can expire under us.
	lctx, cancel := context.WithTimeout(ctx, w.cfg.LeaseTTL-w.cfg.LeaseTTL/10)
	return lctx, func() {
		cancel()
		// Release even when the job's context is gone: otherwise the vehicle
		// waits out the TTL.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if err := unlock(rctx); err != nil {
			w.log.WarnContext(ctx, "release poll lease", "vehicle_id", vehicleID, "err", err)
		}
	}, nil
}
