package credentials

import "sync/atomic"

// RefreshStats count the refreshes a Manager made, by outcome. Every refresh
// that called Smartcar's token endpoint ends in exactly one of OK,
// Recovered, InvalidGrant, Failed and StoreFailed; a refresh that found the
// grant already refreshed by someone else (another goroutine or replica)
// called nobody and is not counted.
type RefreshStats struct {
	// OK: the first call returned a new pair and it was stored.
	OK uint64
	// Recovered: the first call failed in a way that may have lost the
	// reply after Smartcar rotated (transport error, 5xx), and a retry with
	// the same refresh token got a pair that was stored.
	Recovered uint64
	// InvalidGrant: Smartcar rejected the refresh token; the grant is now
	// needs_reauth.
	InvalidGrant uint64
	// Failed: no new pair, for another reason (the retries were used up,
	// the call timed out, an unexpected answer).
	Failed uint64
	// StoreFailed: Smartcar issued a pair that could not be stored within
	// PersistTimeout (or the grant was deleted meanwhile): it is lost.
	StoreFailed uint64
	// Superseded counts the OK or Recovered refreshes whose write lost to
	// another writer (a reconnect, or a refresh after our lock expired):
	// that writer's pair was kept.
	Superseded uint64
}

// refreshStats are the counters behind RefreshStats.
type refreshStats struct {
	ok, recovered, invalidGrant, failed, storeFailed, superseded atomic.Uint64
}

// Stats returns the Manager's refresh counters.
func (m *Manager) Stats() RefreshStats {
	s := &m.stats
	return RefreshStats{
		OK: s.ok.Load(), Recovered: s.recovered.Load(), InvalidGrant: s.invalidGrant.Load(),
		Failed: s.failed.Load(), StoreFailed: s.storeFailed.Load(), Superseded: s.superseded.Load(),
	}
}

// stored counts a refresh whose pair was stored after attempts calls.
func (s *refreshStats) stored(attempts int) {
	if attempts > 1 {
		s.recovered.Add(1)
		return
	}
	s.ok.Add(1)
}
