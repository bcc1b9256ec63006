package marks

import (
	"errors"
	"time"
)

// ErrNotFound is returned by TakeConnectState for a state that is unknown,
// expired or already taken.
var ErrNotFound = errors.New("connect state not found")

// ErrConflict is returned when a write kept losing to other writers.
var ErrConflict = errors.New("write conflict")

// MaxTTL bounds the TTL of Connect states and webhook event marks: 30 days,
// well above the 7 days Smartcar asks webhook receivers to remember event
// ids for. A TTL of zero or less means MaxTTL.
const MaxTTL = 30 * 24 * time.Hour

// clampTTL clamps ttl to (0, MaxTTL].
func clampTTL(ttl time.Duration) time.Duration {
	if ttl <= 0 || ttl > MaxTTL {
		return MaxTTL
	}
	return ttl
}
