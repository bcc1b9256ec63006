package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// SchedulerVehicles adapts a registry to scheduler.Vehicles, as the daemon
// hands it to its scheduler: a vehicle whose status is not pollable is
// paused.
func SchedulerVehicles(s VehicleReader) scheduler.Vehicles {
	return vehicleLister{s}
}

// VehicleReader is the part of a registry.Store that SchedulerVehicles
// reads.
type VehicleReader interface {
	ListVehicles(ctx context.Context) ([]registry.Vehicle, error)
	GetVehicle(ctx context.Context, id string) (registry.Vehicle, error)
}

// vehicleLister adapts the registry to scheduler.Vehicles.
type vehicleLister struct {
	s VehicleReader
}

// schedulerVehicle is v as the scheduler sees it.
func schedulerVehicle(v registry.Vehicle) scheduler.Vehicle {
	return scheduler.Vehicle{ID: v.ID, Tags: v.Tags, Paused: !v.Status.Pollable()}
}

// Vehicle reads one vehicle; LastWebhook is left zero (the due loops that
// read it do not use it).
func (l vehicleLister) Vehicle(ctx context.Context, id string) (scheduler.Vehicle, error) {
	v, err := l.s.GetVehicle(ctx, id)
	if errors.Is(err, registry.ErrNotFound) {
		return scheduler.Vehicle{}, fmt.Errorf("%w: %w", scheduler.ErrNotFound, err)
	}
	if err != nil {
		return scheduler.Vehicle{}, err
	}
	return schedulerVehicle(v), nil
}

func (l vehicleLister) ListVehicles(ctx context.Context) ([]scheduler.Vehicle, error) {
	vs, err := l.s.ListVehicles(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]scheduler.Vehicle, 0, len(vs))
	for _, v := range vs {
		out = append(out, schedulerVehicle(v))
	}
	return out, nil
}

// appSignals adapts the application client to worker.SignalsAPI.
type appSignals struct{ app *smartcar.AppClient }

var _ worker.SignalsAPI = appSignals{}

func (a appSignals) Signals(ctx context.Context, vehicleID, userID string) (*smartcar.Signals, error) {
	return a.app.Vehicle(vehicleID, userID).Signals(ctx)
}

// UserOf returns the user of the vehicle's most recent connection (GET
// /v3/connections?filter[vehicleId]=, newest first).
func (a appSignals) UserOf(ctx context.Context, vehicleID string) (string, error) {
	for c, err := range a.app.Connections(ctx, &smartcar.ConnectionsFilter{VehicleID: vehicleID}) {
		if err != nil {
			return "", fmt.Errorf("connections of %s: %w", vehicleID, err)
		}
		if c.VehicleID == vehicleID && c.UserID != "" {
			return c.UserID, nil
		}
	}
	return "", fmt.Errorf("vehicle %s: %w", vehicleID, worker.ErrNoConnection)
}
