// Package queue is the JetStream work queue of poll jobs.
//
// A [PollJob] asks for one vehicle's paths to be fetched for one schedule
// tick. [Queue.Enqueue] publishes jobs on <prefix>.jobs.<vehicle_id> into the
// work-queue stream <PREFIX>_JOBS with Nats-Msg-Id set to the job id, so the
// copies that several scheduler replicas enqueue for the same tick are dropped
// by JetStream's duplicate window. [Queue.Consume] pulls jobs from the durable
// consumer <PREFIX>_WORKERS with bounded concurrency and turns the handler's
// result into an acknowledgement: nil acks, [Snooze] redelivers after a delay
// without counting as a failure, [Drop] terminates, and any other error is
// retried after [Config.Backoff].
//
// JetStream counts deliveries, snoozes and hand-backs included, so the queue
// counts each job's failures itself, in the KV bucket <PREFIX>_JOB_FAILURES
// that every replica shares, and passes them on as [Delivery.Failures] for the
// handler's give-up logic. A handler panic is a failure whose stack is logged;
// a job that panicked [Config.MaxPanics] times is terminated.
//
// The package owns the stream, the consumer, the failures bucket and the
// job's wire form. It must not know Smartcar, Redis or the scheduler; it
// imports no internal package. Everything it uses works on nats-server 2.9
// and later.
package queue
