package tokens

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix is the key prefix of a RedisStore created with an empty one.
const DefaultRedisPrefix = "smartcar:"

// RedisStore is a Store on Redis (go-redis v9). Keys, under its prefix:
//
//	grant:<id>        hash: version, data (the pair, see codec.go)
//	lock:<key>        string: owner token, with an expiry (SET NX PX)
//	vehicles          hash: vehicle id → JSON {grant_id, tags, connected_at}
//	vehicle_state     hash: vehicle id → "<status>|<last poll>|<reason>"
//	hold:<vehicle id> string: hold end in Unix ms, expiring then (PXAT)
//
// SetStatus and TouchPoll rewrite their part of vehicle_state in a Lua
// script, so they cannot undo each other (see redis_codec.go). With Redis
// Cluster, give the prefix a hash tag ("{smartcar}:") so every key lands in
// one slot.
type RedisStore struct {
	rdb    redis.UniversalClient
	prefix string
	keys   *Keyring // nil: grants in plaintext
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a store using rdb with keys under prefix
// (DefaultRedisPrefix when empty).
func NewRedisStore(rdb redis.UniversalClient, prefix string, opts ...StoreOption) *RedisStore {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	o := applyStoreOptions(opts)
	return &RedisStore{rdb: rdb, prefix: prefix, keys: o.keys}
}

func (s *RedisStore) grantKey(id string) string { return s.prefix + "grant:" + id }
func (s *RedisStore) lockKey(key string) string { return s.prefix + "lock:" + key }
func (s *RedisStore) holdKey(id string) string  { return s.prefix + "hold:" + id }
func (s *RedisStore) vehiclesKey() string       { return s.prefix + "vehicles" }
func (s *RedisStore) stateKey() string          { return s.prefix + "vehicle_state" }

// GetGrant returns the stored grant.
func (s *RedisStore) GetGrant(ctx context.Context, id string) (Grant, error) {
	if err := validID("grant", id); err != nil {
		return Grant{}, err
	}
	vals, err := s.rdb.HMGet(ctx, s.grantKey(id), "version", "data").Result()
	if err != nil {
		return Grant{}, fmt.Errorf("get grant %s: %w", id, err)
	}
	ver, _ := vals[0].(string)
	data, _ := vals[1].(string)
	if ver == "" || data == "" {
		return Grant{}, fmt.Errorf("get grant %s: %w", id, ErrNotFound)
	}
	g, err := decodeGrant(id, []byte(data), s.keys)
	if err != nil {
		return Grant{}, err
	}
	if g.Version, err = strconv.ParseInt(ver, 10, 64); err != nil {
		return Grant{}, fmt.Errorf("get grant %s: version: %w", id, errMalformed)
	}
	return g, nil
}

var createGrantScript = redis.NewScript(`
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'data', ARGV[1])
return v`)

// CreateGrant stores g, replacing any stored pair, with the next version.
func (s *RedisStore) CreateGrant(ctx context.Context, g Grant) error {
	if err := validID("grant", g.ID); err != nil {
		return err
	}
	data, err := encodeGrant(g, false, s.keys)
	if err != nil {
		return err
	}
	if err := createGrantScript.Run(ctx, s.rdb, []string{s.grantKey(g.ID)}, data).Err(); err != nil {
		return fmt.Errorf("create grant %s: %w", g.ID, err)
	}
	return nil
}

// updateGrantScript returns the new version, -1 when the grant is missing
// and -2 when the version differs.
var updateGrantScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'version')
if not v then return -1 end
if v ~= ARGV[1] then return -2 end
redis.call('HSET', KEYS[1], 'data', ARGV[2])
return redis.call('HINCRBY', KEYS[1], 'version', 1)`)

// UpdateGrant stores g if the stored version is expectVersion.
func (s *RedisStore) UpdateGrant(ctx context.Context, g Grant, expectVersion int64) (Grant, error) {
	if err := validID("grant", g.ID); err != nil {
		return Grant{}, err
	}
	if g.UpdatedAt.IsZero() {
		g.UpdatedAt = time.Now()
	}
	g.UpdatedAt = g.UpdatedAt.UTC()
	data, err := encodeGrant(g, false, s.keys)
	if err != nil {
		return Grant{}, err
	}
	n, err := updateGrantScript.Run(ctx, s.rdb, []string{s.grantKey(g.ID)},
		strconv.FormatInt(expectVersion, 10), data).Int64()
	switch {
	case err != nil:
		return Grant{}, fmt.Errorf("update grant %s: %w", g.ID, err)
	case n == -1:
		return Grant{}, fmt.Errorf("update grant %s: %w", g.ID, ErrNotFound)
	case n == -2:
		return Grant{}, fmt.Errorf("update grant %s at version %d: %w", g.ID, expectVersion, ErrConflict)
	}
	g.Version = n
	return g, nil
}

// DeleteGrant removes the grant.
func (s *RedisStore) DeleteGrant(ctx context.Context, id string) error {
	if err := validID("grant", id); err != nil {
		return err
	}
	n, err := s.rdb.Del(ctx, s.grantKey(id)).Result()
	if err != nil {
		return fmt.Errorf("delete grant %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete grant %s: %w", id, ErrNotFound)
	}
	return nil
}

var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// Lock takes the lock key for ttl with SET NX PX.
func (s *RedisStore) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	if err := validLock(key, ttl); err != nil {
		return nil, err
	}
	owner := newOwner()
	k := s.lockKey(key)
	ok, err := s.rdb.SetNX(ctx, k, owner, ttl).Result()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	if !ok {
		return nil, fmt.Errorf("lock %s: %w", key, ErrLocked)
	}
	return s.unlocker(key, k, owner), nil
}

// unlocker returns the func that releases lock key (stored at k) if owner
// still holds it: a compare-and-delete.
func (s *RedisStore) unlocker(key, k, owner string) func(context.Context) error {
	return func(ctx context.Context) error {
		n, err := unlockScript.Run(ctx, s.rdb, []string{k}, owner).Int64()
		if err != nil {
			return fmt.Errorf("unlock %s: %w", key, err)
		}
		if n == 0 {
			return fmt.Errorf("unlock %s: %w", key, ErrLockLost)
		}
		return nil
	}
}

func validLock(key string, ttl time.Duration) error {
	if key == "" {
		return errors.New("lock: empty key")
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("lock %s: ttl %v below 1ms", key, ttl)
	}
	return nil
}

// newOwner returns a random token naming one holder of a lock.
func newOwner() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
