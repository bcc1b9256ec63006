package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/inbox"
	"github.com/smartcar-poller/smartcar-poller/onboard"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

var (
	_ onboard.Auth  = (*smartcar.AuthClient)(nil)
	_ onboard.API   = (*smartcar.Client)(nil)
	_ onboard.Inbox = (*inbox.Inbox)(nil)
)

// onboarding builds the Connect and webhook handler on the app's parts.
func (a *Daemon) onboarding() (*onboard.Handler, error) {
	d := onboard.Deps{Auth: a.auth, API: a.api, Grants: a.tokens, Registry: a.reg, Marks: a.marks,
		Publisher: a.pub, Latest: a.pub}
	if a.inbox != nil {
		d.Inbox = a.inbox
	}
	states, err := a.webhookStates()
	if err != nil {
		return nil, err
	}
	d.States = states
	return onboard.New(onboard.Config{
		Scopes:   a.cfg.Connect.Scopes,
		StateTTL: a.cfg.Connect.StateTTL,
		// API v3 polls with the application token: no user's pair is kept.
		DropGrants:      a.cfg.Smartcar.API != config.APIV2,
		ManagementToken: a.cfg.Webhooks.ManagementToken.Reveal(),
		DedupTTL:        a.cfg.Webhooks.DedupTTL,
	}, a.log, d)
}

// openInbox opens the webhook inbox, where /webhooks/smartcar stores each
// delivery before it answers, when webhooks are enabled.
func (a *Daemon) openInbox(ctx context.Context) error {
	if !a.cfg.Webhooks.Enabled {
		return nil
	}
	var err error
	a.inbox, err = inbox.New(ctx, a.js, inbox.Config{
		Prefix:      a.cfg.NATS.SubjectPrefix,
		Replicas:    max(a.cfg.NATS.Replicas, 1),
		Storage:     jetstream.FileStorage,
		MaxAge:      a.cfg.Webhooks.Inbox.MaxAge,
		MaxMessages: int64(a.cfg.Webhooks.Inbox.MaxMessages),
		Logger:      a.log,
	})
	if err != nil {
		return fmt.Errorf("webhook inbox: %w", err)
	}
	return nil
}

// consumeWebhooks turns the stored deliveries into events until ctx is
// done (Run owns it, like the job consumer).
func (a *Daemon) consumeWebhooks(ctx context.Context) error {
	return a.inbox.Consume(ctx, a.cfg.Webhooks.Concurrency, a.ProcessWebhook)
}

// ProcessWebhook turns one stored webhook delivery into events (what the
// inbox consumer calls for each).
func (a *Daemon) ProcessWebhook(ctx context.Context, d inbox.Delivery) error {
	return a.onboard.ProcessWebhook(ctx, d.Body, d.Received)
}

// lastWebhooks is what schedules with when.webhooks_silent_for read (the
// registry).
type lastWebhooks interface {
	LastWebhooks(ctx context.Context) (map[string]time.Time, error)
}

// schedulerVehicles lists the registry for the scheduler, with each
// vehicle's last-webhook time when a schedule needs it.
func (a *Daemon) schedulerVehicles() scheduler.Vehicles {
	base := vehicleLister{a.reg}
	for _, s := range a.cfg.Schedules {
		if s.When.WebhooksSilentFor > 0 {
			return webhookLister{base, a.reg}
		}
	}
	return base
}

// webhookLister adds LastWebhook to the vehicles of a vehicleLister.
type webhookLister struct {
	vehicleLister
	w lastWebhooks
}

func (l webhookLister) ListVehicles(ctx context.Context) ([]scheduler.Vehicle, error) {
	vs, err := l.vehicleLister.ListVehicles(ctx)
	if err != nil {
		return nil, err
	}
	last, err := l.w.LastWebhooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("last webhooks: %w", err)
	}
	for i := range vs {
		vs[i].LastWebhook = last[vs[i].ID]
	}
	return vs, nil
}
