package kvbucket

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/natsname"
)

// DefaultPrefix is the prefix of the buckets when none is given.
const DefaultPrefix = "smartcar"

// CheckPrefix rejects a prefix that would not make valid bucket names (the
// rule of natsname.CheckPrefix); the empty prefix stands for DefaultPrefix.
func CheckPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return natsname.CheckPrefix(prefix)
}

// Name returns the bucket <PREFIX>_<suffix>: the prefix (DefaultPrefix when
// empty) upper-cased with '-' turned into '_'.
func Name(prefix, suffix string) string {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return strings.ToUpper(strings.ReplaceAll(prefix, "-", "_")) + "_" + suffix
}

// LocksDescription is the description of the <PREFIX>_LOCKS bucket, which
// the credentials (refresh locks) and the registry (poll leases, holds,
// webhook times) share: whichever opens it first creates it.
const LocksDescription = "smartcar-poller refresh locks, poll leases and Retry-After holds"

// Config is the configuration of a bucket Open creates.
type Config struct {
	Name, Description string
	// Replicas is the number of JetStream replicas (at least 1).
	Replicas int
	// TTL is the bucket's MaxAge (0: entries are kept for ever).
	TTL time.Duration
}

// Open returns the bucket, creating it with file storage and one revision
// per key if it does not exist. A bucket that exists keeps its configuration.
func Open(ctx context.Context, js jetstream.JetStream, c Config) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, c.Name)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("bucket %s: %w", c.Name, err)
	}
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: c.Name, Description: c.Description, History: 1, Storage: jetstream.FileStorage,
		Replicas: max(c.Replicas, 1), TTL: c.TTL,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		kv, err = js.KeyValue(ctx, c.Name) // another process created it first
	}
	if err != nil {
		return nil, fmt.Errorf("create bucket %s: %w", c.Name, err)
	}
	return kv, nil
}

// CheckReplicas rejects a replica count JetStream does not accept; 0 means 1.
func CheckReplicas(n int) error {
	if n < 0 || n > 5 {
		return fmt.Errorf("replicas %d: want 1 to 5", n)
	}
	return nil
}

// Key escapes s into one valid key token: bytes outside [A-Za-z0-9_-]
// become =XX.
func Key(s string) string {
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

// ErrBadKey is returned by Unkey for a key Key did not make.
var ErrBadKey = errors.New("malformed key")

// Unkey reverses Key.
func Unkey(k string) (string, error) {
	if !strings.Contains(k, "=") {
		return k, nil
	}
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		if k[i] != '=' {
			b.WriteByte(k[i])
			continue
		}
		if i+2 >= len(k) {
			return "", fmt.Errorf("key %q: %w", k, ErrBadKey)
		}
		n, err := strconv.ParseUint(k[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("key %q: %w", k, ErrBadKey)
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String(), nil
}

// CASRetries bounds the read-modify-write loops that lose a race.
const CASRetries = 50

// IsRevisionMismatch reports whether err is a lost compare-and-set (Create
// of an existing key, Update or Delete at a stale revision).
func IsRevisionMismatch(err error) bool {
	return errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists)
}

// LastSeq returns the sequence of the last message of kv's stream and how
// many messages the stream holds.
func LastSeq(ctx context.Context, kv jetstream.KeyValue) (last, msgs uint64, err error) {
	st, err := kv.Status(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("bucket status: %w", err)
	}
	info, ok := st.(interface{ StreamInfo() *jetstream.StreamInfo })
	if !ok || info.StreamInfo() == nil {
		return 0, 0, errors.New("bucket status without stream info")
	}
	state := info.StreamInfo().State
	return state.LastSeq, state.Msgs, nil
}

// StopWatch stops w and drains its channel, so the delivery callback (which
// blocks on a full channel) can finish and close it.
func StopWatch(w jetstream.KeyWatcher) {
	_ = w.Stop()
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case _, ok := <-w.Updates():
			if !ok {
				return
			}
		case <-t.C:
			return
		}
	}
}
