package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultKVPrefix is the bucket prefix of a KVStore created with an empty one.
const DefaultKVPrefix = "smartcar"

// KVStore is a Store on JetStream KV, for the embedded default. Buckets
// (prefix upper-cased, '-' → '_'), each keeping one revision per key:
//
//	<PREFIX>_GRANTS    <grant id> → JSON {version, access, needs_reauth, updated_at}
//	<PREFIX>_VEHICLES  <vehicle id> → JSON of the whole Vehicle
//	<PREFIX>_LOCKS     lock.<key> → {owner, expires_at}; hold.<vehicle id> → {until}
//
// Keys are escaped: bytes outside [A-Za-z0-9_-] become =XX. Every write is a
// compare-and-set on the key's revision (kv.Create / kv.Update), which works on
// nats-server 2.9 too. Expiries of locks and holds are written in the value and
// checked with the local clock (bucket TTLs and per-message TTLs are not used),
// so replicas' clocks must agree to well under a lock's TTL.
//
// ListVehicles reads the bucket with one ordered consumer (a KV watch), not a
// Get per key: about 1.2 s for 100,000 vehicles on the 2-core dev machine,
// twice RedisStore's time, so large fleets belong on Redis.
type KVStore struct {
	grants, vehicles, locks jetstream.KeyValue
	keys                    *Keyring  // nil: grants in plaintext
	marks                   kvMarks   // Connect states and webhook event ids (kv_onboard.go)
	mirrors                 kvMirrors // in-memory vehicles and holds (kv_mirror.go)
}

var _ Store = (*KVStore)(nil)

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// KVBuckets returns the names of the grants, vehicles and locks buckets for prefix.
func KVBuckets(prefix string) (grants, vehicles, locks string) {
	if prefix == "" {
		prefix = DefaultKVPrefix
	}
	p := strings.ToUpper(strings.ReplaceAll(prefix, "-", "_"))
	return p + "_GRANTS", p + "_VEHICLES", p + "_LOCKS"
}

// NewKVStore opens the store's buckets under prefix (DefaultKVPrefix when
// empty), creating them with file storage if they do not exist.
func NewKVStore(ctx context.Context, js jetstream.JetStream, prefix string, opts ...StoreOption) (*KVStore, error) {
	if prefix != "" && !prefixRE.MatchString(prefix) {
		return nil, fmt.Errorf("open kv store: prefix %q is not [A-Za-z0-9_-]+", prefix)
	}
	g, v, l := KVBuckets(prefix)
	o := applyStoreOptions(opts)
	if o.replicas < 0 || o.replicas > 5 {
		return nil, fmt.Errorf("open kv store: replicas %d: want 1 to 5", o.replicas)
	}
	o.replicas = max(o.replicas, 1)
	s := &KVStore{keys: o.keys, marks: kvMarks{js: js, bucket: KVMarksBucket(prefix), replicas: o.replicas}}
	for _, b := range []struct {
		kv   *jetstream.KeyValue
		name string
		desc string
	}{
		{&s.grants, g, "smartcar-poller token pairs"},
		{&s.vehicles, v, "smartcar-poller vehicle registry"},
		{&s.locks, l, "smartcar-poller refresh locks and Retry-After holds"},
	} {
		kv, err := openBucket(ctx, js, b.name, b.desc, o.replicas)
		if err != nil {
			return nil, fmt.Errorf("open kv store: %w", err)
		}
		*b.kv = kv
	}
	return s, nil
}

func openBucket(ctx context.Context, js jetstream.JetStream, name, desc string, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, name)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("bucket %s: %w", name, err)
	}
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: name, Description: desc, History: 1, Storage: jetstream.FileStorage, Replicas: replicas,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, name) // another replica created it first
	}
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", name, err)
	}
	return kv, nil
}

// kvKey escapes s into one valid KV key token.
func kvKey(s string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(hexd[c>>4])
		b.WriteByte(hexd[c&15])
	}
	return b.String()
}

// casRetries bounds the read-modify-write loops that lose a race.
const casRetries = 50

func isRevisionMismatch(err error) bool {
	return errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists)
}

// GetGrant returns the stored grant.
func (s *KVStore) GetGrant(ctx context.Context, id string) (Grant, error) {
	g, _, err := s.getGrant(ctx, id)
	return g, err
}

