package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"
)

// readinessTimeout bounds the server round trips of one readiness check.
const readinessTimeout = 2 * time.Second

// Ready checks NATS, the token store and, in the daemon, the job
// consumer: it must be pulling (not before Run started it, not after it
// stopped) and its durable consumer must answer (a deleted one does not,
// and nats-server 2.9 gives its pulls no error).
func (a *Daemon) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readinessTimeout)
	defer cancel()
	if a.nc == nil || !a.nc.IsConnected() {
		return errors.New("nats not connected")
	}
	if a.rdb != nil {
		if err := a.rdb.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	if a.worker == nil {
		return nil // connect, vehicles, tail: nothing consumes
	}
	if !a.queue.Stats().Consuming {
		return errors.New("job consumer not running")
	}
	if _, err := a.queue.Depth(ctx); err != nil {
		return fmt.Errorf("job consumer: %w", err)
	}
	if a.inbox != nil && !a.inbox.Stats().Consuming {
		return errors.New("webhook consumer not running")
	}
	return nil
}

// Run runs the scheduler, the workers, the poll recorder and the webhook
// consumer (with webhooks.enabled) until ctx is cancelled or one of them
// fails, then shuts them down in order: scheduling stops, the consumers stop
// pulling and in-flight jobs and webhook deliveries finish or go back to
// their streams. The HTTP endpoints are the caller's (cmd/smartcar-poller).
func (a *Daemon) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.sched.Run(gctx) })
	g.Go(func() error { return a.queue.Consume(gctx, a.cfg.Workers.Concurrency, a.worker.Handle) })
	g.Go(func() error { return a.polls.Run(gctx) })
	if a.inbox != nil {
		g.Go(func() error { return a.consumeWebhooks(gctx) })
	}
	if a.replica != nil {
		g.Go(func() error {
			select {
			case <-a.replica.Lost():
				return fmt.Errorf("embedded token store: %w", a.replica.Err())
			case <-gctx.Done():
				return nil
			}
		})
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// Close waits for token refreshes in flight, drains NATS (flushing pending
// publishes), closes Redis and stops the embedded server.
func (a *Daemon) Close() {
	if a.dirLock != nil {
		// Commands arriving from now on wait for the lock, then open the store themselves.
		if err := a.dirLock.Unpublish(); err != nil {
			a.log.Warn("data_dir holder record", "err", err)
		}
	}
	if a.tokens != nil {
		// A refresh in flight must get to store the new pair: it is the only valid one.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		if err := a.tokens.Close(ctx); err != nil {
			a.log.Warn("token refreshes still in flight at shutdown", "err", err)
		}
		cancel()
	}
	if a.polls != nil {
		// Handlers that finished after the recorder's last round.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.polls.Flush(ctx); err != nil {
			a.log.Warn("last polls not recorded at shutdown", "err", err)
		}
		cancel()
	}
	if a.kv != nil {
		a.kv.Close() // the registry mirror's watches, before the connection drains
	}
	if a.replica != nil {
		// Deleting the key lets the next replica start at once.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := a.replica.Release(ctx); err != nil {
			a.log.Warn("replica lock", "err", err)
		}
		cancel()
	}
	if a.nc != nil {
		if err := a.nc.Drain(); err != nil {
			a.nc.Close()
		}
		select {
		case <-a.natsClosed:
		case <-time.After(10 * time.Second):
			a.nc.Close()
		}
	}
	if a.rdb != nil {
		_ = a.rdb.Close()
	}
	if a.ns != nil {
		a.ns.Shutdown()
		a.ns.WaitForShutdown()
	}
	if a.dirLock != nil {
		if err := a.dirLock.Unlock(); err != nil {
			a.log.Warn("data_dir lock", "err", err)
		}
	}
}
