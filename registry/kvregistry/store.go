package kvregistry

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
	"github.com/smartcar-poller/smartcar-poller/registry"
)

// Config configures Open. Zero fields take the defaults.
type Config struct {
	// Prefix names the buckets (default kvbucket.DefaultPrefix, "smartcar").
	Prefix string
	// Replicas is the number of JetStream replicas of the buckets Open
	// creates (default 1; up to 5, for a NATS cluster). Buckets that exist
	// keep theirs.
	Replicas int
}

// Buckets returns the names of the vehicles and locks buckets for prefix.
func Buckets(prefix string) (vehicles, locks string) {
	return kvbucket.Name(prefix, "VEHICLES"), kvbucket.Name(prefix, "LOCKS")
}

// Store is a registry.Store on JetStream KV.
type Store struct {
	js              jetstream.JetStream
	vehicles, locks jetstream.KeyValue
	plans, calls    jetstream.KeyValue // adaptive schedules' plans; billed-call counts (plans.go)
	mirrors         kvMirrors          // in-memory vehicles, holds and due index (mirror.go)
}

var _ registry.Store = (*Store)(nil)

// Open opens the store's buckets, creating them with file storage if they
// do not exist.
func Open(ctx context.Context, js jetstream.JetStream, cfg Config) (*Store, error) {
	if err := kvbucket.CheckPrefix(cfg.Prefix); err != nil {
		return nil, fmt.Errorf("open kv registry: %w", err)
	}
	if err := kvbucket.CheckReplicas(cfg.Replicas); err != nil {
		return nil, fmt.Errorf("open kv registry: %w", err)
	}
	v, l := Buckets(cfg.Prefix)
	s := &Store{js: js}
	var err error
	if s.vehicles, err = kvbucket.Open(ctx, js, kvbucket.Config{Name: v, Description: "smartcar-poller vehicle registry", Replicas: cfg.Replicas}); err != nil {
		return nil, fmt.Errorf("open kv registry: %w", err)
	}
	if s.locks, err = kvbucket.Open(ctx, js, kvbucket.Config{Name: l, Description: kvbucket.LocksDescription, Replicas: cfg.Replicas}); err != nil {
		return nil, fmt.Errorf("open kv registry: %w", err)
	}
	p, c := PlanBuckets(cfg.Prefix)
	if s.plans, err = kvbucket.Open(ctx, js, kvbucket.Config{Name: p, Description: "smartcar-poller adaptive schedules' plans", Replicas: cfg.Replicas}); err != nil {
		return nil, fmt.Errorf("open kv registry: %w", err)
	}
	if s.calls, err = kvbucket.Open(ctx, js, kvbucket.Config{Name: c, Description: "smartcar-poller billed calls per vehicle and month", Replicas: cfg.Replicas}); err != nil {
		return nil, fmt.Errorf("open kv registry: %w", err)
	}
	return s, nil
}

// kvVehicle is the stored form of a vehicle in the vehicles bucket.
type kvVehicle struct {
	ID          string        `json:"id"`
	GrantID     string        `json:"grant_id"`
	UserID      string        `json:"user_id,omitempty"`
	Tags        []string      `json:"tags,omitempty"`
	Status      events.Status `json:"status"`
	Reason      string        `json:"reason,omitempty"`
	LastPoll    time.Time     `json:"last_poll,omitzero"`
	ConnectedAt time.Time     `json:"connected_at"`
}

func encodeVehicle(v registry.Vehicle) ([]byte, error) {
	b, err := json.Marshal(kvVehicle{ID: v.ID, GrantID: v.GrantID, UserID: v.UserID, Tags: v.Tags, Status: v.Status,
		Reason: v.Reason, LastPoll: v.LastPoll.UTC(), ConnectedAt: v.ConnectedAt.UTC()})
	if err != nil {
		return nil, fmt.Errorf("encode vehicle %s: %w", v.ID, err)
	}
	return b, nil
}

func decodeVehicle(b []byte) (registry.Vehicle, error) {
	var r kvVehicle
	if err := json.Unmarshal(b, &r); err != nil {
		return registry.Vehicle{}, fmt.Errorf("decode vehicle: %w", registry.ErrMalformed)
	}
	// The known statuses as the constants, not a string per vehicle (the
	// mirror holds every vehicle).
	if i := slices.Index(knownStatuses, r.Status); i >= 0 {
		r.Status = knownStatuses[i]
	}
	return registry.Vehicle(r), nil
}

