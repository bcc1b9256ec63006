// Package kvlock is a lock held in a JetStream KV bucket for as long as a
// process runs: the daemon takes it when several processes could share one
// store and only one may use it (the embedded token store on an external
// NATS server: a second replica would double the app's rate budget and could
// poll a vehicle twice at once).
//
// The lock is one key in a bucket whose MaxAge is the lock's TTL. Acquire
// creates the key (kv.Create fails while another holder's key exists) and a
// heartbeat rewrites it every TTL/3 (kv.Update on the last revision), so
// the key lives as long as its holder: a clean Release deletes it, and the
// key of a holder that stopped heartbeating (it crashed, or lost NATS for a
// TTL) ages out of the bucket within the TTL. Nothing here needs more than
// nats-server 2.9 (no per-message TTLs).
//
// kvlock knows nothing of what the lock protects.
package kvlock

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// DefaultTTL is the lock's TTL when Config.TTL is zero: a crashed holder's
// lock frees itself within it.
const DefaultTTL = 30 * time.Second

// key is the lock's key in its bucket.
const key = "holder"

// Config says which lock to take and how.
type Config struct {
	// Bucket is the KV bucket of the lock (created with MaxAge TTL if missing).
	Bucket string
	// Replicas of the bucket when it is created (default 1).
	Replicas int
	// TTL bounds how long a holder's key outlives its last heartbeat (default DefaultTTL).
	TTL time.Duration
	// Wait is how long Acquire waits for another holder's lock to be
	// released or to expire (default TTL plus a third: a holder that just
	// crashed has then lost it).
	Wait time.Duration
	// Holder describes this process in the key, for the errors and logs of
	// the others (default "<hostname> pid <pid>").
	Holder string
}

// Holder is the content of the lock's key.
type Holder struct {
	Holder string    `json:"holder"`
	Since  time.Time `json:"since"`
}

// ErrHeld is matched by the *HeldError of a lock another process kept for
// longer than Config.Wait.
var ErrHeld = errors.New("lock held by another process")

// HeldError says who holds the lock.
type HeldError struct {
	Bucket string
	Holder Holder // zero if it could not be read
	Waited time.Duration
}

func (e *HeldError) Error() string {
	who := e.Holder.Holder
	if who == "" {
		who = "another process"
	} else {
		who += ", since " + e.Holder.Since.Format(time.RFC3339)
	}
	return fmt.Sprintf("lock %s is held by %s (waited %s)", e.Bucket, who, e.Waited.Round(time.Second))
}

// Is makes errors.Is(err, ErrHeld) true.
func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// ErrLost is matched by Lock.Err once the lock could not be renewed.
var ErrLost = errors.New("lock lost")

// Lock is a held lock with its heartbeat.
type Lock struct {
	kv   jetstream.KeyValue
	cfg  Config
	log  *slog.Logger
	body []byte

	stop   context.CancelFunc
	done   chan struct{} // closed when the heartbeat returns
	lost   chan struct{} // closed when the lock is lost
	mu     sync.Mutex
	rev    uint64 // the key's revision this holder last wrote
	err    error  // why the lock was lost
	closed bool
}

