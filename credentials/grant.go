package credentials

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
