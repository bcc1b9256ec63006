package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"

	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// memReads is a token store with some of a poll's round trips taken out:
// TouchPoll a no-op (noTouch), Hold "no hold" (noHold), GetVehicle and
// GetGrant served from a snapshot taken after registration (memTokens).
// Everything else goes to the real store. It exists only to show, in
// -breakdown, what each round trip of a poll costs; it is not a design.
type memReads struct {
	tokens.Store
	noTouch, noHold, memTokens bool

	mu       sync.RWMutex
	vehicles map[string]tokens.Vehicle
	grants   map[string]tokens.Grant
}

func snapshotReads(ctx context.Context, s tokens.Store, f *fleet, v variant) (*memReads, error) {
	m := &memReads{Store: s, noTouch: v.noTouch, noHold: v.noHold, memTokens: v.memTokens,
		vehicles: map[string]tokens.Vehicle{}, grants: map[string]tokens.Grant{}}
	for _, id := range f.vehicles {
		v, err := s.GetVehicle(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		m.vehicles[id] = v
		if _, ok := m.grants[v.GrantID]; !ok {
			g, err := s.GetGrant(ctx, v.GrantID)
			if err != nil {
				return nil, fmt.Errorf("snapshot: %w", err)
			}
			m.grants[v.GrantID] = g
		}
	}
	return m, nil
}

func (m *memReads) GetVehicle(ctx context.Context, id string) (tokens.Vehicle, error) {
	if !m.memTokens {
		return m.Store.GetVehicle(ctx, id)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.vehicles[id]
	if !ok {
		return tokens.Vehicle{}, tokens.ErrNotFound
	}
	return v, nil
}

func (m *memReads) GetGrant(ctx context.Context, id string) (tokens.Grant, error) {
	if !m.memTokens {
		return m.Store.GetGrant(ctx, id)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	g, ok := m.grants[id]
	if !ok {
		return tokens.Grant{}, tokens.ErrNotFound
	}
	return g, nil
}

func (m *memReads) Hold(ctx context.Context, id string) (time.Time, error) {
	if !m.noHold {
		return m.Store.Hold(ctx, id)
	}
	return time.Time{}, nil
}

func (m *memReads) TouchPoll(ctx context.Context, id string, t time.Time) error {
	if !m.noTouch {
		return m.Store.TouchPoll(ctx, id, t)
	}
	return nil
}

// variant is one extra pipeline measurement of -breakdown (-variant N runs
// breakdownVariants[N-1]); each takes out more of a poll's store round trips
// than the one before, starting from the daemon's wiring without its poll
// leases.
type variant struct {
	name                       string
	noTouch, noHold, memTokens bool
}

func (v variant) wrapped() bool { return v.noTouch || v.noHold || v.memTokens }

var breakdownVariants = []variant{
	{name: "no poll lease"},
	{name: "and no last-poll writes", noTouch: true},
	{name: "and no hold reads", noTouch: true, noHold: true},
	{name: "and vehicle + grant from memory: no store round trip", noTouch: true, noHold: true, memTokens: true},
}

// wiring returns the store, token manager and lease setting of the measured
// pipeline: the daemon's (o.Variant 0), or a -breakdown variant, which has no
// poll leases and some of a poll's store round trips taken out.
func wiring(ctx context.Context, o options, store tokens.Store, mgr *tokens.Manager, auth *smartcar.AuthClient,
	f *fleet, log *slog.Logger) (tokens.Store, *tokens.Manager, bool, error) {
	if o.Variant == 0 {
		return store, mgr, o.pollLeases(), nil
	}
	v := breakdownVariants[o.Variant-1]
	if !v.wrapped() {
		return store, mgr, false, nil
	}
	mem, err := snapshotReads(ctx, store, f, v)
	if err != nil {
		return nil, nil, false, err
	}
	return mem, tokens.NewManager(mem, auth, tokens.ManagerConfig{}, log), false, nil
}
