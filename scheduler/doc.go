// Package scheduler turns schedules into poll jobs: each schedule is one
// robfig/cron entry (never one per vehicle), and each firing enqueues one
// [queue.PollJob] per matching, unpaused vehicle, spread over the schedule's
// jitter window by a stable per-vehicle offset.
//
// Every replica may run the scheduler: a job's id is (schedule, vehicle,
// tick), so the copies that several replicas enqueue for the same tick are
// dropped by the queue's duplicate window. For that to work the replicas
// must agree on the tick, so "@every" schedules are aligned to multiples of
// their interval (since the Unix epoch for intervals that divide a day),
// not counted from when each replica started.
//
// If a firing is still spreading its vehicles when the schedule fires again,
// the older firing is hurried: the vehicles it has not enqueued yet are
// enqueued at once, then the new firing starts its own spread. So at most one
// firing per schedule is ever spreading and nothing is skipped; keep the
// jitter below the schedule's period to keep the spread even.
//
// The package owns schedules, selection and spreading. It must not know
// Smartcar, Redis or YAML; it talks to the vehicle registry and the queue
// through the small interfaces [Vehicles] and [Enqueuer].
package scheduler
