package daemon

import (
	"context"
	"fmt"

	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// SchedulerVehicles adapts a registry to scheduler.Vehicles, as the daemon
// hands it to its scheduler: a vehicle whose status is not pollable is
// paused.
func SchedulerVehicles(s interface {
	ListVehicles(ctx context.Context) ([]registry.Vehicle, error)
}) scheduler.Vehicles {
	return vehicleLister{s}
}

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
