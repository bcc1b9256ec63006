package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// FailuresTTL is how long the failures bucket keeps a job's count after its
// last failure. A job acked or terminated has its count deleted at once; the
// TTL only clears counts whose job went away otherwise (a purged stream).
const FailuresTTL = 24 * time.Hour

// kvTimeout bounds one operation on the failures bucket.
const kvTimeout = 5 * time.Second

// FailuresBucket returns the name of the KV bucket that counts the failed
// deliveries of the jobs of prefix: the prefix upper-cased, '-' replaced by
// '_', then "_JOB_FAILURES".
func FailuresBucket(prefix string) string { return upper(prefix) + "_JOB_FAILURES" }

// failureCount is what the failures bucket holds for a job, under the key of
// its stream sequence. The job id guards against a sequence reused by a
// stream deleted and created again.
type failureCount struct {
	Job      string `json:"job"`
	Failures int    `json:"failures"`
	Panics   int    `json:"panics,omitempty"`
}

// failures counts failed deliveries per job in a KV bucket that every replica
// shares. JetStream counts deliveries, but a snooze or a hand-back at
// shutdown is a delivery too, so it cannot tell them from failures.
type failures struct{ kv jetstream.KeyValue }

func newFailures(ctx context.Context, js jetstream.JetStream, cfg Config) (failures, error) {
	name := FailuresBucket(cfg.Prefix)
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      name,
		Description: "smartcar-poller failed deliveries per job (key: the job's stream sequence)",
		History:     1,
		TTL:         FailuresTTL,
		Storage:     cfg.Storage,
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		return failures{}, fmt.Errorf("create kv bucket %s: %w", name, err)
	}
	return failures{kv: kv}, nil
}

func failureKey(seq uint64) string { return strconv.FormatUint(seq, 10) }

// get returns the job's count (zero when there is none, or only a stale one)
// and the entry's revision (0 when there is no entry to update).
func (f failures) get(ctx context.Context, seq uint64, jobID string) (failureCount, uint64, error) {
	e, err := f.kv.Get(ctx, failureKey(seq))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return failureCount{}, 0, nil
	}
	if err != nil {
		return failureCount{}, 0, fmt.Errorf("read failures of job %d: %w", seq, err)
	}
	var c failureCount
	if err := json.Unmarshal(e.Value(), &c); err != nil || c.Job != jobID {
		return failureCount{}, e.Revision(), nil // stale or foreign: overwritten by the next add
	}
	return c, e.Revision(), nil
}

// add counts one more failure of the job (and a panic if panicked) and
// returns the new count. Only the replica holding the job writes its key,
// so a conflict means an ack timeout handed the job to another replica at
// the same time: read again and add on top.
func (f failures) add(ctx context.Context, seq uint64, jobID string, panicked bool) (failureCount, error) {
	var err error
	for range 3 {
		var (
			c   failureCount
			rev uint64
		)
		if c, rev, err = f.get(ctx, seq, jobID); err != nil {
			return failureCount{}, err
		}
		c.Job = jobID
		c.Failures++
		if panicked {
			c.Panics++
		}
		val, _ := json.Marshal(c) // a struct of strings and ints
		if rev == 0 {
			_, err = f.kv.Create(ctx, failureKey(seq), val)
		} else {
			_, err = f.kv.Update(ctx, failureKey(seq), val, rev)
		}
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			break
		}
	}
	return failureCount{}, fmt.Errorf("count failure of job %d: %w", seq, err)
}

// forget deletes the job's count once the job is gone.
func (f failures) forget(ctx context.Context, seq uint64) error {
	if err := f.kv.Delete(ctx, failureKey(seq)); err != nil {
		return fmt.Errorf("forget failures of job %d: %w", seq, err)
	}
	return nil
}
