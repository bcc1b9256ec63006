package kvcredentials

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
	"github.com/smartcar-poller/smartcar-poller/internal/storelock"
)

// Config configures Open. Zero fields take the defaults.
type Config struct {
	// Prefix names the buckets (default kvbucket.DefaultPrefix, "smartcar").
	Prefix string
	// Replicas is the number of JetStream replicas of the buckets Open
	// creates (default 1; up to 5, for a NATS cluster). Buckets that exist
	// keep theirs.
	Replicas int
	// Keyring seals grant records (nil: plaintext; records sealed by another
	// process cannot be read then).
	Keyring *credentials.Keyring
}

// Buckets returns the names of the grants and locks buckets for prefix.
func Buckets(prefix string) (grants, locks string) {
	return kvbucket.Name(prefix, "GRANTS"), kvbucket.Name(prefix, "LOCKS")
}

// Store is a credentials.Store on JetStream KV.
type Store struct {
	grants, locks jetstream.KeyValue
	keys          *credentials.Keyring
}

var _ credentials.Store = (*Store)(nil)

// Open opens the store's buckets, creating them with file storage if they
// do not exist.
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Store, error) {
	if err := kvbucket.CheckPrefix(cfg.Prefix); err != nil {
		return nil, fmt.Errorf("open kv credentials: %w", err)
	}
	if err := kvbucket.CheckReplicas(cfg.Replicas); err != nil {
		return nil, fmt.Errorf("open kv credentials: %w", err)
	}
	g, l := Buckets(cfg.Prefix)
	s := &Store{keys: cfg.Keyring}
	var err error
	if s.grants, err = kvbucket.Open(ctx, js, kvbucket.Config{Name: g, Description: "smartcar-poller token pairs", Replicas: cfg.Replicas}); err != nil {
		return nil, fmt.Errorf("open kv credentials: %w", err)
	}
	if s.locks, err = kvbucket.Open(ctx, js, kvbucket.Config{Name: l, Description: kvbucket.LocksDescription, Replicas: cfg.Replicas}); err != nil {
		return nil, fmt.Errorf("open kv credentials: %w", err)
	}
	return s, nil
}

// GetGrant returns the stored grant.
func (s *Store) GetGrant(ctx context.Context, id string) (credentials.Grant, error) {
	g, _, err := s.getGrant(ctx, id)
	return g, err
}

func (s *Store) getGrant(ctx context.Context, id string) (credentials.Grant, uint64, error) {
	if err := credentials.CheckID(id); err != nil {
		return credentials.Grant{}, 0, err
	}
	e, err := s.grants.Get(ctx, kvbucket.Key(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return credentials.Grant{}, 0, fmt.Errorf("get grant %s: %w", id, credentials.ErrNotFound)
	}
	if err != nil {
		return credentials.Grant{}, 0, fmt.Errorf("get grant %s: %w", id, err)
	}
	g, err := credentials.DecodeGrant(id, e.Value(), s.keys)
	return g, e.Revision(), err
}

// CreateGrant stores g, replacing any stored pair, with the next version.
func (s *Store) CreateGrant(ctx context.Context, g credentials.Grant) error {
	for range kvbucket.CASRetries {
		old, rev, err := s.getGrant(ctx, g.ID)
		switch {
		case errors.Is(err, credentials.ErrNotFound):
			g.Version = 1
		case err != nil:
			return fmt.Errorf("create grant: %w", err)
		default:
			g.Version = old.Version + 1
		}
		data, err := credentials.EncodeGrant(g, true, s.keys)
		if err != nil {
			return err
		}
		if rev == 0 {
			_, err = s.grants.Create(ctx, kvbucket.Key(g.ID), data)
		} else {
			_, err = s.grants.Update(ctx, kvbucket.Key(g.ID), data, rev)
		}
		if err == nil {
			return nil
		}
		if !kvbucket.IsRevisionMismatch(err) {
			return fmt.Errorf("create grant %s: %w", g.ID, err)
		}
	}
	return fmt.Errorf("create grant %s: %w", g.ID, credentials.ErrConflict)
}

// UpdateGrant stores g if the stored version is expectVersion. A revision
// that moved without a version change (Rekey re-encrypting the record) is
// not a conflict: the write is tried again.
func (s *Store) UpdateGrant(ctx context.Context, g credentials.Grant, expectVersion int64) (credentials.Grant, error) {
	if g.UpdatedAt.IsZero() {
		g.UpdatedAt = time.Now()
	}
	g.UpdatedAt = g.UpdatedAt.UTC()
	g.Version = expectVersion + 1
	data, err := credentials.EncodeGrant(g, true, s.keys)
	if err != nil {
		return credentials.Grant{}, err
	}
	for range kvbucket.CASRetries {
		old, rev, err := s.getGrant(ctx, g.ID)
		if err != nil {
			return credentials.Grant{}, fmt.Errorf("update grant: %w", err)
		}
		if old.Version != expectVersion {
			return credentials.Grant{}, fmt.Errorf("update grant %s at version %d: %w", g.ID, expectVersion, credentials.ErrConflict)
		}
		_, err = s.grants.Update(ctx, kvbucket.Key(g.ID), data, rev)
		if err == nil {
			return g, nil
		}
		if !kvbucket.IsRevisionMismatch(err) {
			return credentials.Grant{}, fmt.Errorf("update grant %s: %w", g.ID, err)
		}
	}
	return credentials.Grant{}, fmt.Errorf("update grant %s at version %d: %w", g.ID, expectVersion, credentials.ErrConflict)
}

// DeleteGrant removes the grant.
func (s *Store) DeleteGrant(ctx context.Context, id string) error {
	if _, _, err := s.getGrant(ctx, id); err != nil {
		return fmt.Errorf("delete grant: %w", err)
	}
	if err := s.grants.Delete(ctx, kvbucket.Key(id)); err != nil {
		return fmt.Errorf("delete grant %s: %w", id, err)
	}
	return nil
}

// Lock takes the lock key for ttl: the key lock.<key> of the locks bucket.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	if err := storelock.Check(key, ttl); err != nil {
		return nil, err
	}
	unlock, err := storelock.KV(ctx, s.locks, "lock."+kvbucket.Key(key), ttl)
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

// GrantIDs lists the grants bucket's keys.
func (s *Store) GrantIDs(ctx context.Context) ([]string, error) {
	keys, err := s.grants.Keys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list grants: %w", err)
	}
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		id, err := kvbucket.Unkey(k)
		if err != nil {
			return nil, fmt.Errorf("list grants: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Rekey rewrites the grant's record under the current key unless it is
// under it already, keeping its version.
func (s *Store) Rekey(ctx context.Context, id string) (bool, error) {
	for range kvbucket.CASRetries {
		e, err := s.grants.Get(ctx, kvbucket.Key(id))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("rekey grant %s: %w", id, err)
		}
		next, ok, err := credentials.Reseal(s.keys, id, e.Value(), true)
		if err != nil || !ok {
			return false, err
		}
		_, err = s.grants.Update(ctx, kvbucket.Key(id), next, e.Revision())
		if err == nil {
			return true, nil
		}
		if !kvbucket.IsRevisionMismatch(err) {
			return false, fmt.Errorf("rekey grant %s: %w", id, err)
		}
		// Written meanwhile (a refresh): read it again.
	}
	return false, fmt.Errorf("rekey grant %s: %w", id, credentials.ErrConflict)
}
