package tokens

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"
)

// StoreOption configures NewRedisStore and NewKVStore.
type StoreOption func(*storeOptions)

type storeOptions struct {
	keys     *Keyring
	replicas int
}

// WithKeyring encrypts grant records at rest with k (see Keyring). Without
// it (or with a nil k) grants are stored in plaintext and records encrypted
// by another process cannot be read.
func WithKeyring(k *Keyring) StoreOption { return func(o *storeOptions) { o.keys = k } }

// WithReplicas has NewKVStore create its buckets with n JetStream replicas
// (default 1), for a NATS cluster. Buckets that exist keep their replicas.
// RedisStore ignores it.
func WithReplicas(n int) StoreOption { return func(o *storeOptions) { o.replicas = n } }

func applyStoreOptions(opts []StoreOption) storeOptions {
	var o storeOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// RotateStats counts what RotateKey did.
type RotateStats struct {
	Grants int // grant records seen
	Moved  int // re-encrypted with the current key (or encrypted, from plaintext)
}

// rekeyer is one backend's side of RotateKey.
type rekeyer interface {
	grantIDs(ctx context.Context) ([]string, error)
	// rekeyGrant rewrites the grant with the current key if it is not under
	// it already; it reports false when the record was already current
	// (or is gone).
	rekeyGrant(ctx context.Context, id string) (bool, error)
}

// RotateKey re-encrypts every grant record not written with the current key
// of the store's Keyring (plaintext records included). Each rewrite is a
// compare-and-set on the stored record that keeps the grant's Version, so a
// refresh or reconnect that writes meanwhile is never undone: the rewrite
// loses, re-reads and tries again, and a concurrent UpdateGrant still finds
// the version it expects. It needs a store with a Keyring.
func RotateKey(ctx context.Context, s Store) (RotateStats, error) {
	var st RotateStats
	r, ok := s.(rekeyer)
	if !ok {
		return st, fmt.Errorf("rotate key: %T cannot rotate", s)
	}
	if k := storeKeyring(s); k == nil {
		return st, errors.New("rotate key: no encryption key configured")
	}
	ids, err := r.grantIDs(ctx)
	if err != nil {
		return st, fmt.Errorf("rotate key: %w", err)
	}
	for _, id := range ids {
		moved, err := r.rekeyGrant(ctx, id)
		if err != nil {
			return st, fmt.Errorf("rotate key (%d of %d grants moved): %w", st.Moved, len(ids), err)
		}
		st.Grants++
		if moved {
			st.Moved++
		}
	}
	return st, nil
}

func storeKeyring(s Store) *Keyring {
	switch s := s.(type) {
	case *RedisStore:
		return s.keys
	case *KVStore:
		return s.keys
	}
	return nil
}

// needsRekey reports whether a stored record is not under k's current key.
func needsRekey(k *Keyring, id string, stored []byte) (bool, error) {
	kid, err := recordKeyID(stored)
	if err != nil {
		return false, fmt.Errorf("rekey grant %s: %w", id, err)
	}
	return kid != k.CurrentKeyID(), nil
}

// grantIDs scans the grant keys.
func (s *RedisStore) grantIDs(ctx context.Context) ([]string, error) {
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

func (s *RedisStore) rekeyGrant(ctx context.Context, id string) (bool, error) {
	for range casRetries {
		data, err := s.rdb.HGet(ctx, s.grantKey(id), "data").Result()
		if errors.Is(err, redis.Nil) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("rekey grant %s: %w", id, err)
		}
		if need, err := needsRekey(s.keys, id, []byte(data)); err != nil || !need {
			return false, err
		}
		g, err := decodeGrant(id, []byte(data), s.keys)
		if err != nil {
			return false, fmt.Errorf("rekey: %w", err)
		}
		next, err := encodeGrant(g, false, s.keys)
		if err != nil {
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
	return false, fmt.Errorf("rekey grant %s: %w", id, ErrConflict)
}

// grantIDs lists the grants bucket's keys.
func (s *KVStore) grantIDs(ctx context.Context) ([]string, error) {
	keys, err := s.grants.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		id, err := kvUnkey(k)
		if err != nil {
			return nil, fmt.Errorf("list grants: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// kvUnkey reverses kvKey.
func kvUnkey(k string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		if k[i] != '=' {
			b.WriteByte(k[i])
			continue
		}
		if i+2 >= len(k) {
			return "", fmt.Errorf("key %q: %w", k, errMalformed)
		}
		n, err := strconv.ParseUint(k[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("key %q: %w", k, errMalformed)
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), nil
}

func (s *KVStore) rekeyGrant(ctx context.Context, id string) (bool, error) {
	for range casRetries {
		e, err := s.grants.Get(ctx, kvKey(id))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("rekey grant %s: %w", id, err)
		}
		if need, err := needsRekey(s.keys, id, e.Value()); err != nil || !need {
			return false, err
		}
		g, err := decodeGrant(id, e.Value(), s.keys)
		if err != nil {
			return false, fmt.Errorf("rekey: %w", err)
		}
		next, err := encodeGrant(g, true, s.keys) // keeps g.Version
		if err != nil {
			return false, err
		}
		_, err = s.grants.Update(ctx, kvKey(id), next, e.Revision())
		if err == nil {
			return true, nil
		}
		if !isRevisionMismatch(err) {
			return false, fmt.Errorf("rekey grant %s: %w", id, err)
		}
		// Written meanwhile (a refresh): read it again.
	}
	return false, fmt.Errorf("rekey grant %s: %w", id, ErrConflict)
}
