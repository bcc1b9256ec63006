package main

import (
	"context"

	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

// vehicleLister adapts the registry to scheduler.Vehicles.
type vehicleLister struct {
	s interface {
		ListVehicles(ctx context.Context) ([]registry.Vehicle, error)
	}
}

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
