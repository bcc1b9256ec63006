package events

// Valid reports whether s is one of the polling statuses (Statuses).
func (s Status) Valid() bool {
	switch s {
	case StatusConnected, StatusNeedsReauth, StatusRateLimited, StatusDisabled, StatusDisconnected, StatusQuotaExhausted:
		return true
	}
	return false
}

// Pollable reports whether a vehicle in status s may be polled: connected,
// rate_limited or quota_exhausted (informational: its hold decides when).
func (s Status) Pollable() bool {
	return s == StatusConnected || s == StatusRateLimited || s == StatusQuotaExhausted
}
