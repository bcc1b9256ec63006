package worker

import (
	"sync/atomic"
	"time"

	"github.com/smartcar-poller/smartcar-poller/queue"
)

// Stats are the worker's counters, safe for concurrent use.
type Stats struct {
	calls, events, holds, followUps, unchanged atomic.Int64
	leaseBusy                                  atomic.Int64
	ok, snoozed, dropped, failed               atomic.Int64
	latencyNanos                               atomic.Int64
}

func newStats() *Stats { return &Stats{} }

func (s *Stats) observe(err error) {
	switch {
	case err == nil:
		s.ok.Add(1)
	case isSnooze(err):
		s.snoozed.Add(1)
	case queue.IsDrop(err):
		s.dropped.Add(1)
	default:
		s.failed.Add(1)
	}
}

func (s *Stats) observeLatency(d time.Duration) { s.latencyNanos.Add(int64(d)) }

// Snapshot is a copy of the counters.
type Snapshot struct {
	Calls, Events, Holds, FollowUps, Unchanged int64
	OK, Snoozed, Dropped, Failed               int64
	// LeaseBusy counts jobs snoozed because another replica held the
	// vehicle's poll lease.
	LeaseBusy int64
	CallTime  time.Duration
}

// Snapshot copies the counters.
func (s *Stats) Snapshot() Snapshot {
	return Snapshot{
		Calls: s.calls.Load(), Events: s.events.Load(), Holds: s.holds.Load(),
		FollowUps: s.followUps.Load(), Unchanged: s.unchanged.Load(),
		LeaseBusy: s.leaseBusy.Load(),
		OK:        s.ok.Load(), Snoozed: s.snoozed.Load(), Dropped: s.dropped.Load(), Failed: s.failed.Load(),
		CallTime: time.Duration(s.latencyNanos.Load()),
	}
}

func isSnooze(err error) bool {
	_, ok := queue.SnoozeDelay(err)
	return ok
}
