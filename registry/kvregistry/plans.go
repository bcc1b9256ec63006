package kvregistry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/registry"
)

// errPlansUnsupported: the Planner on KV is not written yet.
var errPlansUnsupported = fmt.Errorf("kv registry plans: %w", errors.ErrUnsupported)

// AddPlan is not implemented yet on KV.
func (s *Store) AddPlan(context.Context, string, string, time.Time) (bool, error) {
	return false, errPlansUnsupported
}

// SetPlan is not implemented yet on KV.
func (s *Store) SetPlan(context.Context, string, string, registry.Plan) error {
	return errPlansUnsupported
}

// GetPlan is not implemented yet on KV.
func (s *Store) GetPlan(context.Context, string, string) (registry.Plan, error) {
	return registry.Plan{}, errPlansUnsupported
}

// DeletePlan is not implemented yet on KV.
func (s *Store) DeletePlan(context.Context, string, string) error { return errPlansUnsupported }

// ClaimDue is not implemented yet on KV.
func (s *Store) ClaimDue(context.Context, string, time.Time, time.Duration, int) ([]string, error) {
	return nil, errPlansUnsupported
}

// AddCalls is not implemented yet on KV.
func (s *Store) AddCalls(context.Context, string, time.Time, int) (int, error) {
	return 0, errPlansUnsupported
}

// Calls is not implemented yet on KV.
func (s *Store) Calls(context.Context, string, time.Time) (int, error) { return 0, errPlansUnsupported }
