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
	return Vehicle{ID: r.ID, GrantID: r.GrantID, Tags: r.Tags, Status: r.Status, Reason: r.Reason,
		LastPoll: r.LastPoll, ConnectedAt: r.ConnectedAt}, nil
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
	if _, err := s.vehicles.Put(ctx, kvKey(v.ID), b); err != nil {
		return fmt.Errorf("put vehicle %s: %w", v.ID, err)
	}
	return nil
}

// GetVehicle returns a registered vehicle.
func (s *KVStore) GetVehicle(ctx context.Context, id string) (Vehicle, error) {
	v, _, err := s.getVehicle(ctx, id)
	return v, err
}

func (s *KVStore) getVehicle(ctx context.Context, id string) (Vehicle, uint64, error) {
	if err := validID("vehicle", id); err != nil {
		return Vehicle{}, 0, err
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
// (an ordered consumer delivering the last message per subject), so it costs
// one stream pass instead of a request per vehicle.
func (s *KVStore) ListVehicles(ctx context.Context) ([]Vehicle, error) {
	w, err := s.vehicles.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("list vehicles: %w", err)
	}
	defer stopWatch(w)
	var out []Vehicle
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list vehicles: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("list vehicles: watch closed")
			}
			if e == nil { // all current values delivered
				slices.SortFunc(out, func(a, b Vehicle) int { return cmp.Compare(a.ID, b.ID) })
				return out, nil
			}
			v, err := decodeKVVehicle(e.Value())
			if err != nil {
				return nil, fmt.Errorf("list vehicles: key %s: %w", e.Key(), err)
			}
			out = append(out, v)
		}
	}
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
	if _, _, err := s.getVehicle(ctx, id); err != nil {
		return fmt.Errorf("delete vehicle: %w", err)
	}
	if err := s.vehicles.Delete(ctx, kvKey(id)); err != nil {
		return fmt.Errorf("delete vehicle %s: %w", id, err)
	}
	if err := s.locks.Delete(ctx, "hold."+kvKey(id)); err != nil {
		return fmt.Errorf("delete vehicle %s: hold: %w", id, err)
	}
	return nil
}

// modifyVehicle applies change to the stored vehicle with a compare-and-set,
// retrying when another writer got in between.
func (s *KVStore) modifyVehicle(ctx context.Context, action, id string, change func(*Vehicle) bool) error {
	for range casRetries {
		v, rev, err := s.getVehicle(ctx, id)
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
		_, err = s.vehicles.Update(ctx, kvKey(id), b, rev)
		if err == nil {
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
	for range casRetries {
		cur, rev, err := s.getHold(ctx, k)
		if err != nil {
			return fmt.Errorf("set hold %s: %w", id, err)
		}
		if cur >= ms {
			return nil
		}
		if rev == 0 {
			_, err = s.locks.Create(ctx, k, val)
		} else {
			_, err = s.locks.Update(ctx, k, val, rev)
		}
		if err == nil {
			return nil
		}
		if !isRevisionMismatch(err) {
			return fmt.Errorf("set hold %s: %w", id, err)
		}
	}
	return fmt.Errorf("set hold %s: %w", id, ErrConflict)
}

// getHold returns the stored hold end in ms and its revision (0, 0 when none).
func (s *KVStore) getHold(ctx context.Context, k string) (int64, uint64, error) {
	e, err := s.locks.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	var h kvHold
	if err := json.Unmarshal(e.Value(), &h); err != nil {
		return 0, e.Revision(), nil // overwrite a malformed hold
	}
	return h.Until, e.Revision(), nil
}

// Hold returns the end of the vehicle's hold, zero when there is none.
func (s *KVStore) Hold(ctx context.Context, id string) (time.Time, error) {
	if err := validID("vehicle", id); err != nil {
		return time.Time{}, err
	}
	ms, rev, err := s.getHold(ctx, "hold."+kvKey(id))
	if err != nil {
		return time.Time{}, fmt.Errorf("get hold %s: %w", id, err)
	}
	if rev == 0 {
		return time.Time{}, nil
	}
	return activeHold(ms), nil
}
