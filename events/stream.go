package events

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DuplicateWindow is how long the events stream remembers event ids: a job
// redelivered within it cannot store an event twice.
const DuplicateWindow = 10 * time.Minute

// StreamConfig configures the events stream and the latest-state bucket.
// Zero values take defaults: Prefix DefaultPrefix, MaxAge unlimited,
// Replicas 1, Storage file.
type StreamConfig struct {
	Prefix   string
	MaxAge   time.Duration
	Replicas int
	Storage  jetstream.StorageType
}

// EnsureStream creates or updates the events stream <PREFIX>_EVENTS
// (subjects <prefix>.vehicles.>, limits retention, MaxAge, a duplicate window
// of DuplicateWindow or MaxAge if shorter) and the KV bucket <PREFIX>_LATEST
// (history 1). It is safe to call from every replica at start-up.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg StreamConfig) error {
	prefix := cmp.Or(cfg.Prefix, DefaultPrefix)
	if err := ValidatePrefix(prefix); err != nil {
		return fmt.Errorf("ensure events stream: %w", err)
	}
	if cfg.MaxAge < 0 || cfg.Replicas < 0 {
		return fmt.Errorf("ensure events stream: negative max age or replicas")
	}
	replicas := cmp.Or(cfg.Replicas, 1)
	dup := DuplicateWindow
	if cfg.MaxAge > 0 && cfg.MaxAge < dup {
		dup = cfg.MaxAge
	}
	name := StreamName(prefix)
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        name,
		Description: "smartcar-poller vehicle events (CloudEvents)",
		Subjects:    []string{prefix + ".vehicles.>"},
		Retention:   jetstream.LimitsPolicy,
		MaxAge:      cfg.MaxAge,
		Duplicates:  dup,
		Replicas:    replicas,
		Storage:     cfg.Storage,
	})
	if err != nil {
		return fmt.Errorf("ensure stream %s: %w", name, err)
	}
	bucket := LatestBucket(prefix)
	_, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "smartcar-poller latest event per vehicle and signal",
		History:     1,
		Replicas:    replicas,
		Storage:     cfg.Storage,
	})
	if err != nil {
		return fmt.Errorf("ensure kv bucket %s: %w", bucket, err)
	}
	return nil
}
