package registry

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/smartcar-poller/smartcar-poller/events"
)

// StatusSetter is the part of a Store SetGrantStatus uses.
type StatusSetter interface {
	ListVehicles(ctx context.Context) ([]Vehicle, error)
	SetStatus(ctx context.Context, id string, s events.Status, reason string) error
}

// SetGrantStatus sets status st with reason on every vehicle of the grant
// that is not in st already, except the vehicles named in except, and
// returns how many it changed. A vehicle removed meanwhile is skipped; a
// failed write does not stop the others (the errors are joined). A rejected
// grant (needs_reauth) and a reconnect (disconnected: the vehicles the user
// did not authorize this time) use it. It lists the whole registry: both
// are rare enough not to need an index by grant.
func SetGrantStatus(ctx context.Context, s StatusSetter, grantID string, st events.Status, reason string, except ...string) (int, error) {
	vs, err := s.ListVehicles(ctx)
	if err != nil {
		return 0, fmt.Errorf("set grant %s %s: %w", grantID, st, err)
	}
	n := 0
	var errs []error
	for _, v := range vs {
		if v.GrantID != grantID || v.Status == st || slices.Contains(except, v.ID) {
			continue
		}
		err := s.SetStatus(ctx, v.ID, st, reason)
		switch {
		case err == nil:
			n++
		case !errors.Is(err, ErrNotFound):
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return n, fmt.Errorf("set grant %s %s: %w", grantID, st, errors.Join(errs...))
	}
	return n, nil
}