var knownStatuses = events.Statuses()

// PutVehicle registers or replaces a vehicle.
func (s *Store) PutVehicle(ctx context.Context, v registry.Vehicle) error {
	if err := registry.CheckID(v.ID); err != nil {
		return err
	}
	st, err := registry.NormStatus(v.Status)
	if err != nil {
		return fmt.Errorf("put vehicle %s: %w", v.ID, err)
	}
	v.Status = st
	b, err := encodeVehicle(v)
	if err != nil {
		return err
	}
	rev, err := s.vehicles.Put(ctx, kvbucket.Key(v.ID), b)
	if err != nil {
		return fmt.Errorf("put vehicle %s: %w", v.ID, err)
	}
	s.mirrors.vehicles.put(kvbucket.Key(v.ID), b, rev)
	return nil
}

// GetVehicle returns a registered vehicle.
func (s *Store) GetVehicle(ctx context.Context, id string) (registry.Vehicle, error) {
	v, _, err := s.getVehicle(ctx, id)
	return v, err
}

func (s *Store) getVehicle(ctx context.Context, id string) (registry.Vehicle, uint64, error) {
	return s.readVehicle(ctx, id, true)
}

// readForWrite reads the vehicle a write starts from: from the mirror when
// mirrored, but from the server when the mirror does not know it (another
// process may have registered it a moment ago).
func (s *Store) readForWrite(ctx context.Context, id string, mirrored bool) (registry.Vehicle, uint64, error) {
	v, rev, err := s.readVehicle(ctx, id, mirrored)
	if mirrored && errors.Is(err, registry.ErrNotFound) {
		return s.readVehicle(ctx, id, false)
	}
	return v, rev, err
}

// readVehicle reads the vehicle from the mirror when allowed and loaded,
// otherwise from the server.
func (s *Store) readVehicle(ctx context.Context, id string, mirrored bool) (registry.Vehicle, uint64, error) {
	if err := registry.CheckID(id); err != nil {
		return registry.Vehicle{}, 0, err
	}
	if mirrored {
		if v, rev, found, ok := s.mirrors.vehicles.get(kvbucket.Key(id)); ok {
			if !found {
				return registry.Vehicle{}, 0, fmt.Errorf("get vehicle %s: %w", id, registry.ErrNotFound)
			}
			return v.vehicle(), rev, nil
		}
	}
	e, err := s.vehicles.Get(ctx, kvbucket.Key(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return registry.Vehicle{}, 0, fmt.Errorf("get vehicle %s: %w", id, registry.ErrNotFound)
	}
	if err != nil {
		return registry.Vehicle{}, 0, fmt.Errorf("get vehicle %s: %w", id, err)
	}
	v, err := decodeVehicle(e.Value())
	return v, e.Revision(), err
}

// ListVehicles reads the latest value of every key through one KV watch
// (an ordered consumer over the bucket's stream), so it costs one stream pass
// instead of a request per vehicle.
//
// Keys are rewritten while the pass runs (TouchPoll on every poll, holds,
// statuses): the rewrite deletes the old message, perhaps before the pass
// reached it, and appends the new one at the tail. Neither the watch's
// "initial values done" marker (it counts rewrites towards the values it
// expects) nor a zero pending count (updated asynchronously) proves that
// the pass has seen every key. So the pass reads the whole stream in order
// and ends only once it has applied the message the stream itself reports
// as its last: every key's newest message is then behind it.
func (s *Store) ListVehicles(ctx context.Context) ([]registry.Vehicle, error) {
	if vs, ok := s.listMirrored(); ok {
		return vs, nil
	}
	w, err := s.vehicles.WatchAll(ctx, jetstream.IncludeHistory())
	if err != nil {
		return nil, fmt.Errorf("list vehicles: %w", err)
	}
	defer kvbucket.StopWatch(w)
	var seen passEntries
	var applied, tail uint64 // revision of the last message applied; the stream's last when last asked
	for {
		// Ask the stream for its tail whenever the pass looks caught up.
		for applied >= tail {
			last, msgs, err := kvbucket.LastSeq(ctx, s.vehicles)
			if err != nil {
				return nil, fmt.Errorf("list vehicles: %w", err)
			}
			if last <= applied || msgs == 0 {
				return seen.latest(), nil
			}
			tail = last
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list vehicles: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("list vehicles: watch closed")
			}
			if e == nil { // the watch's marker: see above
				continue
			}
			applied = max(applied, e.Revision())
			if e.Operation() != jetstream.KeyValuePut {
				seen.add(e.Key(), registry.Vehicle{}, true)
				continue
			}
			v, err := decodeVehicle(e.Value())
			if err != nil {
				return nil, fmt.Errorf("list vehicles: key %s: %w", e.Key(), err)
			}
			seen.add(e.Key(), v, false)
		}
	}
}

