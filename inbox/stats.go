package inbox

import "sync/atomic"

// Stats are this process's counters of the inbox since it was opened, for
// metrics and readiness. The backlog all replicas share is Depth.
type Stats struct {
	// Consuming is true while a Consume call is pulling.
	Consuming bool
	// Stored counts the deliveries Put stored; Duplicates those it found
	// stored already (same id); PutErrors those it could not store.
	Stored, Duplicates, PutErrors uint64
	// Deliveries counts the deliveries handed to a handler, Processed those
	// acked after it succeeded, Failures the failed attempts (errors and
	// panics), each retried after the backoff.
	Deliveries, Processed, Failures uint64
	// PullErrors counts the pulls that failed (not those that found
	// nothing).
	PullErrors uint64
}

type stats struct {
	consuming                       atomic.Int32
	stored, duplicates, putErrors   atomic.Uint64
	deliveries, processed, failures atomic.Uint64
	pullErrors                      atomic.Uint64
}

// Stats returns a snapshot of the counters.
func (b *Inbox) Stats() Stats {
	s := &b.st
	return Stats{
		Consuming: s.consuming.Load() > 0,
		Stored:    s.stored.Load(), Duplicates: s.duplicates.Load(), PutErrors: s.putErrors.Load(),
		Deliveries: s.deliveries.Load(), Processed: s.processed.Load(), Failures: s.failures.Load(),
		PullErrors: s.pullErrors.Load(),
	}
}
