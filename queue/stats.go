package queue

import "sync/atomic"

// Stats describe this process's consumer of the queue, for metrics and
// readiness. The backlog shared by all replicas is Depth.
type Stats struct {
	// Consuming is true while a Consume call is pulling jobs: from the
	// start of its pull loop until its context is done or the connection
	// closes. Jobs still finishing after that do not count.
	Consuming bool
	// PullErrors counts the pulls that failed: the connection or JetStream
	// refused them, or the consumer was deleted under a pending pull. A pull
	// that finds no job is not an error. nats-server 2.9 does not answer a
	// pull for a consumer that no longer exists, so on it a deleted consumer
	// shows only in Depth failing.
	PullErrors uint64
	// Deliveries counts the jobs handed to the handler.
	Deliveries uint64
	// Redeliveries counts the deliveries of jobs delivered before
	// (NumDelivered > 1): after a snooze, a failure's backoff, a hand-back at
	// shutdown or an ack timeout of a replica that died.
	Redeliveries uint64
}

// stats are the counters behind Stats, safe for concurrent use.
type stats struct {
	consuming    atomic.Int32 // pull loops running
	pullErrors   atomic.Uint64
	deliveries   atomic.Uint64
	redeliveries atomic.Uint64
}

// Stats returns a snapshot of the consumer's state and counters.
func (q *Queue) Stats() Stats {
	return Stats{
		Consuming:    q.st.consuming.Load() > 0,
		PullErrors:   q.st.pullErrors.Load(),
		Deliveries:   q.st.deliveries.Load(),
		Redeliveries: q.st.redeliveries.Load(),
	}
}

// pulled records the end of a pull.
func (s *stats) pulled(err error) {
	if err != nil {
		s.pullErrors.Add(1)
	}
}

// delivered counts a delivery; numDelivered is JetStream's count for the job.
func (s *stats) delivered(numDelivered uint64) {
	s.deliveries.Add(1)
	if numDelivered > 1 {
		s.redeliveries.Add(1)
	}
}
