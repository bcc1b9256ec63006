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
// The package owns the stream, the consumer and the job's wire form. It must
// not know Smartcar, Redis or the scheduler; it imports no internal package.
// Everything it uses works on nats-server 2.9 and later.
package queue
