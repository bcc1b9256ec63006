package registry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// PollToucher is where a PollRecorder writes last-poll times (a Store).
type PollToucher interface {
	TouchPoll(ctx context.Context, id string, t time.Time) error
}

// DefaultPollRecordEvery is how often a PollRecorder writes by default.
const DefaultPollRecordEvery = 5 * time.Second

// PollRecorder takes the write of a vehicle's last poll off the poll: its
// TouchPoll only notes the time in memory, and Run writes what was noted to
// the store every interval, one write per vehicle however often it was
// polled meanwhile. A vehicle's LastPoll (shown by `vehicles list`, read by
// nothing that decides anything) is thus up to one interval behind. Writes
// that fail are kept for the next round; a vehicle removed meanwhile is
// forgotten. It is safe for concurrent use.
type PollRecorder struct {
	store PollToucher
	every time.Duration
	log   *slog.Logger

	mu      sync.Mutex
	pending map[string]time.Time

	writes, failures atomic.Int64
}

// NewPollRecorder returns a recorder writing to store every interval
// (DefaultPollRecordEvery when zero or negative).
func NewPollRecorder(store PollToucher, every time.Duration, log *slog.Logger) *PollRecorder {
	if every <= 0 {
		every = DefaultPollRecordEvery
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PollRecorder{store: store, every: every, log: log.With("component", "poll-recorder"),
		pending: make(map[string]time.Time)}
}

// Recording returns store with its TouchPoll going through r (everything
// else is store's): what the daemon's worker uses as its registry.
func (r *PollRecorder) Recording(store Store) Store { return recordingStore{Store: store, polls: r} }

type recordingStore struct {
	Store
	polls *PollRecorder
}

func (s recordingStore) TouchPoll(ctx context.Context, id string, t time.Time) error {
	return s.polls.TouchPoll(ctx, id, t)
}

// TouchPoll notes that vehicle id was polled at t; it never fails.
func (r *PollRecorder) TouchPoll(_ context.Context, id string, t time.Time) error {
	r.note(id, t)
	return nil
}

func (r *PollRecorder) note(id string, t time.Time) {
	r.mu.Lock()
	if cur, ok := r.pending[id]; !ok || t.After(cur) {
		r.pending[id] = t
	}
	r.mu.Unlock()
}

// Pending returns how many vehicles have a last poll not yet written.
func (r *PollRecorder) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// Writes returns how many last-poll writes succeeded and failed so far.
func (r *PollRecorder) Writes() (ok, failed int64) { return r.writes.Load(), r.failures.Load() }

// Run writes the noted polls every interval until ctx is done, then once
// more (for up to 10 s) so a clean shutdown loses none.
func (r *PollRecorder) Run(ctx context.Context) error {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := r.Flush(fctx); err != nil {
				r.log.Warn("last polls not recorded at shutdown", "vehicles", r.Pending(), "err", err)
			}
			return nil
		case <-t.C:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("record last polls; retrying next round", "vehicles", r.Pending(), "err", err)
			}
		}
	}
}

// flushParallel bounds the writes in flight in one Flush.
const flushParallel = 16

// Flush writes every noted poll now. Those that fail stay noted (unless a
// newer poll was noted meanwhile) and the first error is returned.
func (r *PollRecorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	batch := r.pending
	r.pending = make(map[string]time.Time, cmp.Or(len(batch), 16))
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	var (
		mu    sync.Mutex
		first error
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(flushParallel)
	for id, at := range batch {
		g.Go(func() error {
			err := r.store.TouchPoll(gctx, id, at)
			switch {
			case err == nil:
				r.writes.Add(1)
			case errors.Is(err, ErrNotFound):
				// Removed since the poll: nothing to record.
			default:
				r.failures.Add(1)
				r.note(id, at)
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("record last poll of %s: %w", id, err)
				}
				mu.Unlock()
			}
			return nil // keep writing the others
		})
	}
	_ = g.Wait()
	return first
}
