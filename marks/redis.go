package marks

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps the marks in Redis, one key each with its TTL.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedis returns the marks under prefix ("smartcar:" when empty) of rdb.
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = "smartcar:"
	}
	return &Redis{rdb: rdb, prefix: prefix}
}

func (s *Redis) stateKey(state string) string { return s.prefix + "connect_state:" + state }
func (s *Redis) eventKey(id string) string    { return s.prefix + "webhook_event:" + id }

// PutConnectState remembers a Connect state for ttl.
func (s *Redis) PutConnectState(ctx context.Context, state string, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.stateKey(state), 1, clampTTL(ttl)).Err(); err != nil {
		return fmt.Errorf("put connect state: %w", err)
	}
	return nil
}

// TakeConnectState consumes a Connect state: ErrNotFound if it is unknown,
// expired or already taken.
func (s *Redis) TakeConnectState(ctx context.Context, state string) error {
	n, err := s.rdb.Del(ctx, s.stateKey(state)).Result()
	if err != nil {
		return fmt.Errorf("take connect state: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("take connect state: %w", ErrNotFound)
	}
	return nil
}

// MarkWebhookEvent reports whether id is marked for the first time within ttl.
func (s *Redis) MarkWebhookEvent(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.eventKey(id), 1, clampTTL(ttl)).Result()
	if err != nil {
		return false, fmt.Errorf("mark webhook event: %w", err)
	}
	return ok, nil
}

// WebhookEventSeen reports whether id holds a mark that has not expired.
func (s *Redis) WebhookEventSeen(ctx context.Context, id string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.eventKey(id)).Result()
	if err != nil {
		return false, fmt.Errorf("webhook event seen: %w", err)
	}
	return n > 0, nil
}