func (s *KVStore) getGrant(ctx context.Context, id string) (Grant, uint64, error) {
	if err := validID("grant", id); err != nil {
		return Grant{}, 0, err
	}
	e, err := s.grants.Get(ctx, kvKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Grant{}, 0, fmt.Errorf("get grant %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Grant{}, 0, fmt.Errorf("get grant %s: %w", id, err)
	}
	g, err := decodeGrant(id, e.Value(), s.keys)
	return g, e.Revision(), err
}

// CreateGrant stores g, replacing any stored pair, with the next version.
func (s *KVStore) CreateGrant(ctx context.Context, g Grant) error {
	for range casRetries {
		old, rev, err := s.getGrant(ctx, g.ID)
		switch {
		case errors.Is(err, ErrNotFound):
			g.Version = 1
		case err != nil:
			return fmt.Errorf("create grant: %w", err)
		default:
			g.Version = old.Version + 1
		}
		data, err := encodeGrant(g, true, s.keys)
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = s.grants.Create(ctx, kvKey(g.ID), data)
		} else {
			_, err = s.grants.Update(ctx, kvKey(g.ID), data, rev)
		}
		if err == nil {
			return nil
		}
		if !isRevisionMismatch(err) {
			return fmt.Errorf("create grant %s: %w", g.ID, err)
		}
	}
	return fmt.Errorf("create grant %s: %w", g.ID, ErrConflict)
}

// UpdateGrant stores g if the stored version is expectVersion. A revision
// that moved without a version change (RotateKey re-encrypting the record)
// is not a conflict: the write is tried again.
func (s *KVStore) UpdateGrant(ctx context.Context, g Grant, expectVersion int64) (Grant, error) {
	if g.UpdatedAt.IsZero() {
		g.UpdatedAt = time.Now()
	}
	g.UpdatedAt = g.UpdatedAt.UTC()
	g.Version = expectVersion + 1
	data, err := encodeGrant(g, true, s.keys)
	if err != nil {
		return Grant{}, err
	}
	for range casRetries {
		old, rev, err := s.getGrant(ctx, g.ID)
		if err != nil {
			return Grant{}, fmt.Errorf("update grant: %w", err)
		}
		if old.Version != expectVersion {
			return Grant{}, fmt.Errorf("update grant %s at version %d: %w", g.ID, expectVersion, ErrConflict)
		}
		_, err = s.grants.Update(ctx, kvKey(g.ID), data, rev)
		if err == nil {
			return g, nil
		}
		if !isRevisionMismatch(err) {
			return Grant{}, fmt.Errorf("update grant %s: %w", g.ID, err)
		}
	}
	return Grant{}, fmt.Errorf("update grant %s at version %d: %w", g.ID, expectVersion, ErrConflict)
}

// DeleteGrant removes the grant.
func (s *KVStore) DeleteGrant(ctx context.Context, id string) error {
	if _, _, err := s.getGrant(ctx, id); err != nil {
		return fmt.Errorf("delete grant: %w", err)
	}
	if err := s.grants.Delete(ctx, kvKey(id)); err != nil {
		return fmt.Errorf("delete grant %s: %w", id, err)
	}
	return nil
}

// kvLock is the value of a lock key.
type kvLock struct {
	Owner     string    `json:"owner"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Lock takes the lock key for ttl: kv.Create, or, once the holder's expiry
// has passed, kv.Update on the revision that was read.
func (s *KVStore) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	if err := validLock(key, ttl); err != nil {
		return nil, err
	}
	k := "lock." + kvKey(key)
	owner := newOwner()
	val, err := json.Marshal(kvLock{Owner: owner, ExpiresAt: time.Now().Add(ttl).UTC()})
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	rev, err := s.locks.Create(ctx, k, val)
	if isRevisionMismatch(err) {
		rev, err = s.takeExpired(ctx, k, val)
	}
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", key, err)
	}
	return func(ctx context.Context) error {
		if err := s.locks.Delete(ctx, k, jetstream.LastRevision(rev)); err != nil {
			if isRevisionMismatch(err) {
				return fmt.Errorf("unlock %s: %w", key, ErrLockLost)
			}
			return fmt.Errorf("unlock %s: %w", key, err)
		}
		return nil
	}, nil
}

// takeExpired replaces the lock at k if its holder's expiry has passed.
func (s *KVStore) takeExpired(ctx context.Context, k string, val []byte) (uint64, error) {
	e, err := s.locks.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		// Released since our Create: try once more.
		rev, err := s.locks.Create(ctx, k, val)
		if isRevisionMismatch(err) {
			return 0, ErrLocked
		}
		return rev, err
	}
	if err != nil {
		return 0, err
	}
	var held kvLock
	if json.Unmarshal(e.Value(), &held) == nil && time.Now().Before(held.ExpiresAt) {
		return 0, ErrLocked
	}
	rev, err := s.locks.Update(ctx, k, val, e.Revision())
	if isRevisionMismatch(err) {
		return 0, ErrLocked
	}
	return rev, err
}
