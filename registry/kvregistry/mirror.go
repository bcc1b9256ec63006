package kvregistry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
)

// kvMirror keeps the latest entry of every key of a bucket (those with one
// of the given prefixes, or all) in memory, fed by a KV watch and by the
// store's own writes (write-through), so reads cost no round trip.
//
// Every entry carries its revision and an entry only replaces one with a
// lower revision, so the watch and the write-through can arrive in either
// order. A delete is kept as a tombstone for the same reason. Reads are
// read-your-writes within the process and follow other processes' writes
// with the watch's delay (milliseconds); writes still go to the server as a
// compare-and-set, so a stale mirror costs a retry, never a lost update.
type kvMirror[T any] struct {
	kv     jetstream.KeyValue
	prefix string // only keys starting with it are kept; "" for all
	decode func([]byte) (T, error)
	log    *slog.Logger
	// keyOf, if set, gives a value's key as a string the value holds (a
	// vehicle's ID): a new entry's key shares its memory when equal.
	keyOf func(T) string

	mu sync.RWMutex
	// The entries: keys numbers the keys, vals holds each key's entry by
	// its number (a dense table, not a Go map: see keyIndex).
	keys  keyIndex
	vals  []mirrorEntry[T]
	live  int  // entries not absent (tombstones included)
	ready bool // loaded up to the bucket's last message at start
	// undecodable: some entry did not decode, so a key missing from entries
	// may exist: misses go to the server.
	undecodable bool
}

type mirrorEntry[T any] struct {
	value   T
	rev     uint64
	deleted bool
	absent  bool // dropped (it did not decode): as if not in the mirror
}

// newKVMirror mirrors kv's keys that start with prefix, decoded by decode;
// an entry that does not decode is logged and left out (reads of it go to
// the server, which reports it).
func newKVMirror[T any](kv jetstream.KeyValue, prefix string, decode func([]byte) (T, error), log *slog.Logger) *kvMirror[T] {
	return &kvMirror[T]{kv: kv, prefix: prefix, decode: decode, log: log}
}