// listMirrored lists the vehicles from the mirror; ok is false when it is not
// loaded.
func (s *Store) listMirrored() ([]registry.Vehicle, bool) {
	out := make([]registry.Vehicle, 0, s.mirrors.vehicles.len())
	if !s.mirrors.vehicles.each(func(v mirrorVehicle) {
		out = append(out, v.vehicle())
	}) {
		return nil, false
	}
	slices.SortFunc(out, func(a, b registry.Vehicle) int { return cmp.Compare(a.ID, b.ID) })
	return out, true
}

// passEntries are the entries of a pass in stream order; a key rewritten
// during the pass appears again later, a deleted one marked so.
type passEntries struct {
	keys    []string
	vs      []registry.Vehicle
	deleted []bool
}

func (p *passEntries) add(key string, v registry.Vehicle, deleted bool) {
	p.keys = append(p.keys, key)
	p.vs = append(p.vs, v)
	p.deleted = append(p.deleted, deleted)
}

// latest returns each key's last entry, deleted keys left out, sorted by
// ID. Entries arrive almost sorted (registration order), so the sorts are
// cheap; a map would cost more on 100,000 keys.
func (p *passEntries) latest() []registry.Vehicle {
	idx := make([]int32, len(p.keys))
	for i := range idx {
		idx[i] = int32(i)
	}
	// By key, and for one key in stream order: its last entry is its latest.
	if !slices.IsSorted(p.keys) {
		slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(p.keys[a], p.keys[b]) })
	}
	out := make([]registry.Vehicle, 0, len(idx))
	for n, i := range idx {
		if n+1 < len(idx) && p.keys[idx[n+1]] == p.keys[i] {
			continue // a later entry of the same key follows
		}
		if !p.deleted[i] {
			out = append(out, p.vs[i])
		}
	}
	byID := func(a, b registry.Vehicle) int { return cmp.Compare(a.ID, b.ID) }
	if !slices.IsSortedFunc(out, byID) {
		slices.SortFunc(out, byID)
	}
	return out
}

// DeleteVehicle removes a vehicle, its hold, its plans and its call counts.
func (s *Store) DeleteVehicle(ctx context.Context, id string) error {
	if err := registry.CheckID(id); err != nil {
		return err
	}
	if err := s.deletePlansAndCalls(ctx, id); err != nil {
		return fmt.Errorf("delete vehicle %s: plans: %w", id, err)
	}
	if _, _, err := s.readForWrite(ctx, id, true); err != nil {
		return fmt.Errorf("delete vehicle: %w", err)
	}
	if err := s.vehicles.Delete(ctx, kvbucket.Key(id)); err != nil {
		return fmt.Errorf("delete vehicle %s: %w", id, err)
	}
	s.mirrors.vehicles.delAfter(kvbucket.Key(id))
	if err := s.locks.Delete(ctx, "hold."+kvbucket.Key(id)); err != nil {
		return fmt.Errorf("delete vehicle %s: hold: %w", id, err)
	}
	s.mirrors.holds.delAfter("hold." + kvbucket.Key(id))
	return nil
}

// modifyVehicle applies change to the stored vehicle with a compare-and-set,
// retrying when another writer got in between.
func (s *Store) modifyVehicle(ctx context.Context, action, id string, change func(*registry.Vehicle) bool) error {
	for try := range kvbucket.CASRetries {
		// The mirror first; after a lost race it may lag, so the server.
		v, rev, err := s.readForWrite(ctx, id, try == 0)
		if err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
		if !change(&v) {
			return nil
		}
		b, err := encodeVehicle(v)
		if err != nil {
			return err
		}
		next, err := s.vehicles.Update(ctx, kvbucket.Key(id), b, rev)
		if err == nil {
			s.mirrors.vehicles.put(kvbucket.Key(id), b, next)
			return nil
		}
		if !kvbucket.IsRevisionMismatch(err) {
			return fmt.Errorf("%s %s: %w", action, id, err)
		}
	}
	return fmt.Errorf("%s %s: %w", action, id, registry.ErrConflict)
}

