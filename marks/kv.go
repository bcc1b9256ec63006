package marks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
)

// KVBucket names the bucket of Connect states and webhook event marks for
// prefix. It is created on first use, so stores that never onboard do not
// have it, and its MaxAge follows the longest ttl asked for (at least
// minMarksMaxAge, at most MaxTTL).
func KVBucket(prefix string) string { return kvbucket.Name(prefix, "MARKS") }

// KVConfig configures NewKV. Zero fields take the defaults.
type KVConfig struct {
	// Prefix names the bucket (default kvbucket.DefaultPrefix, "smartcar").
	Prefix string
	// Replicas is the number of JetStream replicas of the bucket when it is
	// created (default 1; up to 5, for a NATS cluster).
	Replicas int
}

// KV keeps the marks in a JetStream KV bucket; only a compare-and-set
// creates or replaces a mark, and expiries are judged with the local clock.
type KV struct {
	marks kvMarks
}

// NewKV returns the marks in the bucket KVBucket(cfg.Prefix) of js, which
// is created on first use.
func NewKV(js jetstream.JetStream, cfg KVConfig) (*KV, error) {
	if err := kvbucket.CheckPrefix(cfg.Prefix); err != nil {
		return nil, fmt.Errorf("kv marks: %w", err)
	}
	if err := kvbucket.CheckReplicas(cfg.Replicas); err != nil {
		return nil, fmt.Errorf("kv marks: %w", err)
	}
	return &KV{marks: kvMarks{js: js, bucket: KVBucket(cfg.Prefix), replicas: max(cfg.Replicas, 1)}}, nil
}

// minMarksMaxAge is the shortest MaxAge of the marks bucket: Connect states
// live up to an hour.
const minMarksMaxAge = time.Hour

// kvMarks opens the marks bucket lazily and keeps its MaxAge at least as
// long as the marks put in it.
type kvMarks struct {
	js       jetstream.JetStream
	bucket   string
	replicas int
	mu       sync.Mutex
	kv       jetstream.KeyValue
	maxAge   time.Duration // the bucket's MaxAge; 0 keeps entries for ever
}

// open returns the bucket, created or with its MaxAge raised so that it
// keeps an entry written now for keep (0 when only reading).
func (m *kvMarks) open(ctx context.Context, keep time.Duration) (jetstream.KeyValue, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var want time.Duration
	if keep > 0 {
		want = max(keep, minMarksMaxAge)
	}
	if m.kv == nil {
		kv, err := m.js.KeyValue(ctx, m.bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			kv, err = kvbucket.Open(ctx, m.js, kvbucket.Config{Name: m.bucket,
				Description: "smartcar-poller Connect states and webhook event ids",
				Replicas:    m.replicas, TTL: max(want, minMarksMaxAge)})
		}
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", m.bucket, err)
		}
		st, err := kv.Status(ctx)
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", m.bucket, err)
		}
		m.kv, m.maxAge = kv, st.TTL()
	}
	if m.maxAge != 0 && m.maxAge < want {
		if err := m.raiseMaxAge(ctx, want); err != nil {
			return nil, err
		}
	}
	return m.kv, nil
}

// raiseMaxAge sets the bucket's MaxAge to d unless it is already longer (a
// bucket made by an older version, or for shorter marks). Only MaxAge
// changes: the bucket's stream keeps the rest of its configuration.
func (m *kvMarks) raiseMaxAge(ctx context.Context, d time.Duration) error {
	stream, err := m.js.Stream(ctx, "KV_"+m.bucket)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", m.bucket, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", m.bucket, err)
	}
	cfg := info.Config
	if cfg.MaxAge != 0 && cfg.MaxAge < d {
		cfg.MaxAge = d
		if _, err := m.js.UpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("bucket %s: raise max age to %s: %w", m.bucket, d, err)
		}
	}
	m.maxAge = cfg.MaxAge
	return nil
}

// kvMark is a mark's value: it counts until ExpiresAt (local clocks).
type kvMark struct {
	ExpiresAt time.Time `json:"expires_at"`
}

// mark creates key unless a live mark holds it; an expired one is replaced
// with a compare-and-set. It reports whether this call created the mark.
func (s *KV) mark(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ttl = clampTTL(ttl)
	kv, err := s.marks.open(ctx, ttl)
	if err != nil {
		return false, err
	}
	val, err := json.Marshal(kvMark{ExpiresAt: time.Now().Add(ttl).UTC()})
	if err != nil {
		return false, err
	}
	for range kvbucket.CASRetries {
		_, err := kv.Create(ctx, key, val)
		if err == nil {
			return true, nil
		}
		if !kvbucket.IsRevisionMismatch(err) {
			return false, err
		}
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted meanwhile: create again
		}
		if err != nil {
			return false, err
		}
		var cur kvMark
		if json.Unmarshal(e.Value(), &cur) == nil && time.Now().Before(cur.ExpiresAt) {
			return false, nil
		}
		if _, err := kv.Update(ctx, key, val, e.Revision()); err == nil {
			return true, nil
		} else if !kvbucket.IsRevisionMismatch(err) {
			return false, err
		}
	}
	return false, ErrConflict
}

// PutConnectState remembers a Connect state for ttl.
func (s *KV) PutConnectState(ctx context.Context, state string, ttl time.Duration) error {
	ok, err := s.mark(ctx, "state."+kvbucket.Key(state), ttl)
	if err != nil {
		return fmt.Errorf("put connect state: %w", err)
	}
	if !ok {
		return fmt.Errorf("put connect state: %w", ErrConflict)
	}
	return nil
}

// TakeConnectState consumes a Connect state: ErrNotFound if it is unknown,
// expired or already taken.
func (s *KV) TakeConnectState(ctx context.Context, state string) error {
	kv, err := s.marks.open(ctx, 0)
	if err != nil {
		return fmt.Errorf("take connect state: %w", err)
	}
	key := "state." + kvbucket.Key(state)
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("take connect state: %w", ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("take connect state: %w", err)
	}
	// Only the caller whose delete wins the compare-and-set takes the state.
	if err := kv.Delete(ctx, key, jetstream.LastRevision(e.Revision())); kvbucket.IsRevisionMismatch(err) {
		return fmt.Errorf("take connect state: %w", ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("take connect state: %w", err)
	}
	var m kvMark
	if json.Unmarshal(e.Value(), &m) != nil || !time.Now().Before(m.ExpiresAt) {
		return fmt.Errorf("take connect state: %w", ErrNotFound)
	}
	return nil
}

// MarkWebhookEvent reports whether id is marked for the first time within ttl.
func (s *KV) MarkWebhookEvent(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	ok, err := s.mark(ctx, "event."+kvbucket.Key(id), ttl)
	if err != nil {
		return false, fmt.Errorf("mark webhook event: %w", err)
	}
	return ok, nil
}

// WebhookEventSeen reports whether id holds a mark that has not expired.
func (s *KV) WebhookEventSeen(ctx context.Context, id string) (bool, error) {
	kv, err := s.marks.open(ctx, 0)
	if err != nil {
		return false, fmt.Errorf("webhook event seen: %w", err)
	}
	e, err := kv.Get(ctx, "event."+kvbucket.Key(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("webhook event seen: %w", err)
	}
	var m kvMark
	return json.Unmarshal(e.Value(), &m) == nil && time.Now().Before(m.ExpiresAt), nil
}
