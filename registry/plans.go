package registry

import (
	"context"
	"time"
)

// Plan is where a vehicle stands under one adaptive schedule: the policy's
// record of it (adaptive.Vehicle's binary form, opaque here) and when it is
// due to be polled next.
type Plan struct {
	State []byte
	Due   time.Time
}

// Planner keeps adaptive schedules' plans and their due index, and counts
// each vehicle's billed calls per billing month (the UTC calendar month).
// It is part of Store: both backends implement it, registrytest tests it.
type Planner interface {
	// AddPlan enters the vehicle in schedule's due index at due unless it
	// already has a plan there (so replicas that all see a new vehicle do
	// not reset each other's plans); it reports whether it added one.
	AddPlan(ctx context.Context, schedule, vehicleID string, due time.Time) (bool, error)
	// SetPlan stores the vehicle's plan under schedule and moves it to
	// p.Due in the due index, whatever it was (creating it when absent).
	// A change that depends on the plan it replaces is UpdatePlan's.
	SetPlan(ctx context.Context, schedule, vehicleID string, p Plan) error
	// UpdatePlan changes the vehicle's plan under schedule atomically: it
	// reads the plan, calls fn with it and stores what fn returns (state
	// and due time) only if the plan did not change in between (another
	// UpdatePlan or SetPlan, a ClaimDue's lease, a DeletePlan); when it
	// did, it reads again and calls fn again, up to a few times, then
	// gives up with ErrConflict (wrapped). So fn may run more than once
	// and must decide from the plan it is given alone. Without a plan
	// (none, or deleted before the write) it returns ErrNotFound (wrapped)
	// and writes nothing: an update never creates a plan, nor brings back
	// one that DeletePlan removed. When fn returns ErrSkip, UpdatePlan
	// writes nothing and returns nil; another error of fn is returned
	// (wrapped), nothing written.
	UpdatePlan(ctx context.Context, schedule, vehicleID string, fn func(p Plan) (Plan, error)) error
	// GetPlan returns the vehicle's plan under schedule, ErrNotFound
	// (wrapped) when it has none.
	GetPlan(ctx context.Context, schedule, vehicleID string) (Plan, error)
	// DeletePlan removes the vehicle from schedule (no error when it was
	// not there). DeleteVehicle removes all of a vehicle's plans and counts.
	DeletePlan(ctx context.Context, schedule, vehicleID string) error
	// ClaimDue returns up to limit vehicles of schedule whose due time is
	// at or before now, earliest first, and in the same atomic step moves
	// each one's due time to now+lease, so no later ClaimDue (this
	// replica's next tick, another replica's) returns them again before the
	// lease ends: a poll that completes sets the next due time with
	// UpdatePlan; a job lost on the way comes back when the lease ends. Its
	// cost grows with the number of vehicles returned, not with the
	// schedule's size. With an error it may still return vehicles it
	// claimed (a backend that writes each claim on its own): they are
	// claimed, and the caller should go on with them.
	ClaimDue(ctx context.Context, schedule string, now time.Time, lease time.Duration, limit int) ([]string, error)

	// AddCalls counts n billed calls of the vehicle in the billing month of
	// at and returns the month's total so far.
	AddCalls(ctx context.Context, vehicleID string, at time.Time, n int) (int, error)
	// Calls returns the vehicle's billed calls in the billing month of at.
	Calls(ctx context.Context, vehicleID string, at time.Time) (int, error)
}
