package main

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// fleet is the vehicles registered for polling.
type fleet struct {
	vehicles []string          // ids, in simulator order
	access   map[string]string // vehicle id → its grant's access token, for the v2 baseline
	user     map[string]string // vehicle id → its user, for the v3 baseline
	grants   int
}

// registerFleet connects n electric vehicles of the simulator the way the
// daemon's connect command does: per user, the simulator issues a token pair
// for the user's vehicles (sim.ConnectUser) and the token manager stores the
// pair (credentials.Manager.Connect) and the vehicles are registered
// (registry.Store.PutVehicle). Only vehicles
// with a battery are taken, so every path of the benchmark schedule
// (/odometer, /location, /battery) returns data.
func registerFleet(ctx context.Context, sim *simulator, mgr *credentials.Manager, reg registry.Store, n int) (*fleet, error) {
	byUser := map[string][]string{}
	var users []string
	f := &fleet{access: make(map[string]string, n), user: make(map[string]string, n)}
	all, err := sim.Vehicles(ctx)
	if err != nil {
		return nil, fmt.Errorf("register fleet: %w", err)
	}
	for _, v := range all {
		if len(f.vehicles) == n {
			break
		}
		if v.Kind == smartcartest.ICE {
			continue
		}
		if _, ok := byUser[v.UserID]; !ok {
			users = append(users, v.UserID)
		}
		byUser[v.UserID] = append(byUser[v.UserID], v.ID)
		f.vehicles = append(f.vehicles, v.ID)
	}
	if len(f.vehicles) < n {
		return nil, fmt.Errorf("register fleet: simulator has %d electric vehicles, want %d", len(f.vehicles), n)
	}
	f.grants = len(users)
	pairs := make(map[string]smartcartest.Tokens, len(users))
	for _, u := range users {
		tok, err := sim.ConnectUser(ctx, u, byUser[u])
		if err != nil {
			return nil, fmt.Errorf("register fleet: %w", err)
		}
		pairs[u] = tok
		for _, id := range byUser[u] {
			f.access[id] = tok.AccessToken
			f.user[id] = u
		}
	}
	now := time.Now().UTC()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, u := range users {
		g.Go(func() error {
			tok := pairs[u]
			access := &smartcar.Access{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken,
				TokenType: "Bearer", ExpiresIn: tok.ExpiresIn}
			if err := mgr.Connect(gctx, u, access); err != nil {
				return fmt.Errorf("register fleet: %w", err)
			}
			for _, id := range byUser[u] {
				v := registry.Vehicle{ID: id, GrantID: u, UserID: u, Status: events.StatusConnected, ConnectedAt: now}
				if err := reg.PutVehicle(gctx, v); err != nil {
					return fmt.Errorf("register fleet: %w", err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return f, nil
}
