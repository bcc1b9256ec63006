package kvregistry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
	"github.com/smartcar-poller/smartcar-poller/registry"
)

// TouchWebhook records a webhook from the vehicle at t; an older t is
// ignored. The times live in the locks bucket as webhook.<vehicle id>.
func (s *Store) TouchWebhook(ctx context.Context, vehicleID string, t time.Time) error {
	if err := registry.CheckID(vehicleID); err != nil {
		return err
	}
	key := "webhook." + kvbucket.Key(vehicleID)
	val := []byte(strconv.FormatInt(t.UnixNano(), 10))
	for range kvbucket.CASRetries {
		e, err := s.locks.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			_, err = s.locks.Create(ctx, key, val)
		case err != nil:
			return fmt.Errorf("touch webhook: %w", err)
		default:
			if cur, perr := strconv.ParseInt(string(e.Value()), 10, 64); perr == nil && cur >= t.UnixNano() {
				return nil
			}
			_, err = s.locks.Update(ctx, key, val, e.Revision())
		}
		if err == nil {
			return nil
		}
		if !kvbucket.IsRevisionMismatch(err) {
			return fmt.Errorf("touch webhook: %w", err)
		}
	}
	return fmt.Errorf("touch webhook: %w", registry.ErrConflict)
}

// LastWebhooks returns each vehicle's last webhook time.
func (s *Store) LastWebhooks(ctx context.Context) (map[string]time.Time, error) {
	w, err := s.locks.Watch(ctx, "webhook.*", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("last webhooks: %w", err)
	}
	defer kvbucket.StopWatch(w)
	out := map[string]time.Time{}
	for {
		select {
		case e := <-w.Updates():
			if e == nil { // caught up
				return out, nil
			}
			ns, err := strconv.ParseInt(string(e.Value()), 10, 64)
			if err != nil {
				continue
			}
			id, err := kvbucket.Unkey(strings.TrimPrefix(e.Key(), "webhook."))
			if err != nil {
				continue // not ours: ignore rather than fail a firing
			}
			out[id] = time.Unix(0, ns).UTC()
		case <-ctx.Done():
			return nil, fmt.Errorf("last webhooks: %w", ctx.Err())
		}
	}
}
