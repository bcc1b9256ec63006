package main

import (
	"context"

	"github.com/smartcar-poller/smartcar-poller/scheduler"
	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// vehicleLister adapts a tokens.Store to scheduler.Vehicles.
type vehicleLister struct{ s tokens.Store }

func (l vehicleLister) ListVehicles(ctx context.Context) ([]scheduler.Vehicle, error) {
	vs, err := l.s.ListVehicles(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]scheduler.Vehicle, 0, len(vs))
	for _, v := range vs {
		out = append(out, scheduler.Vehicle{ID: v.ID, Tags: v.Tags, Paused: !v.Status.Pollable()})
	}
	return out, nil
}
