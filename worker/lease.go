package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
)

var errLeased = errors.New("another replica is polling the vehicle")

// startPoll takes the vehicle's poll lease so no other replica calls
// Smartcar for it until this poll is done, and with it the vehicle's hold
// and registry entry (Registry.StartPoll: one round trip on Redis, none on
// the daemon's embedded store). It returns a context that ends before the
// lease expires (so no call of ours outlives it), what StartPoll read, and
// the release. When another replica holds the lease, the job is snoozed for
// LeaseBusy plus jitter (waiting for it would tie up a worker slot); the job
// of a vehicle removed since it was enqueued is dropped.
func (w *Worker) startPoll(ctx context.Context, vehicleID string) (context.Context, registry.PollStart, func(), error) {
	start, err := w.deps.Registry.StartPoll(ctx, vehicleID, w.cfg.LeaseTTL)
	switch {
	case errors.Is(err, registry.ErrLeased):
		w.st.leaseBusy.Add(1)
		return nil, start, nil, queue.Snooze(w.busySnooze(), errLeased)
	case errors.Is(err, registry.ErrNotFound):
		return nil, start, nil, queue.Drop(fmt.Errorf("start poll: %w", err))
	case err != nil:
		return nil, start, nil, fmt.Errorf("start poll: %w", err)
	}
	// Stop our own calls a margin before the lease can expire under us.
	lctx, cancel := context.WithTimeout(ctx, w.cfg.LeaseTTL-w.cfg.LeaseTTL/10)
	return lctx, start, func() {
		cancel()
		// Release even when the job's context is gone: otherwise the vehicle
		// waits out the TTL.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if err := start.Unlock(rctx); err != nil {
			w.log.WarnContext(ctx, "release poll lease", "vehicle_id", vehicleID, "err", err)
		}
	}, nil
}

// busySnooze is how long a job waits when the vehicle's lease is taken or
// the rate limiter has no slot soon: LeaseBusy plus jitter of up to as much
// again, so the jobs that met the same obstacle come back spread out.
func (w *Worker) busySnooze() time.Duration { return w.cfg.LeaseBusy + rand.N(w.cfg.LeaseBusy) }
