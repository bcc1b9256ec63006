package tokens

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keys: <prefix>connect_state:<state> and <prefix>webhook_event:<id>
// (SET NX with a TTL), and the hash <prefix>webhooks (vehicle id → unix ns of
// its last webhook).

func (s *RedisStore) connectStateKey(state string) string { return s.prefix + "connect_state:" + state }
func (s *RedisStore) eventKey(id string) string           { return s.prefix + "webhook_event:" + id }
func (s *RedisStore) webhooksKey() string                 { return s.prefix + "webhooks" }

// PutConnectState remembers a Connect state for ttl.
func (s *RedisStore) PutConnectState(ctx context.Context, state string, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.connectStateKey(state), 1, markTTL(ttl)).Err(); err != nil {
		return fmt.Errorf("put connect state: %w", err)
	}
	return nil
}

// TakeConnectState consumes a Connect state: ErrNotFound if it is unknown,
// expired or already taken.
func (s *RedisStore) TakeConnectState(ctx context.Context, state string) error {
	n, err := s.rdb.Del(ctx, s.connectStateKey(state)).Result()
	if err != nil {
		return fmt.Errorf("take connect state: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("take connect state: %w", ErrNotFound)
	}
	return nil
}

// MarkWebhookEvent reports whether id is marked for the first time within ttl.
func (s *RedisStore) MarkWebhookEvent(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.eventKey(id), 1, markTTL(ttl)).Result()
	if err != nil {
		return false, fmt.Errorf("mark webhook event: %w", err)
	}
	return ok, nil
}

// touchWebhookScript sets the field only if the new time is later.
var touchWebhookScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and tonumber(cur) >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`)

// TouchWebhook records a webhook from the vehicle at t; an older t is ignored.
func (s *RedisStore) TouchWebhook(ctx context.Context, vehicleID string, t time.Time) error {
	if err := touchWebhookScript.Run(ctx, s.rdb, []string{s.webhooksKey()}, vehicleID, t.UnixNano()).Err(); err != nil {
		return fmt.Errorf("touch webhook: %w", err)
	}
	return nil
}

// LastWebhooks returns each vehicle's last webhook time.
func (s *RedisStore) LastWebhooks(ctx context.Context) (map[string]time.Time, error) {
	m, err := s.rdb.HGetAll(ctx, s.webhooksKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("last webhooks: %w", err)
	}
	out := make(map[string]time.Time, len(m))
	for id, v := range m {
		ns, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue // not ours: ignore rather than fail a firing
		}
		out[id] = time.Unix(0, ns).UTC()
	}
	return out, nil
}

// ForgetWebhookEvent removes id's mark, so a redelivery is processed again
// (after processing the first delivery failed).
func (s *RedisStore) ForgetWebhookEvent(ctx context.Context, id string) error {
	if err := s.rdb.Del(ctx, s.eventKey(id)).Err(); err != nil {
		return fmt.Errorf("forget webhook event: %w", err)
	}
	return nil
}
