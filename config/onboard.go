package config

import (
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Connect serves Smartcar Connect from the daemon: GET /connect redirects a
// user to Smartcar and GET /callback stores the grant and registers its
// vehicles.
type Connect struct {
	// Enabled mounts /connect and /callback on http.listen; it needs
	// smartcar.redirect_uri, pointing at this daemon's /callback.
	Enabled bool `yaml:"enabled"`
	// Scopes are the permissions asked for (default: vehicle info, odometer,
	// location, battery, charge and fuel reads).
	Scopes []string `yaml:"scopes"`
	// StateTTL is how long a Connect attempt may take (default 10m).
	StateTTL time.Duration `yaml:"state_ttl"`
}

// Webhooks receives Smartcar's webhooks on POST /webhooks/smartcar.
type Webhooks struct {
	// Enabled mounts /webhooks/smartcar on http.listen.
	Enabled bool `yaml:"enabled"`
	// ManagementToken is the application management token that signs the
	// webhooks; it defaults to $SMARTCAR_MANAGEMENT_TOKEN.
	ManagementToken Secret `yaml:"management_token"`
	// DedupTTL is how long a delivered eventId is remembered, so that a
	// redelivery is dropped (default 7 days, Smartcar's advice; at most
	// MaxDedupTTL).
	DedupTTL time.Duration `yaml:"dedup_ttl"`
	// Concurrency is how many stored deliveries one process turns into
	// events at once (default 4).
	Concurrency int `yaml:"concurrency"`
	// Inbox bounds the JetStream stream <PREFIX>_WEBHOOKS where deliveries
	// wait, once answered, until they are processed.
	Inbox WebhookInbox `yaml:"inbox"`
}

// WebhookInbox bounds the deliveries stored and not yet processed.
type WebhookInbox struct {
	// MaxAge is how long a delivery may wait for processing that keeps
	// failing before it is dropped (default 7 days; at least 1h).
	MaxAge time.Duration `yaml:"max_age"`
	// MaxMessages is how many may wait; when it is reached new deliveries
	// are answered 503 (Smartcar retries them) and none stored is dropped
	// (default 1,000,000).
	MaxMessages int `yaml:"max_messages"`
}

// MaxWebhookConcurrency bounds webhooks.concurrency.
const MaxWebhookConcurrency = 256

// MaxDedupTTL bounds webhooks.dedup_ttl: 30 days, what the token stores
// keep a mark for at most.
const MaxDedupTTL = 30 * 24 * time.Hour

// When holds a schedule's conditions on each selected vehicle.
type When struct {
	// WebhooksSilentFor polls a vehicle only once no webhook has come from it
	// for this long; 0 polls regardless of webhooks.
	WebhooksSilentFor time.Duration `yaml:"webhooks_silent_for"`
}

var scopePattern = regexp.MustCompile(`^[a-z][a-z_:]*$`)

func (v *validator) onboarding(c *Config) {
	if c.Connect.Enabled {
		v.check(c.Smartcar.RedirectURI != "", "smartcar.redirect_uri",
			"missing: connect.enabled needs it (set it or SMARTCAR_REDIRECT_URI)")
		v.check(c.HTTP.Listen != "", "http.listen", "must not be empty: connect.enabled serves /connect and /callback")
	}
	if scopes := c.Connect.Scopes; len(scopes) == 0 {
		v.fail("connect.scopes", "at least one scope is required")
	} else {
		for i, s := range scopes {
			item := fmt.Sprintf("connect.scopes[%d]", i)
			switch {
			case !scopePattern.MatchString(s):
				v.fail(item, "invalid scope %q (want lowercase letters, _ or :)", truncate(s, 40))
			case slices.Contains(scopes[:i], s):
				v.fail(item, "duplicate scope %q", s)
			}
		}
	}
	v.positive("connect.state_ttl", c.Connect.StateTTL)
	v.check(c.Connect.StateTTL <= time.Hour, "connect.state_ttl", "must be at most 1h, got %s", c.Connect.StateTTL)

	if c.Webhooks.Enabled {
		if !v.opts.skipCredentials {
			v.check(c.Webhooks.ManagementToken != "", "webhooks.management_token",
				"missing: webhooks.enabled needs it (set it or SMARTCAR_MANAGEMENT_TOKEN)")
		}
		v.check(c.HTTP.Listen != "", "http.listen", "must not be empty: webhooks.enabled serves /webhooks/smartcar")
	}
	v.positive("webhooks.dedup_ttl", c.Webhooks.DedupTTL)
	v.check(c.Webhooks.DedupTTL <= MaxDedupTTL, "webhooks.dedup_ttl", "must be at most 720h (30 days), got %s", c.Webhooks.DedupTTL)
	w := c.Webhooks
	v.check(w.Concurrency >= 1 && w.Concurrency <= MaxWebhookConcurrency, "webhooks.concurrency",
		"must be 1 to %d, got %d", MaxWebhookConcurrency, w.Concurrency)
	v.check(w.Inbox.MaxAge >= time.Hour, "webhooks.inbox.max_age", "must be at least 1h, got %s", w.Inbox.MaxAge)
	v.check(w.Inbox.MaxMessages >= 1, "webhooks.inbox.max_messages", "must be at least 1, got %d", w.Inbox.MaxMessages)
}
