package tokens

import (
	"log/slog"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Grant is one Smartcar token pair: one per Smartcar user (ID is the
// Smartcar user id), shared by all the vehicles that user connected.
// Version is bumped by every write, so a compare-and-set can tell whether
// someone else changed the grant. Never log a Grant's Access in clear; its
// LogValue redacts the tokens.
type Grant struct {
	ID     string
	Access smartcar.Access
	// NeedsReauth is set once Smartcar rejected the refresh token
	// (invalid_grant): nobody sends it again, and a new Connect clears it.
	NeedsReauth bool
	Version     int64
	UpdatedAt   time.Time
}

// LogValue keeps the tokens out of logs.
func (g Grant) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("grant_id", g.ID),
		slog.Int64("version", g.Version),
		slog.Any("access", &g.Access),
		slog.Bool("needs_reauth", g.NeedsReauth),
	)
}

// Status is a vehicle's polling state.
type Status string

// The statuses of a vehicle. Only connected and rate_limited vehicles are
// polled; rate_limited is informational (the hold decides when to call).
const (
	StatusConnected    Status = "connected"
	StatusNeedsReauth  Status = "needs_reauth"
	StatusRateLimited  Status = "rate_limited"
	StatusDisabled     Status = "disabled"
	StatusDisconnected Status = "disconnected"
)

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusConnected, StatusNeedsReauth, StatusRateLimited, StatusDisabled, StatusDisconnected:
		return true
	}
	return false
}

// Pollable reports whether a vehicle in status s may be polled.
func (s Status) Pollable() bool { return s == StatusConnected || s == StatusRateLimited }

// Vehicle is one registered vehicle: which grant's tokens it uses, the tags
// given at connect time (for schedule selection), its status with a reason,
// and when it was last polled.
type Vehicle struct {
	ID          string
	GrantID     string
	Tags        []string
	Status      Status
	Reason      string
	LastPoll    time.Time
	ConnectedAt time.Time
}
