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
// A firing that fails is retried, not skipped. If the vehicle list fails
// (Redis restarting or still loading its data) it is read again; if Enqueue
// fails (NATS restarting), the jobs it did not store, and only those, are
// enqueued again (with a jitter, while the spread goes on). Retries wait
// 250 ms, doubling up to 10 s, jittered; they stop when the schedule's next
// tick is due (the next firing never overlaps the one before: it waits for
// it to give up), when Config.RetryFor has passed since a job was due, or
// when the scheduler stops. Jobs still not enqueued then are named in a
// warning ("firing abandoned"), and [Stats] counts the retries and the
// abandoned firings. Each firing runs on its own goroutine (cron's), so a
// retrying schedule holds up no other.
//
// An adaptive schedule (Schedule.Adaptive) has no cron entry: a due loop
// (runDue, one goroutine per schedule, stopped with Run's context) enters
// the vehicles it selects in the schedule's due index ([Plans], in the
// registry) when it reads the vehicle list (at start and every Due.Reseed;
// onboarding enters a vehicle it registers at once),
// and every Due.Tick claims the vehicles that are due, with a lease, and
// enqueues one job each, marked Adaptive, with id (schedule, vehicle, claim
// second). A claimed vehicle the last reading saw paused is read on its own
// (Vehicles.Vehicle) and enqueued if it is active again. The claim is
// atomic in the registry, so replicas do not enqueue a vehicle twice; the
// worker sets the vehicle's next due time after its poll, and a job lost on
// the way comes back when its lease ends.
//
// The package owns schedules, selection and spreading. It must not know
// Smartcar, Redis or YAML; it talks to the vehicle registry and the queue
// through the small interfaces [Vehicles], [Enqueuer] and [Plans].
package scheduler
