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

// PollStarter is a Leases that also reads what a poll needs before it calls
// Smartcar, in the same call: it takes the vehicle's poll lease (the lock
// Lock(tokens.PollLeaseKey(vehicleID), ttl) would take) and returns it with
// the vehicle's Retry-After hold and registry entry, or an error wrapping
// tokens.ErrLocked (lease busy) or tokens.ErrNotFound (unknown vehicle, no
// lease kept). A tokens.Store is one: on Redis that is one round trip where
// Lock, Registry.Hold and Tokens.AccessToken make three. When Deps.Leases
// is a PollStarter, its holds must be the Registry's (the same store).
type PollStarter interface {
	StartPoll(ctx context.Context, vehicleID string, ttl time.Duration) (tokens.PollStart, error)
}

// VehicleTokens is a Tokens that hands out the access token of a vehicle
// already read (*tokens.Manager): the worker uses it with a PollStarter's
// vehicle, so the token costs no second read of the vehicle.
type VehicleTokens interface {
	VehicleToken(ctx context.Context, v tokens.Vehicle) (string, error)
}

var errLeased = errors.New("another replica is polling the vehicle")

// lease takes the vehicle's poll lease so no other replica calls Smartcar for
// it until this poll is done. It returns a context that ends before the lease
// expires (so no call of ours outlives it) and the release function. When
// another replica holds the lease, the job is snoozed for LeaseBusy plus
// jitter: waiting for it would tie up a worker slot.
//
// When Leases is a PollStarter, lease also returns the vehicle and its hold,
// read with the lease (nil otherwise), and drops the job of an unknown
// vehicle.
func (w *Worker) lease(ctx context.Context, vehicleID string) (context.Context, func(), *tokens.PollStart, error) {
	if w.deps.Leases == nil {
		return ctx, func() {}, nil, nil
	}
	var (
		unlock func(context.Context) error
		start  *tokens.PollStart
		err    error
	)
	if ps, ok := w.deps.Leases.(PollStarter); ok {
		var p tokens.PollStart
		if p, err = ps.StartPoll(ctx, vehicleID, w.cfg.LeaseTTL); err == nil {
			unlock, start = p.Unlock, &p
		}
	} else {
		unlock, err = w.deps.Leases.Lock(ctx, tokens.PollLeaseKey(vehicleID), w.cfg.LeaseTTL)
	}
	switch {
	case errors.Is(err, tokens.ErrLocked):
		w.st.leaseBusy.Add(1)
		return nil, nil, nil, queue.Snooze(w.busySnooze(), errLeased)
	case errors.Is(err, tokens.ErrNotFound):
		// Removed since the job was enqueued (only StartPoll reads the vehicle).
		return nil, nil, nil, queue.Drop(fmt.Errorf("start poll: %w", err))
	case err != nil:
		return nil, nil, nil, fmt.Errorf("take poll lease: %w", err)
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
	}, start, nil
}

// busySnooze is how long a job waits when the vehicle's lease is taken or
// the rate limiter has no slot soon: LeaseBusy plus jitter of up to as much
// again, so the jobs that met the same obstacle come back spread out.
func (w *Worker) busySnooze() time.Duration { return w.cfg.LeaseBusy + rand.N(w.cfg.LeaseBusy) }

// accessToken returns the vehicle's access token: for the vehicle StartPoll
// read (start non-nil) when Tokens can take it, else by the vehicle's id.
func (w *Worker) accessToken(ctx context.Context, vehicleID string, start *tokens.PollStart) (string, error) {
	if vt, ok := w.deps.Tokens.(VehicleTokens); ok && start != nil {
		return vt.VehicleToken(ctx, start.Vehicle)
	}
	return w.deps.Tokens.AccessToken(ctx, vehicleID)
}