// SetStatus sets a registered vehicle's status and reason.
func (s *Store) SetStatus(ctx context.Context, id string, st events.Status, reason string) error {
	if !st.Valid() {
		return fmt.Errorf("set status %s: unknown status %q", id, st)
	}
	return s.modifyVehicle(ctx, "set status", id, func(v *registry.Vehicle) bool {
		v.Status, v.Reason = st, reason
		return true
	})
}

// SetUserID sets a registered vehicle's Smartcar user id.
func (s *Store) SetUserID(ctx context.Context, id, userID string) error {
	if userID == "" {
		return fmt.Errorf("set user id %s: empty user id", id)
	}
	return s.modifyVehicle(ctx, "set user id", id, func(v *registry.Vehicle) bool {
		if v.UserID == userID {
			return false
		}
		v.UserID = userID
		return true
	})
}

// TouchPoll records the vehicle's last poll, never moving it back.
func (s *Store) TouchPoll(ctx context.Context, id string, t time.Time) error {
	return s.modifyVehicle(ctx, "touch poll", id, func(v *registry.Vehicle) bool {
		if !t.After(v.LastPoll) {
			return false
		}
		v.LastPoll = t
		return true
	})
}

// kvHold is the value of a hold key; an expired one counts as none.
type kvHold struct {
	Until int64 `json:"until_ms"`
}

// SetHold extends the vehicle's hold to until.
func (s *Store) SetHold(ctx context.Context, id string, until time.Time) error {
	if err := registry.CheckID(id); err != nil {
		return err
	}
	ms := registry.HoldMillis(until)
	if ms <= time.Now().UnixMilli() {
		return nil
	}
	k := "hold." + kvbucket.Key(id)
	val, err := json.Marshal(kvHold{Until: ms})
	if err != nil {
		return fmt.Errorf("set hold %s: %w", id, err)
	}
	for try := range kvbucket.CASRetries {
		cur, rev, err := s.readHold(ctx, k, try == 0)
		if err != nil {
			return fmt.Errorf("set hold %s: %w", id, err)
		}
		if cur >= ms {
			return nil
		}
		var next uint64
		if rev == 0 {
			next, err = s.locks.Create(ctx, k, val)
		} else {
			next, err = s.locks.Update(ctx, k, val, rev)
		}
		if err == nil {
			s.mirrors.holds.put(k, val, next)
			return nil
		}
		if !kvbucket.IsRevisionMismatch(err) {
			return fmt.Errorf("set hold %s: %w", id, err)
		}
	}
	return fmt.Errorf("set hold %s: %w", id, registry.ErrConflict)
}

// readHold returns the stored hold end in ms and its revision (0, 0 when
// none), from the mirror when allowed and loaded.
func (s *Store) readHold(ctx context.Context, k string, mirrored bool) (int64, uint64, error) {
	if mirrored {
		if ms, rev, found, ok := s.mirrors.holds.get(k); ok {
			if !found {
				return 0, 0, nil
			}
			return ms, rev, nil
		}
	}
	e, err := s.locks.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	ms, err := decodeHold(e.Value())
	if err != nil {
		return 0, e.Revision(), nil // overwrite a malformed hold
	}
	return ms, e.Revision(), nil
}

// decodeHold returns a hold value's end, Unix ms.
func decodeHold(b []byte) (int64, error) {
	var h kvHold
	if err := json.Unmarshal(b, &h); err != nil {
		return 0, fmt.Errorf("decode hold: %w", registry.ErrMalformed)
	}
	return h.Until, nil
}

// Hold returns the end of the vehicle's hold, zero when there is none.
func (s *Store) Hold(ctx context.Context, id string) (time.Time, error) {
	if err := registry.CheckID(id); err != nil {
		return time.Time{}, err
	}
	ms, rev, err := s.readHold(ctx, "hold."+kvbucket.Key(id), true)
	if err != nil {
		return time.Time{}, fmt.Errorf("get hold %s: %w", id, err)
	}
	if rev == 0 {
		return time.Time{}, nil
	}
	return registry.HoldEnd(ms), nil
}
