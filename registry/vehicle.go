package registry

import (
	"errors"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
)

// Vehicle is one registered vehicle: which v2 grant's tokens it uses, the
// Smartcar user who connected it (sent as sc-user-id on API v3), the tags
// given at connect time (for schedule selection), its polling status with a
// reason, and when it was connected and last polled.
type Vehicle struct {
	ID      string
	GrantID string
	// UserID is the Smartcar user id; empty for a vehicle registered before
	// it was kept. (A v2 grant's id is its user's id, so for vehicles
	// connected through this daemon it equals GrantID.)
	UserID      string
	Tags        []string
	Status      events.Status
	Reason      string
	LastPoll    time.Time
	ConnectedAt time.Time
}

// CheckPollable returns nil when v may be polled (events.Status.Pollable),
// an error wrapping ErrNeedsReauth when its user must reconnect, and one
// wrapping ErrInactive when it is disabled or disconnected.
func (v Vehicle) CheckPollable() error {
	switch {
	case v.Status.Pollable():
		return nil
	case v.Status == events.StatusNeedsReauth:
		return fmt.Errorf("vehicle %s: %w", v.ID, ErrNeedsReauth)
	}
	return fmt.Errorf("vehicle %s is %s: %w", v.ID, v.Status, ErrInactive)
}

// CheckID rejects the empty vehicle id every method would otherwise store.
// It is for Store implementations.
func CheckID(id string) error {
	if id == "" {
		return errors.New("empty vehicle id")
	}
	return nil
}

// NormStatus returns the status a Store keeps for s: an empty one is stored
// as connected, an unknown one is an error. It is for Store
// implementations.
func NormStatus(s events.Status) (events.Status, error) {
	if s == "" {
		return events.StatusConnected, nil
	}
	if !s.Valid() {
		return "", fmt.Errorf("unknown status %q", s)
	}
	return s, nil
}

// HoldMillis returns the stored end of a hold until t: Unix milliseconds,
// rounded up so a hold never ends before the time asked for. It is for
// Store implementations.
func HoldMillis(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Sub(time.UnixMilli(ms)) > 0 {
		ms++
	}
	return ms
}

// HoldEnd returns the hold ending at ms (Unix milliseconds), or the zero
// time once it has passed. It is for Store implementations.
func HoldEnd(ms int64) time.Time {
	t := time.UnixMilli(ms).UTC()
	if !t.After(time.Now()) {
		return time.Time{}
	}
	return t
}
