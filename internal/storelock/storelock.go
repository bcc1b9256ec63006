package storelock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
)

var (
	// ErrHeld is returned while someone else holds the lock.
	ErrHeld = errors.New("lock held")
	// ErrLost is returned by a release when the lock expired and was taken
	// (or released) by someone else in the meantime.
	ErrLost = errors.New("lock lost")
)

// Unlock releases a lock.
type Unlock func(context.Context) error

// Check rejects an empty key and a TTL below a millisecond.
func Check(key string, ttl time.Duration) error {
	if key == "" {
		return errors.New("lock: empty key")
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("lock %s: ttl %v below 1ms", key, ttl)
	}
	return nil
}

// Owner returns a random token naming one holder of a lock.
func Owner() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Redis takes the lock at Redis key k for ttl with SET NX PX.
func Redis(ctx context.Context, rdb redis.UniversalClient, k string, ttl time.Duration) (Unlock, error) {
	if err := Check(k, ttl); err != nil {
		return nil, err
	}
	owner := Owner()
	ok, err := rdb.SetNX(ctx, k, owner, ttl).Result()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrHeld
	}
	return RedisUnlock(rdb, k, owner), nil
}

var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// RedisUnlock returns the release of the lock at Redis key k taken by
// owner: a compare-and-delete.
func RedisUnlock(rdb redis.UniversalClient, k, owner string) Unlock {
	return func(ctx context.Context) error {
		n, err := unlockScript.Run(ctx, rdb, []string{k}, owner).Int64()
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrLost
		}
		return nil
	}
}

// kvLock is the value of a KV lock key.
type kvLock struct {
	Owner     string    `json:"owner"`
	ExpiresAt time.Time `json:"expires_at"`
}

// KV takes the lock at key k of kv for ttl: kv.Create, or, once the holder's
// expiry has passed, kv.Update on the revision that was read.
func KV(ctx context.Context, kv jetstream.KeyValue, k string, ttl time.Duration) (Unlock, error) {
	if err := Check(k, ttl); err != nil {
		return nil, err
	}
	val, err := json.Marshal(kvLock{Owner: Owner(), ExpiresAt: time.Now().Add(ttl).UTC()})
	if err != nil {
		return nil, err
	}
	rev, err := kv.Create(ctx, k, val)
	if kvbucket.IsRevisionMismatch(err) {
		rev, err = takeExpired(ctx, kv, k, val)
	}
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		if err := kv.Delete(ctx, k, jetstream.LastRevision(rev)); err != nil {
			if kvbucket.IsRevisionMismatch(err) {
				return ErrLost
			}
			return err
		}
		return nil
	}, nil
}

// takeExpired replaces the lock at k if its holder's expiry has passed.
func takeExpired(ctx context.Context, kv jetstream.KeyValue, k string, val []byte) (uint64, error) {
	e, err := kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		// Released since our Create: try once more.
		rev, err := kv.Create(ctx, k, val)
		if kvbucket.IsRevisionMismatch(err) {
			return 0, ErrHeld
		}
		return rev, err
	}
	if err != nil {
		return 0, err
	}
	var held kvLock
	if json.Unmarshal(e.Value(), &held) == nil && time.Now().Before(held.ExpiresAt) {
		return 0, ErrHeld
	}
	rev, err := kv.Update(ctx, k, val, e.Revision())
	if kvbucket.IsRevisionMismatch(err) {
		return 0, ErrHeld
	}
	return rev, err
}