// Acquire takes the lock, waiting up to cfg.Wait for another holder's lock
// to be released or to expire (logging once that it waits), and starts the
// heartbeat. The error after the wait is a *HeldError naming the holder.
func Acquire(ctx context.Context, js jetstream.JetStream, cfg Config, log *slog.Logger) (*Lock, error) {
	cfg.TTL = cmp.Or(cfg.TTL, DefaultTTL)
	cfg.Wait = cmp.Or(cfg.Wait, cfg.TTL+cfg.TTL/3)
	cfg.Replicas = max(cfg.Replicas, 1)
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		cfg.Holder = fmt.Sprintf("%s pid %d", host, os.Getpid())
	}
	if cfg.Bucket == "" {
		return nil, errors.New("acquire lock: no bucket")
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      cfg.Bucket,
		Description: "smartcar-poller: the process allowed to run on this store",
		History:     1,
		TTL:         cfg.TTL,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("acquire lock: bucket %s: %w", cfg.Bucket, err)
	}
	body, err := json.Marshal(Holder{Holder: cfg.Holder, Since: time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return nil, fmt.Errorf("acquire lock: %w", err)
	}
	l := &Lock{kv: kv, cfg: cfg, log: log, body: body, done: make(chan struct{}), lost: make(chan struct{})}

	start := time.Now()
	retry := time.NewTicker(min(max(cfg.TTL/10, 100*time.Millisecond), time.Second))
	defer retry.Stop()
	logged := false
	for {
		sent := time.Now()
		rev, err := kv.Create(ctx, key, body)
		if err == nil {
			l.rev = rev
			hctx, stop := context.WithCancel(context.WithoutCancel(ctx))
			l.stop = stop
			go l.heartbeat(hctx, sent)
			return l, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, fmt.Errorf("acquire lock %s: %w", cfg.Bucket, err)
		}
		holder := l.holder(ctx)
		if waited := time.Since(start); waited >= cfg.Wait {
			return nil, &HeldError{Bucket: cfg.Bucket, Holder: holder, Waited: waited}
		}
		if !logged {
			log.WarnContext(ctx, "waiting for the lock held by another process to be released or to expire",
				"lock", cfg.Bucket, "holder", holder.Holder, "since", holder.Since, "wait", cfg.Wait)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("acquire lock %s: %w", cfg.Bucket, ctx.Err())
		case <-retry.C:
		}
	}
}

// holder reads the current holder (zero if there is none or it cannot be read).
func (l *Lock) holder(ctx context.Context) Holder {
	var h Holder
	if e, err := l.kv.Get(ctx, key); err == nil {
		_ = json.Unmarshal(e.Value(), &h)
	}
	return h
}

// heartbeat rewrites the key every TTL/3. The key exists until at least a
// TTL after the last write that succeeded was sent; past that instant, or as
// soon as the key has another revision than the one written last (deleted,
// expired, taken), the lock is lost.
func (l *Lock) heartbeat(ctx context.Context, lastSent time.Time) {
	defer close(l.done)
	t := time.NewTicker(l.cfg.TTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		deadline := lastSent.Add(l.cfg.TTL)
		sent := time.Now()
		if !sent.Before(deadline) {
			l.lose(fmt.Errorf("%w: not renewed for %s", ErrLost, l.cfg.TTL))
			return
		}
		uctx, cancel := context.WithDeadline(ctx, deadline)
		l.mu.Lock()
		rev := l.rev
		l.mu.Unlock()
		next, err := l.kv.Update(uctx, key, l.body, rev)
		cancel()
		switch {
		case err == nil:
			l.mu.Lock()
			l.rev = next
			l.mu.Unlock()
			lastSent = sent
		case errors.Is(err, jetstream.ErrKeyExists): // wrong last revision: expired or taken
			l.lose(fmt.Errorf("%w: the key changed under this holder (expired or taken)", ErrLost))
			return
		case ctx.Err() != nil:
			return
		default:
			l.log.WarnContext(ctx, "lock heartbeat failed; retrying", "lock", l.cfg.Bucket, "err", err, "expires", deadline)
		}
	}
}

func (l *Lock) lose(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = fmt.Errorf("lock %s: %w", l.cfg.Bucket, err)
		close(l.lost)
	}
}

// Lost is closed when the lock was lost: the holder must stop what the lock
// protects.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Err says why the lock was lost (it wraps ErrLost), nil while it is held.
func (l *Lock) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Release stops the heartbeat and deletes the key if this holder still owns
// it, so the next holder does not wait for it to expire. It returns the
// heartbeat's Err, if any, or the delete's error.
func (l *Lock) Release(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	l.stop()
	<-l.done
	if err := l.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	rev := l.rev
	l.mu.Unlock()
	if err := l.kv.Delete(ctx, key, jetstream.LastRevision(rev)); err != nil {
		return fmt.Errorf("release lock %s: %w", l.cfg.Bucket, err)
	}
	return nil
}
