package scheduler

import "sync/atomic"

// Stats are the scheduler's counters, safe for concurrent use.
type Stats struct {
	firings, retries, abandoned, jobsAbandoned atomic.Int64
	dueClaimed, dueEnqueued                    atomic.Int64
}

// Snapshot is a copy of the counters.
type Snapshot struct {
	// Firings counts the firings started, by cron or by Fire.
	Firings int64
	// FiringRetries counts the attempts made again after a backoff: a
	// vehicle list, or an Enqueue of the jobs that failed.
	FiringRetries int64
	// FiringsAbandoned counts the firings that ended with jobs not
	// enqueued: still failing when the schedule's next tick (or their retry
	// limit) came, or failing for good. Firings stopped by shutdown are not
	// counted.
	FiringsAbandoned int64
	// JobsAbandoned counts the jobs those firings did not enqueue. A firing
	// that could not list its vehicles adds none: it never knew them.
	JobsAbandoned int64
	// DueClaimed counts the vehicles adaptive schedules' due loops claimed
	// from the due index, DueEnqueued the jobs they enqueued (not counting
	// duplicates and paused vehicles).
	DueClaimed, DueEnqueued int64
}

// Snapshot copies the counters.
func (s *Stats) Snapshot() Snapshot {
	return Snapshot{
		Firings:          s.firings.Load(),
		FiringRetries:    s.retries.Load(),
		FiringsAbandoned: s.abandoned.Load(),
		JobsAbandoned:    s.jobsAbandoned.Load(),
		DueClaimed:       s.dueClaimed.Load(),
		DueEnqueued:      s.dueEnqueued.Load(),
	}
}
