package rediscredentials

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/internal/storelock"
)

// DefaultPrefix is the key prefix of a Store created with an empty one.
const DefaultPrefix = "smartcar:"

// Store is a credentials.Store on Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	keys   *credentials.Keyring // nil: grants in plaintext
}

var _ credentials.Store = (*Store)(nil)

// New returns a store using rdb with keys under prefix (DefaultPrefix when
// empty), sealing grant records with keys (nil: plaintext; records sealed by
// another process cannot be read then).
func New(rdb redis.UniversalClient, prefix string, keys *credentials.Keyring) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Store{rdb: rdb, prefix: prefix, keys: keys}
}

func (s *Store) grantKey(id string) string { return s.prefix + "grant:" + id }
func (s *Store) lockKey(key string) string { return s.prefix + "lock:" + key }

// GetGrant returns the stored grant.
func (s *Store) GetGrant(ctx context.Context, id string) (credentials.Grant, error) {
	if err := credentials.CheckID(id); err != nil {
		return credentials.Grant{}, err
	}
	vals, err := s.rdb.HMGet(ctx, s.grantKey(id), "version", "data").Result()
	if err != nil {
		return credentials.Grant{}, fmt.Errorf("get grant %s: %w", id, err)
	}
	ver, _ := vals[0].(string)
	data, _ := vals[1].(string)
	if ver == "" || data == "" {
		return credentials.Grant{}, fmt.Errorf("get grant %s: %w", id, credentials.ErrNotFound)
	}
	g, err := credentials.DecodeGrant(id, []byte(data), s.keys)
	if err != nil {
		return credentials.Grant{}, err
	}
	if g.Version, err = strconv.ParseInt(ver, 10, 64); err != nil {
		return credentials.Grant{}, fmt.Errorf("get grant %s: version: %w", id, credentials.ErrMalformed)
	}
	return g, nil
}

var createGrantScript = redis.NewScript(`
local v = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'data', ARGV[1])
return v`)

// CreateGrant stores g, replacing any stored pair, with the next version.
func (s *Store) CreateGrant(ctx context.Context, g credentials.Grant) error {
	if err := credentials.CheckID(g.ID); err != nil {
		return err
	}
	data, err := credentials.EncodeGrant(g, false, s.keys)
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
func (s *Store) UpdateGrant(ctx context.Context, g credentials.Grant, expectVersion int64) (credentials.Grant, error) {
	if err := credentials.CheckID(g.ID); err != nil {
		return credentials.Grant{}, err
	}
	if g.UpdatedAt.IsZero() {
		g.UpdatedAt = time.Now()
	}
	g.UpdatedAt = g.UpdatedAt.UTC()
	data, err := credentials.EncodeGrant(g, false, s.keys)
	if err != nil {
		return credentials.Grant{}, err
	}
	n, err := updateGrantScript.Run(ctx, s.rdb, []string{s.grantKey(g.ID)},
		strconv.FormatInt(expectVersion, 10), data).Int64()
	switch {
	case err != nil:
		return credentials.Grant{}, fmt.Errorf("update grant %s: %w", g.ID, err)
	case n == -1:
		return credentials.Grant{}, fmt.Errorf("update grant %s: %w", g.ID, credentials.ErrNotFound)
	case n == -2:
		return credentials.Grant{}, fmt.Errorf("update grant %s at version %d: %w", g.ID, expectVersion, credentials.ErrConflict)
	}
	g.Version = n
	return g, nil
}

// DeleteGrant removes the grant.
func (s *Store) DeleteGrant(ctx context.Context, id string) error {
	if err := credentials.CheckID(id); err != nil {
		return err
	}
	n, err := s.rdb.Del(ctx, s.grantKey(id)).Result()
	if err != nil {
		return fmt.Errorf("delete grant %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete grant %s: %w", id, credentials.ErrNotFound)
	}
	return nil
}

// Lock takes the lock key for ttl with SET NX PX.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	if err := storelock.Check(key, ttl); err != nil {
		return nil, err
	}
	unlock, err := storelock.Redis(ctx, s.rdb, s.lockKey(key), ttl)
	if errors.Is(err, storelock.ErrHeld) {
		return nil, fmt.Errorf("lock %s: %w", key, credentials.ErrLocked)
	} else if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	return func(ctx context.Context) error {
		err := unlock(ctx)
		if errors.Is(err, storelock.ErrLost) {
			return fmt.Errorf("unlock %s: %w", key, credentials.ErrLockLost)
		} else if err != nil {
			return fmt.Errorf("unlock %s: %w", key, err)
		}
		return nil
	}, nil
}

// GrantIDs scans the grant keys.
func (s *Store) GrantIDs(ctx context.Context) ([]string, error) {
	pre := s.grantKey("")
	iter := s.rdb.Scan(ctx, 0, globEscape(pre)+"*", 1000).Iterator()
	var ids []string
	for iter.Next(ctx) {
		ids = append(ids, strings.TrimPrefix(iter.Val(), pre))
	}
	if err := iter.Err(); err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	return ids, nil
}

// globEscape quotes the glob characters of a Redis SCAN pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// rekeyScript replaces the data field only if it is still ARGV[1]; the
// version is left alone. It returns 1 when written, 0 when the data changed
// and -1 when the grant is gone.
var rekeyScript = redis.NewScript(`
local d = redis.call('HGET', KEYS[1], 'data')
if not d then return -1 end
if d ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[2])
return 1`)

// casRetries bounds the rekey loop that loses to concurrent writers.
const casRetries = 50

// Rekey rewrites the grant's record under the current key unless it is
// under it already; the version field is left alone.
func (s *Store) Rekey(ctx context.Context, id string) (bool, error) {
	for range casRetries {
		data, err := s.rdb.HGet(ctx, s.grantKey(id), "data").Result()
		if errors.Is(err, redis.Nil) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("rekey grant %s: %w", id, err)
		}
		next, ok, err := credentials.Reseal(s.keys, id, []byte(data), false)
		if err != nil || !ok {
			return false, err
		}
		n, err := rekeyScript.Run(ctx, s.rdb, []string{s.grantKey(id)}, data, next).Int64()
		switch {
		case err != nil:
			return false, fmt.Errorf("rekey grant %s: %w", id, err)
		case n == 1:
			return true, nil
		case n == -1:
			return false, nil
		}
		// Written meanwhile (a refresh): read it again.
	}
	return false, fmt.Errorf("rekey grant %s: %w", id, credentials.ErrConflict)
}
