package tokens

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// kvVehicle is the stored form of a vehicle in the vehicles bucket.
type kvVehicle struct {
	ID          string    `json:"id"`
	GrantID     string    `json:"grant_id"`
	Tags        []string  `json:"tags,omitempty"`
	Status      Status    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	LastPoll    time.Time `json:"last_poll,omitzero"`
	ConnectedAt time.Time `json:"connected_at"`
}

func encodeKVVehicle(v Vehicle) ([]byte, error) {
	b, err := json.Marshal(kvVehicle{ID: v.ID, GrantID: v.GrantID, Tags: v.Tags, Status: v.Status,
		Reason: v.Reason, LastPoll: v.LastPoll.UTC(), ConnectedAt: v.ConnectedAt.UTC()})
	if err != nil {
		return nil, fmt.Errorf("encode vehicle %s: %w", v.ID, err)
	}
	return b, nil
}

func decodeKVVehicle(b []byte) (Vehicle, error) {
	var r kvVehicle
	if err := json.Unmarshal(b, &r); err != nil {
		return Vehicle{}, fmt.Errorf("decode vehicle: %w", errMalformed)
	}
	return Vehicle(r), nil
}

// PutVehicle registers or replaces a vehicle.
func (s *KVStore) PutVehicle(ctx context.Context, v Vehicle) error {
	if err := validID("vehicle", v.ID); err != nil {
		return err
	}
	st, err := normStatus(v.Status)
	if err != nil {
		return fmt.Errorf("put vehicle %s: %w", v.ID, err)
	}
	v.Status = st
	b, err := encodeKVVehicle(v)
	if err != nil {
		return err
	}
	rev, err := s.vehicles.Put(ctx, kvKey(v.ID), b)
	if err != nil {
		return fmt.Errorf("put vehicle %s: %w", v.ID, err)
	}
	s.mirrors.vehicles.put(kvKey(v.ID), b, rev)
	return nil
}

// GetVehicle returns a registered vehicle.
func (s *KVStore) GetVehicle(ctx context.Context, id string) (Vehicle, error) {
	v, _, err := s.getVehicle(ctx, id)
	return v, err
}

func (s *KVStore) getVehicle(ctx context.Context, id string) (Vehicle, uint64, error) {
	return s.readVehicle(ctx, id, true)
}

// readForWrite reads the vehicle a write starts from: from the mirror when
// mirrored, but from the server when the mirror does not know it (another
// process may have registered it a moment ago).
func (s *KVStore) readForWrite(ctx context.Context, id string, mirrored bool) (Vehicle, uint64, error) {
	v, rev, err := s.readVehicle(ctx, id, mirrored)
	if mirrored && errors.Is(err, ErrNotFound) {
		return s.readVehicle(ctx, id, false)
	}
	return v, rev, err
}

// readVehicle reads the vehicle from the mirror when allowed and loaded,
// otherwise from the server.
func (s *KVStore) readVehicle(ctx context.Context, id string, mirrored bool) (Vehicle, uint64, error) {
	if err := validID("vehicle", id); err != nil {
		return Vehicle{}, 0, err
	}
	if mirrored {
		if v, rev, found, ok := s.mirrors.vehicles.get(kvKey(id)); ok {
			if !found {
				return Vehicle{}, 0, fmt.Errorf("get vehicle %s: %w", id, ErrNotFound)
			}
			v.Tags = slices.Clone(v.Tags)
			return v, rev, nil
		}
	}
	e, err := s.vehicles.Get(ctx, kvKey(id))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Vehicle{}, 0, fmt.Errorf("get vehicle %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Vehicle{}, 0, fmt.Errorf("get vehicle %s: %w", id, err)
	}
	v, err := decodeKVVehicle(e.Value())
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
func (s *KVStore) ListVehicles(ctx context.Context) ([]Vehicle, error) {
	if vs, ok := s.listMirrored(); ok {
		return vs, nil
	}
	w, err := s.vehicles.WatchAll(ctx, jetstream.IncludeHistory())
	if err != nil {
		return nil, fmt.Errorf("list vehicles: %w", err)
	}
	defer stopWatch(w)
	var seen passEntries
	var applied, tail uint64 // revision of the last message applied; the stream's last when last asked
	for {
		// Ask the stream for its tail whenever the pass looks caught up.
		for applied >= tail {
			last, msgs, err := s.lastSeq(ctx)
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
				seen.add(e.Key(), Vehicle{}, true)
				continue
			}
			v, err := decodeKVVehicle(e.Value())
			if err != nil {
				return nil, fmt.Errorf("list vehicles: key %s: %w", e.Key(), err)
			}
			seen.add(e.Key(), v, false)
		}
	}
}

// listMirrored lists the vehicles from the mirror; ok is false when it is not
// loaded.
func (s *KVStore) listMirrored() ([]Vehicle, bool) {
	out := make([]Vehicle, 0, s.mirrors.vehicles.len())
	if !s.mirrors.vehicles.each(func(v Vehicle) {
		v.Tags = slices.Clone(v.Tags)
		out = append(out, v)
	}) {
		return nil, false
	}
	slices.SortFunc(out, func(a, b Vehicle) int { return cmp.Compare(a.ID, b.ID) })
	return out, true
}

