package worker

import (
	"sync/atomic"
	"time"

	"github.com/smartcar-poller/smartcar-poller/queue"
)

// Stats are the worker's counters, safe for concurrent use.
type Stats struct {
	calls, events, holds, followUps, unchanged atomic.Int64
	leaseBusy, userLookups, billed, stale      atomic.Int64
	ok, snoozed, dropped, failed               atomic.Int64
	latencyNanos                               atomic.Int64
	limiterWaits, limiterDenied, limiterNanos  atomic.Int64

	holdsActive holdTracker
	now         func() time.Time
}

func newStats(now func() time.Time) *Stats { return &Stats{now: now} }

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
	// UserLookups counts the Smartcar user ids API v3 jobs looked up
	// (SignalsAPI.UserOf): one per vehicle registered without one, and one
	// after a PERMISSION answer.
	UserLookups int64
	CallTime    time.Duration
	// LimiterWaits counts the waits on the app-level rate limiter (one
	// before each Smartcar call, another after a 401); LimiterDenied those
	// that gave no slot (the job was snoozed); LimiterWaitTime is their
	// total duration.
	LimiterWaits, LimiterDenied int64
	LimiterWaitTime             time.Duration
	// Billed counts the billed calls the worker counted with Deps.Plans
	// (v3: one per /signals call, v2: one per path of a batch; calls that
	// Smartcar refused for a rate limit or a spent quota are not billed).
	Billed int64
	// StaleAdaptive counts adaptive jobs done without a call because a
	// later poll of the vehicle had served their due time.
	StaleAdaptive int64
	// HoldsActive is the number of vehicles under a Retry-After hold that
	// this process set and that is not over yet. Holds set by other
	// replicas are theirs to count.
	HoldsActive int
}

// Snapshot copies the counters; HoldsActive is counted at the time of the call.
func (s *Stats) Snapshot() Snapshot {
	return Snapshot{
		Calls: s.calls.Load(), Events: s.events.Load(), Holds: s.holds.Load(),
		FollowUps: s.followUps.Load(), Unchanged: s.unchanged.Load(),
		LeaseBusy: s.leaseBusy.Load(), UserLookups: s.userLookups.Load(), Billed: s.billed.Load(),
		StaleAdaptive: s.stale.Load(),
		OK:            s.ok.Load(), Snoozed: s.snoozed.Load(), Dropped: s.dropped.Load(), Failed: s.failed.Load(),
		CallTime:     time.Duration(s.latencyNanos.Load()),
		LimiterWaits: s.limiterWaits.Load(), LimiterDenied: s.limiterDenied.Load(),
		LimiterWaitTime: time.Duration(s.limiterNanos.Load()),
		HoldsActive:     s.holdsActive.active(s.now()),
	}
}

func isSnooze(err error) bool {
	_, ok := queue.SnoozeDelay(err)
	return ok
}
