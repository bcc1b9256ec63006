package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNotFound is returned by Get when no event is stored for the vehicle and
// signal.
var ErrNotFound = errors.New("event not found")

// Latest reads the latest-state KV bucket <PREFIX>_LATEST, which holds the
// JSON of the last published event under key <vehicle_id>.<signal>.
type Latest struct {
	js     jetstream.JetStream
	bucket string

	mu sync.Mutex
	kv jetstream.KeyValue
}

// NewLatest returns a reader of prefix's latest-state bucket (empty prefix:
// DefaultPrefix). The bucket is bound on first use; EnsureStream creates it.
func NewLatest(js jetstream.JetStream, prefix string) (*Latest, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if err := ValidatePrefix(prefix); err != nil {
		return nil, fmt.Errorf("new latest: %w", err)
	}
	return &Latest{js: js, bucket: LatestBucket(prefix)}, nil
}

func (l *Latest) store(ctx context.Context) (jetstream.KeyValue, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kv != nil {
		return l.kv, nil
	}
	kv, err := l.js.KeyValue(ctx, l.bucket)
	if err != nil {
		return nil, fmt.Errorf("bind kv bucket %s: %w", l.bucket, err)
	}
	l.kv = kv
	return kv, nil
}

// Get returns the latest event of vehicleID's signal s, or an error wrapping
// ErrNotFound when there is none. Use GetGeneric for generic signal events.
func (l *Latest) Get(ctx context.Context, vehicleID string, s Signal) (Event, error) {
	key, err := LatestKey(vehicleID, s)
	if err != nil {
		return Event{}, fmt.Errorf("get latest: %w", err)
	}
	ev, _, err := l.get(ctx, key)
	return ev, err
}

// GetGeneric returns vehicleID's latest generic signal event of the API v3
// signal code, or an error wrapping ErrNotFound when there is none.
func (l *Latest) GetGeneric(ctx context.Context, vehicleID, code string) (Event, error) {
	key, err := GenericLatestKey(vehicleID, code)
	if err != nil {
		return Event{}, fmt.Errorf("get latest: %w", err)
	}
	ev, _, err := l.get(ctx, key)
	return ev, err
}

// latestKey returns the key of ev's latest-state entry.
func latestKey(ev Event) (string, error) {
	s, ok := ev.Signal()
	if !ok {
		return "", fmt.Errorf("event %s: type %q: %w", ev.ID, ev.Type, ErrInvalidEvent)
	}
	if err := ValidateVehicleID(ev.Subject); err != nil {
		return "", err
	}
	t, err := topic(ev, s)
	if err != nil {
		return "", err
	}
	return ev.Subject + "." + t, nil
}

func (l *Latest) get(ctx context.Context, key string) (Event, uint64, error) {
	kv, err := l.store(ctx)
	if err != nil {
		return Event{}, 0, fmt.Errorf("get latest %s: %w", key, err)
	}
	entry, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Event{}, 0, fmt.Errorf("get latest %s: %w", key, ErrNotFound)
	} else if err != nil {
		return Event{}, 0, fmt.Errorf("get latest %s: %w", key, err)
	}
	ev, err := Parse(entry.Value())
	if err != nil {
		return Event{}, 0, fmt.Errorf("get latest %s: %w", key, err)
	}
	return ev, entry.Revision(), nil
}

// Changed reports whether ev is worth emitting under "emit: on_change":
// true when no event is stored for its vehicle and signal, when its data
// differs from the stored one (compared as canonical JSON, so key order and
// number spelling don't matter), or when its time (the data age) is later.
// A generic signal event's retrieved_at (when Smartcar read the value, new
// on every poll) is no change: its oem_updated_at and body are.
func (l *Latest) Changed(ctx context.Context, ev Event) (bool, error) {
	key, err := latestKey(ev)
	if err != nil {
		return false, fmt.Errorf("changed: %w", err)
	}
	prev, _, err := l.get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return true, nil
	} else if err != nil {
		return false, fmt.Errorf("changed: %w", err)
	}
	if ev.Time.After(prev.Time) {
		return true, nil
	}
	var ignore string
	if s, _ := ev.Signal(); s == SignalGeneric {
		ignore = "retrieved_at"
	}
	same, err := sameJSON(ev.Data, prev.Data, ignore)
	if err != nil {
		return false, fmt.Errorf("changed: event %s: %w", ev.ID, err)
	}
	return !same, nil
}

// putIfNewer stores raw (the JSON of ev) unless the stored event is ev itself
// or newer, using compare-and-set so a concurrent writer is not overwritten
// blindly. It repairs the bucket when a duplicate publish finds the event
// already stored but the bucket was never updated.
func (l *Latest) putIfNewer(ctx context.Context, ev Event, key string, raw []byte) error {
	kv, err := l.store(ctx)
	if err != nil {
		return err
	}
	for range 5 {
		prev, rev, err := l.get(ctx, key)
		switch {
		case errors.Is(err, ErrNotFound):
			_, err = kv.Create(ctx, key, raw)
		case err != nil:
			return err
		case prev.ID == ev.ID || !newer(ev, prev):
			return nil
		default:
			_, err = kv.Update(ctx, key, raw, rev)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return fmt.Errorf("put latest %s: %w", key, err)
		}
	}
	return fmt.Errorf("put latest %s: concurrent updates, gave up", key)
}

// newer reports whether a carries later data than b: a later data age, or
// the same age and a later fetch.
func newer(a, b Event) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.After(b.Time)
	}
	return a.FetchedAt.After(b.FetchedAt)
}

// sameJSON compares a and b as canonical JSON, without their top-level
// member ignore (none when "").
func sameJSON(a, b json.RawMessage, ignore string) (bool, error) {
	ca, err := canonicalJSON(a, ignore)
	if err != nil {
		return false, err
	}
	cb, err := canonicalJSON(b, ignore)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ca, cb), nil
}

// canonicalJSON re-encodes b with sorted object keys and numbers as
// float64, without its top-level member ignore.
func canonicalJSON(b []byte, ignore string) ([]byte, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	if m, ok := v.(map[string]any); ok && ignore != "" {
		delete(m, ignore)
	}
	return json.Marshal(v)
}