// get returns key's value and revision; ok is false when the mirror cannot
// answer (not loaded), found false when the key does not exist.
func (m *kvMirror[T]) get(key string) (value T, rev uint64, found, ok bool) {
	if m == nil {
		return value, 0, false, false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.ready {
		return value, 0, false, false
	}
	n, exists := m.keys.find(key)
	if !exists || m.vals[n].absent {
		return value, 0, false, !m.undecodable
	}
	e := m.vals[n]
	if e.deleted {
		return value, e.rev, false, true
	}
	return e.value, e.rev, true, true
}

// each calls f with every live entry (under the read lock: f must not call
// back into the mirror); it returns false when the mirror is not loaded.
func (m *kvMirror[T]) each(f func(value T)) bool {
	if m == nil {
		return false
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.ready {
		return false
	}
	for i := range m.vals {
		if e := &m.vals[i]; !e.deleted && !e.absent {
			f(e.value)
		}
	}
	return true
}

// len returns how many entries (tombstones included) the mirror holds.
func (m *kvMirror[T]) len() int {
	if m == nil {
		return 0
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.live
}

// put records a write (ours or the watch's) unless a newer one is known.
func (m *kvMirror[T]) put(key string, b []byte, rev uint64) {
	if m == nil || m.prefix != "" && !strings.HasPrefix(key, m.prefix) {
		return
	}
	v, err := m.decode(b)
	if err != nil {
		m.log.Warn("kv mirror: entry does not decode; reads go to the server", "bucket", m.kv.Bucket(), "key", key, "err", err)
		m.mu.Lock()
		m.undecodable = true
		if n, ok := m.keys.find(key); ok && !m.vals[n].absent {
			m.vals[n] = mirrorEntry[T]{absent: true}
			m.live--
		}
		m.mu.Unlock()
		return
	}
	m.apply(key, v, rev, false)
}

// del records a delete at revision rev.
func (m *kvMirror[T]) del(key string, rev uint64) {
	var zero T
	m.apply(key, zero, rev, true)
}

func (m *kvMirror[T]) apply(key string, value T, rev uint64, deleted bool) {
	if m == nil || m.prefix != "" && !strings.HasPrefix(key, m.prefix) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.keys.find(key)
	if ok && !m.vals[n].absent && m.vals[n].rev >= rev {
		return
	}
	if !ok {
		if k := m.keyOfValue(value, deleted); k == key {
			key = k
		} else {
			key = strings.Clone(key) // not the watched message's subject it may point into
		}
		n = m.keys.add(key)
		m.vals = append(m.vals, mirrorEntry[T]{absent: true})
	}
	if m.vals[n].absent {
		m.live++
	}
	m.vals[n] = mirrorEntry[T]{value: value, rev: rev, deleted: deleted}
}

func (m *kvMirror[T]) keyOfValue(value T, deleted bool) string {
	if m.keyOf == nil || deleted {
		return ""
	}
	return m.keyOf(value)
}

// delAfter records our own delete of key, whose revision the KV API does not
// return: it is at least one past the revision known now, and the watch
// brings the exact one shortly.
func (m *kvMirror[T]) delAfter(key string) {
	if m == nil {
		return
	}
	var rev uint64
	m.mu.Lock()
	if n, ok := m.keys.find(key); ok {
		rev = m.vals[n].rev
	}
	m.mu.Unlock()
	m.del(key, rev+1)
}

// reset empties the mirror and marks it not loaded: reads go to the server
// until the next load completes.
func (m *kvMirror[T]) reset() {
	m.mu.Lock()
	m.ready = false
	m.keys, m.vals, m.live = keyIndex{}, nil, 0
	m.undecodable = false
	m.mu.Unlock()
}

// grow makes room for n more keys (a bucket's message count at the load's
// start), so the load does not regrow the tables; mirrors of a prefix's keys
// only do not know their share and grow as they go.
func (m *kvMirror[T]) grow(n int) {
	if m.prefix != "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys.grow(n)
	m.vals = slices.Grow(m.vals, n)
}

// mirrorSink is what runMirror feeds: a mirror of a bucket's keys.
type mirrorSink interface {
	put(key string, b []byte, rev uint64)
	del(key string, rev uint64)
	// reset empties the sink and marks it not loaded.
	reset()
	// grow is told the bucket's message count before a load.
	grow(n int)
	// setReady marks it loaded up to the bucket's last message at start.
	setReady()
}

func (m *kvMirror[T]) setReady() {
	m.mu.Lock()
	m.ready = true
	m.mu.Unlock()
}

// run loads the bucket and follows it until ctx ends (runMirror).
func (m *kvMirror[T]) run(ctx context.Context, ready chan<- struct{}, reconnected <-chan nats.Status) {
	runMirror(ctx, m.kv, m, m.log, ready, reconnected)
}

// runMirror loads kv into sink and follows it until ctx ends, restarting
// the watch (after a pause) if it fails or closes, e.g. when the server
// restarts. While it is not loaded, reads fall back to the server. ready is
// closed once the first load completed (or never, if ctx ends first).
//
// reconnected reports the connection's reconnects: the watch's consumer
// notices a restarted server only after missing heartbeats (15-25 s), and
// meanwhile other processes' writes would not reach the mirror, so a
// reconnect reloads it at once.
func runMirror(ctx context.Context, kv jetstream.KeyValue, sink mirrorSink, log *slog.Logger, ready chan<- struct{}, reconnected <-chan nats.Status) {
	first := true
	for ctx.Err() == nil {
		err := follow(ctx, kv, sink, reconnected, func() {
			if first {
				first = false
				close(ready)
			}
		})
		sink.reset()
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errReconnected) {
			log.Info("kv mirror reloading after a reconnect", "bucket", kv.Bucket())
			continue
		}
		log.Warn("kv mirror restarting", "bucket", kv.Bucket(), "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// follow watches the bucket; it marks the sink ready (and calls loaded)
// once it applied the message the stream reported as its last before the
// watch began, and returns when the watch ends.
func follow(ctx context.Context, kv jetstream.KeyValue, sink mirrorSink, reconnected <-chan nats.Status, loaded func()) error {
	sink.reset()
	last, msgs, err := kvbucket.LastSeq(ctx, kv)
	if err != nil {
		return err
	}
	if msgs == 0 {
		last = 0
	}
	sink.grow(int(min(msgs, 1<<26)))
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	defer kvbucket.StopWatch(w)
	markReady := func() {
		sink.setReady()
		loaded()
	}
	if last == 0 {
		markReady()
	}
	var applied uint64
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-reconnected:
			return errReconnected
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch closed")
			}
			if e == nil {
				continue // the initial-values marker; see ListVehicles for why it is not enough
			}
			if e.Operation() == jetstream.KeyValuePut {
				sink.put(e.Key(), e.Value(), e.Revision())
			} else {
				sink.del(e.Key(), e.Revision())
			}
			if applied < last && e.Revision() >= last {
				markReady()
			}
			applied = max(applied, e.Revision())
		}
	}
}

var errReconnected = errors.New("reconnected to NATS")

// kvMirrors are the Store's mirrors; nil ones (before StartMirror) answer
// nothing and record nothing.
type kvMirrors struct {
	vehicles *kvMirror[mirrorVehicle]
	holds    *kvMirror[int64] // hold end, Unix ms
	plans    *planIndex       // adaptive schedules' due index

	stop func()
	done sync.WaitGroup
}

// StartMirror keeps the vehicle registry, the Retry-After holds and the
// adaptive schedules' due index in memory, followed through KV watches, so
// that GetVehicle, ListVehicles, Hold (and so StartPoll's reads) and the
// first try of every vehicle write cost no round trip to the server, and
// ClaimDue finds due vehicles without reading the bucket: the daemon reads
// them on every poll and every tick. It returns once all are loaded. Close
// stops it. Reads see this process's writes at once and other processes'
// writes after the watch's delay; poll leases in the bucket, webhook times,
// plans' states and call counts are always read from the server.
func (s *Store) StartMirror(ctx context.Context, log *slog.Logger) error {
	if s.mirrors.stop != nil {
		return errors.New("kv registry: mirror already started")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	vm := newKVMirror(s.vehicles, "", decodeMirrorVehicle, log)
	vm.keyOf = func(v mirrorVehicle) string { return v.id }
	s.mirrors.vehicles = vm
	s.mirrors.holds = newKVMirror(s.locks, "hold.", decodeHold, log)
	s.mirrors.stop = cancel
	nc := s.js.Conn()
	reconnects := func() <-chan nats.Status {
		ch := nc.StatusChanged(nats.CONNECTED)
		context.AfterFunc(mctx, func() { nc.RemoveStatusListener(ch) })
		return ch
	}
	// The index's vehicle ids share the vehicles mirror's strings.
	s.mirrors.plans = newPlanIndex(func(id string) (string, bool) {
		v, _, found, ok := vm.get(kvbucket.Key(id))
		return v.id, ok && found && v.id == id
	})
	vr, hr, pr := reconnects(), reconnects(), reconnects()
	runs := []func(chan<- struct{}){
		func(r chan<- struct{}) { s.mirrors.vehicles.run(mctx, r, vr) },
		func(r chan<- struct{}) { s.mirrors.holds.run(mctx, r, hr) },
		func(r chan<- struct{}) { runMirror(mctx, s.plans, s.mirrors.plans, log, r, pr) },
	}
	for i, run := range runs {
		ready := make(chan struct{})
		s.mirrors.done.Add(1)
		go func() {
			defer s.mirrors.done.Done()
			run(ready)
		}()
		select {
		case <-ready:
		case <-ctx.Done():
			s.Close()
			return fmt.Errorf("kv registry: load mirror %d of %d: %w", i+1, len(runs), ctx.Err())
		}
	}
	return nil
}

// Close stops the mirror (if started); reads then go to the server again.
func (s *Store) Close() {
	if s.mirrors.stop == nil {
		return
	}
	s.mirrors.stop()
	s.mirrors.done.Wait()
	s.mirrors = kvMirrors{}
}
