package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// KVMarksBucket names the bucket of Connect states and webhook event marks
// for prefix. It is created on first use, so stores that never onboard do
// not have it, and its MaxAge follows the longest ttl asked for (at least
// minMarksMaxAge, at most MaxMarkTTL).
func KVMarksBucket(prefix string) string {
	if prefix == "" {
		prefix = DefaultKVPrefix
	}
	return strings.ToUpper(strings.ReplaceAll(prefix, "-", "_")) + "_MARKS"
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
			kv, err = m.js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket: m.bucket, Description: "smartcar-poller Connect states and webhook event ids",
				History: 1, Storage: jetstream.FileStorage, TTL: max(want, minMarksMaxAge), Replicas: m.replicas,
			})
			if errors.Is(err, jetstream.ErrBucketExists) {
				kv, err = m.js.KeyValue(ctx, m.bucket)
			}
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
func (s *KVStore) mark(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ttl = markTTL(ttl)
	kv, err := s.marks.open(ctx, ttl)
	if err != nil {
		return false, err
	}
	val, err := json.Marshal(kvMark{ExpiresAt: time.Now().Add(ttl).UTC()})
	if err != nil {
		return false, err
	}
	for range casRetries {
		_, err := kv.Create(ctx, key, val)
		if err == nil {
			return true, nil
		}
		if !isRevisionMismatch(err) {
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
		} else if !isRevisionMismatch(err) {
			return false, err
		}
	}
	return false, ErrConflict
}

// PutConnectState remembers a Connect state for ttl.
func (s *KVStore) PutConnectState(ctx context.Context, state string, ttl time.Duration) error {
	ok, err := s.mark(ctx, "state."+kvKey(state), ttl)
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
func (s *KVStore) TakeConnectState(ctx context.Context, state string) error {
	kv, err := s.marks.open(ctx, 0)
	if err != nil {
		return fmt.Errorf("take connect state: %w", err)
	}
	key := "state." + kvKey(state)
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("take connect state: %w", ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("take connect state: %w", err)
	}
	// Only the caller whose delete wins the compare-and-set takes the state.
	if err := kv.Delete(ctx, key, jetstream.LastRevision(e.Revision())); isRevisionMismatch(err) {
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
func (s *KVStore) MarkWebhookEvent(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	ok, err := s.mark(ctx, "event."+kvKey(id), ttl)
	if err != nil {
		return false, fmt.Errorf("mark webhook event: %w", err)
	}
	return ok, nil
}

// TouchWebhook records a webhook from the vehicle at t; an older t is
// ignored. The times live in the locks bucket as webhook.<vehicle id>.
func (s *KVStore) TouchWebhook(ctx context.Context, vehicleID string, t time.Time) error {
	key := "webhook." + kvKey(vehicleID)
	val := []byte(strconv.FormatInt(t.UnixNano(), 10))
	for range casRetries {
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
		if !isRevisionMismatch(err) {
			return fmt.Errorf("touch webhook: %w", err)
		}
	}
	return fmt.Errorf("touch webhook: %w", ErrConflict)
}

// LastWebhooks returns each vehicle's last webhook time.
func (s *KVStore) LastWebhooks(ctx context.Context) (map[string]time.Time, error) {
	w, err := s.locks.Watch(ctx, "webhook.*", jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("last webhooks: %w", err)
	}
	defer func() { _ = w.Stop() }()
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
			out[kvKeyDecode(strings.TrimPrefix(e.Key(), "webhook."))] = time.Unix(0, ns).UTC()
		case <-ctx.Done():
			return nil, fmt.Errorf("last webhooks: %w", ctx.Err())
		}
	}
}

// kvKeyDecode reverses kvKey.
func kvKeyDecode(k string) string {
	if !strings.Contains(k, "=") {
		return k
	}
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		if k[i] == '=' && i+2 < len(k) {
			if c, err := strconv.ParseUint(k[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(k[i])
	}
	return b.String()
}

// ForgetWebhookEvent removes id's mark, so a redelivery is processed again
// (after processing the first delivery failed).
func (s *KVStore) ForgetWebhookEvent(ctx context.Context, id string) error {
	kv, err := s.marks.open(ctx, 0)
	if err == nil {
		err = kv.Delete(ctx, "event."+kvKey(id))
	}
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("forget webhook event: %w", err)
	}
	return nil
}
