package daemon

import (
	"context"
	"fmt"
	"net/http"

	"golang.org/x/time/rate"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/limiter"
	"github.com/smartcar-poller/smartcar-poller/marks"
	"github.com/smartcar-poller/smartcar-poller/onboard"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// smartcarTransport is the HTTP transport to Smartcar. Over HTTPS it
// negotiates HTTP/2, where the calls in flight share a few connections; when
// the origin speaks only HTTP/1.1 each call in flight needs a connection, so
// as many as there are workers are kept open (http.DefaultTransport keeps 2
// idle per host and would open and close one for most calls).
func smartcarTransport(concurrency int) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = max(concurrency, 2)
	tr.MaxIdleConns = max(concurrency, tr.MaxIdleConns)
	return tr
}

// rateLimiter is the app-wide budget smartcar.rate_limit: the per-process
// limiter, then (with Redis) the GCRA bucket all replicas share. The embedded
// KV token store means a single replica, so the local limiter is the budget.
func (a *Daemon) rateLimiter() (worker.Limiter, error) {
	rl := a.cfg.Smartcar.RateLimit
	if rl.RequestsPerMinute <= 0 {
		return rate.NewLimiter(rate.Inf, 1), nil
	}
	local := rate.NewLimiter(rate.Limit(rl.RequestsPerMinute/60), max(rl.Burst, 1))
	if a.rdb == nil {
		return local, nil
	}
	shared, err := limiter.NewShared(a.rdb, a.cfg.Redis.KeyPrefix, limiter.Limit{PerMinute: rl.RequestsPerMinute, Burst: max(rl.Burst, 1)})
	if err != nil {
		return nil, fmt.Errorf("rate limiter: %w", err)
	}
	return limiter.Chain{local, shared}, nil
}

// The worker takes a poll's lease, hold and vehicle in one StartPoll (2
// Redis round trips per poll with the release, none on the embedded store)
// and the grant's token from the manager's cache; onboarding stores grants,
// registers vehicles and keeps its marks. Every backend implements these.
var (
	_ worker.Registry  = registry.Store(nil)
	_ worker.Tokens    = (*credentials.Manager)(nil)
	_ onboard.Grants   = (*credentials.Manager)(nil)
	_ onboard.Registry = registry.Store(nil)
	_ onboard.Marks    = (*marks.Redis)(nil)
	_ onboard.Marks    = (*marks.KV)(nil)
)

// grantRejected is the credentials manager's OnReauth: Smartcar rejected
// the grant's refresh token, so none of its vehicles is polled until the
// user reconnects.
func (a *Daemon) grantRejected(ctx context.Context, grantID, reason string) error {
	n, err := registry.SetGrantStatus(ctx, a.reg, grantID, events.StatusNeedsReauth, reason)
	a.log.WarnContext(ctx, "vehicles of a rejected grant need reauthentication", "grant_id", grantID, "vehicles", n)
	return err
}

// appClient is the Smartcar application client of cfg (API v3): one per
// process, so its workers share one application token, which it renews
// before it expires and once on a 401. origins holds the origins (empty:
// from the SMARTCAR_* variables) and may hold the HTTP client; else hc
// sends its requests.
func appClient(cfg *config.Config, origins smartcar.AppClientOptions, hc *http.Client) (*smartcar.AppClient, error) {
	o := origins
	o.ClientID, o.ClientSecret = cfg.Smartcar.ClientID, cfg.Smartcar.ClientSecret.Reveal()
	if o.HTTPClient == nil {
		o.HTTPClient = hc
	}
	app, err := smartcar.NewAppClient(&o)
	if err != nil {
		return nil, fmt.Errorf("smartcar app client: %w", err)
	}
	return app, nil
}

// authClient is the Smartcar auth client of cfg. A redirect URI is needed
// only by connect --code and /connect (config requires it with
// connect.enabled).
func authClient(cfg *config.Config, extra ...smartcar.AuthOption) (*smartcar.AuthClient, error) {
	a, err := smartcar.NewAuthClient(append([]smartcar.AuthOption{
		smartcar.WithClientID(cfg.Smartcar.ClientID),
		smartcar.WithClientSecret(cfg.Smartcar.ClientSecret.Reveal()),
		smartcar.WithRedirectURI(cfg.Smartcar.RedirectURI),
		smartcar.WithoutRedirectURI(),
		smartcar.WithMode(string(cfg.Smartcar.Mode)),
	}, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("smartcar auth client: %w", err)
	}
	return a, nil
}
