package limiter

import "context"

// Waiter is a limiter that blocks until a call may go; *rate.Limiter and
// *Shared are Waiters.
type Waiter interface {
	Wait(ctx context.Context) error
}

// Chain waits on each limiter in turn: put the per-process *rate.Limiter
// first, so a process over the budget queues locally instead of asking Redis
// for every call, and Shared last, so the wait it returns ends right before
// the call.
type Chain []Waiter

// Wait waits on every limiter of the chain, in order.
func (c Chain) Wait(ctx context.Context) error {
	for _, l := range c {
		if err := l.Wait(ctx); err != nil {
			return err
		}
	}
	return nil
}
