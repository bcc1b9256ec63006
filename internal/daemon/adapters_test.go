package daemon

import (
	"errors"
	"slices"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

// TestSchedulerVehicles: the scheduler's view of the registry marks a
// vehicle whose status is not pollable paused, in the list and read alone,
// and a vehicle not registered is scheduler.ErrNotFound.
func TestSchedulerVehicles(t *testing.T) {
	rdb := testserver.Redis(t)
	store := redisregistry.New(rdb, testserver.RedisPrefix(t, rdb, "schedvehicles"))
	ctx := t.Context()
	for _, v := range []registry.Vehicle{
		{ID: "a", GrantID: "g1", Tags: []string{"fleet"}, Status: events.StatusConnected},
		{ID: "p", GrantID: "g1", Tags: []string{"fleet"}, Status: events.StatusNeedsReauth},
	} {
		if err := store.PutVehicle(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	sv := SchedulerVehicles(store)
	list, err := sv.ListVehicles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []scheduler.Vehicle{{ID: "a", Tags: []string{"fleet"}}, {ID: "p", Tags: []string{"fleet"}, Paused: true}} {
		i := slices.IndexFunc(list, func(v scheduler.Vehicle) bool { return v.ID == want.ID })
		if i < 0 || list[i].Paused != want.Paused || !slices.Equal(list[i].Tags, want.Tags) {
			t.Errorf("listed %+v, want %+v", list, want)
		}
		got, err := sv.Vehicle(ctx, want.ID)
		if err != nil || got.ID != want.ID || got.Paused != want.Paused || !slices.Equal(got.Tags, want.Tags) {
			t.Errorf("Vehicle(%s) = %+v, %v; want %+v", want.ID, got, err, want)
		}
	}
	if _, err := sv.Vehicle(ctx, "gone"); !errors.Is(err, scheduler.ErrNotFound) {
		t.Errorf("Vehicle(gone) = %v, want scheduler.ErrNotFound", err)
	}
}