// lastSeq returns the sequence of the vehicles stream's last message and
// how many messages it holds.
func (s *KVStore) lastSeq(ctx context.Context) (last, msgs uint64, err error) {
	st, err := s.vehicles.Status(ctx)
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

// passEntries are the entries of a pass in stream order; a key rewritten
// during the pass appears again later, a deleted one marked so.
type passEntries struct {
	keys    []string
	vs      []Vehicle
	deleted []bool
}

func (p *passEntries) add(key string, v Vehicle, deleted bool) {
	p.keys = append(p.keys, key)
	p.vs = append(p.vs, v)
	p.deleted = append(p.deleted, deleted)
}

// latest returns each key's last entry, deleted keys left out, sorted by
// ID. Entries arrive almost sorted (registration order), so the sorts are
// cheap; a map would cost more on 100,000 keys.
func (p *passEntries) latest() []Vehicle {
	idx := make([]int32, len(p.keys))
	for i := range idx {
		idx[i] = int32(i)
	}
	// By key, and for one key in stream order: its last entry is its latest.
	if !slices.IsSorted(p.keys) {
		slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(p.keys[a], p.keys[b]) })
	}
	out := make([]Vehicle, 0, len(idx))
	for n, i := range idx {
		if n+1 < len(idx) && p.keys[idx[n+1]] == p.keys[i] {
			continue // a later entry of the same key follows
		}
		if !p.deleted[i] {
			out = append(out, p.vs[i])
		}
	}
	byID := func(a, b Vehicle) int { return cmp.Compare(a.ID, b.ID) }
	if !slices.IsSortedFunc(out, byID) {
		slices.SortFunc(out, byID)
	}
	return out
}

// stopWatch stops w and drains its channel, so the delivery callback (which
// blocks on a full channel) can finish and close it.
func stopWatch(w jetstream.KeyWatcher) {
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

// DeleteVehicle removes a vehicle and its hold.
func (s *KVStore) DeleteVehicle(ctx context.Context, id string) error {
	if _, _, err := s.readForWrite(ctx, id, true); err != nil {
		return fmt.Errorf("delete vehicle: %w", err)
	}
	if err := s.vehicles.Delete(ctx, kvKey(id)); err != nil {
		return fmt.Errorf("delete vehicle %s: %w", id, err)
	}
	s.mirrors.vehicles.delAfter(kvKey(id))
	if err := s.locks.Delete(ctx, "hold."+kvKey(id)); err != nil {
		return fmt.Errorf("delete vehicle %s: hold: %w", id, err)
	}
	s.mirrors.holds.delAfter("hold." + kvKey(id))
	return nil
}

// modifyVehicle applies change to the stored vehicle with a compare-and-set,
// retrying when another writer got in between.
func (s *KVStore) modifyVehicle(ctx context.Context, action, id string, change func(*Vehicle) bool) error {
	for try := range casRetries {
		// The mirror first; after a lost race it may lag, so the server.
		v, rev, err := s.readForWrite(ctx, id, try == 0)
		if err != nil {
			return fmt.Errorf("%s: %w", action, err)
		}
		if !change(&v) {
			return nil
		}
		b, err := encodeKVVehicle(v)
		if err != nil {
			return err
		}
		next, err := s.vehicles.Update(ctx, kvKey(id), b, rev)
		if err == nil {
			s.mirrors.vehicles.put(kvKey(id), b, next)
			return nil
		}
		if !isRevisionMismatch(err) {
			return fmt.Errorf("%s %s: %w", action, id, err)
		}
	}
	return fmt.Errorf("%s %s: %w", action, id, ErrConflict)
}

// SetStatus sets a registered vehicle's status and reason.
func (s *KVStore) SetStatus(ctx context.Context, id string, st Status, reason string) error {
	if !st.Valid() {
		return fmt.Errorf("set status %s: unknown status %q", id, st)
	}
	return s.modifyVehicle(ctx, "set status", id, func(v *Vehicle) bool {
		v.Status, v.Reason = st, reason
		return true
	})
}

// TouchPoll records the vehicle's last poll, never moving it back.
func (s *KVStore) TouchPoll(ctx context.Context, id string, t time.Time) error {
	return s.modifyVehicle(ctx, "touch poll", id, func(v *Vehicle) bool {
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
func (s *KVStore) SetHold(ctx context.Context, id string, until time.Time) error {
	if err := validID("vehicle", id); err != nil {
		return err
	}
	ms := holdMillis(until)
	if ms <= time.Now().UnixMilli() {
		return nil
	}
	k := "hold." + kvKey(id)
	val, err := json.Marshal(kvHold{Until: ms})
	if err != nil {
		return fmt.Errorf("set hold %s: %w", id, err)
	}
	for try := range casRetries {
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
		if !isRevisionMismatch(err) {
			return fmt.Errorf("set hold %s: %w", id, err)
		}
	}
	return fmt.Errorf("set hold %s: %w", id, ErrConflict)
}

// readHold returns the stored hold end in ms and its revision (0, 0 when
// none), from the mirror when allowed and loaded.
func (s *KVStore) readHold(ctx context.Context, k string, mirrored bool) (int64, uint64, error) {
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
		return 0, fmt.Errorf("decode hold: %w", errMalformed)
	}
	return h.Until, nil
}

// Hold returns the end of the vehicle's hold, zero when there is none.
func (s *KVStore) Hold(ctx context.Context, id string) (time.Time, error) {
	if err := validID("vehicle", id); err != nil {
		return time.Time{}, err
	}
	ms, rev, err := s.readHold(ctx, "hold."+kvKey(id), true)
	if err != nil {
		return time.Time{}, fmt.Errorf("get hold %s: %w", id, err)
	}
	if rev == 0 {
		return time.Time{}, nil
	}
	return activeHold(ms), nil
}
