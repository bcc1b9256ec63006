// Package inbox is the durable inbox of webhook deliveries: the JetStream
// stream the webhook endpoint stores each verified delivery in before it
// answers Smartcar, and the consumer that hands the stored deliveries to
// their processing, with retries.
//
// [Inbox.Put] publishes a delivery's raw body on <prefix>.webhooks into the
// work-queue stream <PREFIX>_WEBHOOKS (file storage by default) with
// Nats-Msg-Id set to the delivery's id (a webhook's eventId), and returns once
// JetStream has stored it, so a retried delivery within the duplicate window
// is not stored twice. The stream is bounded (MaxAge, MaxMessages) and
// refuses new deliveries when full rather than dropping stored ones.
// [Inbox.Consume] pulls them from the durable consumer
// <PREFIX>_WEBHOOK_PROCESSORS with bounded concurrency: a handler's nil acks
// the delivery (it leaves the stream), an error or a panic redelivers it
// after [Config.Backoff]. A delivery whose processing never finished (the
// process died) is redelivered after [Config.AckWait]; at shutdown the
// deliveries in progress get [Config.ShutdownGrace] to finish and are handed
// back otherwise. Nothing stored is lost: it stays in the stream until a
// handler succeeds or MaxAge passes.
//
// The package owns the stream, the consumer and the delivery's wire form
// (the body as received, its id in the Nats-Msg-Id header). It knows neither
// Smartcar nor what a delivery means; it imports no internal package.
// Everything it uses works on nats-server 2.9 and later.
package inbox
