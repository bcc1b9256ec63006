package daemon

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/inbox"
	"github.com/smartcar-poller/smartcar-poller/onboard"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// The parts Open built, for the commands, the HTTP endpoints and metrics of
// cmd/smartcar-poller, and the benchmarks. A part Open did not build (a
// command's Open builds no worker) is nil.

// NATS is the connection to the NATS server.
func (a *Daemon) NATS() *nats.Conn { return a.nc }

// JetStream is the JetStream context of the connection.
func (a *Daemon) JetStream() jetstream.JetStream { return a.js }

// Redis is the Redis client; nil with the embedded token store.
func (a *Daemon) Redis() redis.UniversalClient { return a.rdb }

// Keyring encrypts the stored token pairs; nil: plaintext.
func (a *Daemon) Keyring() *credentials.Keyring { return a.keys }

// Grants is the credentials store (API v2 grants).
func (a *Daemon) Grants() credentials.Store { return a.grants }

// Tokens is the credentials manager.
func (a *Daemon) Tokens() *credentials.Manager { return a.tokens }

// Registry is the vehicle registry as the worker and onboarding use it.
func (a *Daemon) Registry() registry.Store { return a.reg }

// Queue is the job queue.
func (a *Daemon) Queue() *queue.Queue { return a.queue }

// Publisher is the events publisher.
func (a *Daemon) Publisher() *events.Publisher { return a.pub }

// API is the Smartcar API v2 client.
func (a *Daemon) API() *smartcar.Client { return a.api }

// AppClient is the Smartcar application client (API v3, Management v3).
func (a *Daemon) AppClient() *smartcar.AppClient { return a.app }

// Auth is the Smartcar OAuth client.
func (a *Daemon) Auth() *smartcar.AuthClient { return a.auth }

// Worker handles the poll jobs.
func (a *Daemon) Worker() *worker.Worker { return a.worker }

// Scheduler fires the schedules.
func (a *Daemon) Scheduler() *scheduler.Scheduler { return a.sched }

// Onboarding is the Connect and webhook handler; nil unless connect or
// webhooks are enabled.
func (a *Daemon) Onboarding() *onboard.Handler { return a.onboard }

// Inbox holds the webhook deliveries awaiting processing; nil unless the
// daemon takes webhooks.
func (a *Daemon) Inbox() *inbox.Inbox { return a.inbox }

// NewOnboarding builds a Connect and webhook handler on the parts (connect
// uses one whether or not /connect is served).
func (a *Daemon) NewOnboarding() (*onboard.Handler, error) { return a.onboarding() }

// FlushPolls writes the last-poll times recorded and not yet written (Run
// writes them every few seconds, Close the rest).
func (a *Daemon) FlushPolls(ctx context.Context) error { return a.polls.Flush(ctx) }
