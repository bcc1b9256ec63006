package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// memReads is a registry with some of a poll's round trips taken out:
// TouchPoll a no-op (noTouch), Hold "no hold" (noHold), GetVehicle served
// from a snapshot taken after registration (memTokens). Everything else
// goes to the real store. It exists only to show, in -breakdown, what each
// round trip of a poll costs; it is not a design.
type memReads struct {
	registry.Store
	noTouch, noHold, memTokens bool

	mu       sync.RWMutex
	vehicles map[string]registry.Vehicle
}

// memGrants is the credentials store with GetGrant served from a snapshot
// (memTokens), for the same purpose.
type memGrants struct {
	credentials.Store
	mu     sync.RWMutex
	grants map[string]credentials.Grant
}

func snapshotReads(ctx context.Context, st stores, f *fleet, v variant) (*memReads, *memGrants, error) {
	m := &memReads{Store: st.reg, noTouch: v.noTouch, noHold: v.noHold, memTokens: v.memTokens,
		vehicles: map[string]registry.Vehicle{}}
	g := &memGrants{Store: st.grants, grants: map[string]credentials.Grant{}}
	for _, id := range f.vehicles {
		v, err := st.reg.GetVehicle(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("snapshot: %w", err)
		}
		m.vehicles[id] = v
		if _, ok := g.grants[v.GrantID]; !ok {
			gr, err := st.grants.GetGrant(ctx, v.GrantID)
			if err != nil {
				return nil, nil, fmt.Errorf("snapshot: %w", err)
			}
			g.grants[v.GrantID] = gr
		}
	}
	return m, g, nil
}

func (m *memReads) GetVehicle(ctx context.Context, id string) (registry.Vehicle, error) {
	if !m.memTokens {
		return m.Store.GetVehicle(ctx, id)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.vehicles[id]
	if !ok {
		return registry.Vehicle{}, registry.ErrNotFound
	}
	return v, nil
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

func (g *memGrants) GetGrant(_ context.Context, id string) (credentials.Grant, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	gr, ok := g.grants[id]
	if !ok {
		return credentials.Grant{}, credentials.ErrNotFound
	}
	return gr, nil
}

// variant is one extra pipeline measurement of -breakdown (-variant N runs
// breakdownVariants[N-1]); each takes out more of a poll's store round trips
// than the one before, starting from the daemon's wiring with its poll
// leases in the process (registry.LocalLeases: StartPoll is then the
// registry's GetVehicle and Hold, which the variants take out).
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

// wiring returns the registry, credentials manager and lease setting (true:
// poll leases in the store) of the measured pipeline: the daemon's
// (o.Variant 0, leases as -leases says), or a -breakdown variant, which has
// its poll leases in the process and some of a poll's store round trips
// taken out.
func wiring(ctx context.Context, o options, st stores, mgr *credentials.Manager, auth *smartcar.AuthClient,
	f *fleet, log *slog.Logger) (registry.Store, *credentials.Manager, bool, error) {
	if o.Variant == 0 {
		if o.pollLeases() {
			return st.reg, mgr, true, nil
		}
		return registry.LocalLeases(st.reg), mgr, false, nil
	}
	v := breakdownVariants[o.Variant-1]
	if !v.wrapped() {
		return registry.LocalLeases(st.reg), mgr, false, nil
	}
	reg, grants, err := snapshotReads(ctx, st, f, v)
	if err != nil {
		return nil, nil, false, err
	}
	if !v.memTokens {
		return registry.LocalLeases(reg), mgr, false, nil
	}
	return registry.LocalLeases(reg), credentials.NewManager(grants, auth, credentials.ManagerConfig{}, log), false, nil
}
