package credentials

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Refresher exchanges a refresh token for a new token pair at Smartcar.
// smartcar.AuthClient satisfies it. An OAuth invalid_grant must come back as
// a *smartcar.Error whose NeedsReauth is true.
type Refresher interface {
	ExchangeRefreshToken(ctx context.Context, refreshToken string) (*smartcar.Access, error)
}

// ManagerConfig tunes a Manager; zero fields take the defaults.
type ManagerConfig struct {
	// RefreshBefore is how long before expiry an access token is refreshed
	// (default 5m). It is capped at half the token's lifetime (expires_in),
	// so very short-lived tokens are not refreshed on every call.
	RefreshBefore time.Duration
	// LockTTL is the expiry of the per-grant refresh lock (default 30s). The
	// call to Smartcar is given at most half of it.
	LockTTL time.Duration
	// PersistTimeout bounds the retries of storing a new pair after Smartcar
	// issued it (default 5m): the new refresh token is then the only valid one.
	PersistTimeout time.Duration
	// Now is the clock used to judge token expiry (default time.Now).
	Now func() time.Time
	// OnReauth, when set, is called once Smartcar rejected a grant's refresh
	// token (invalid_grant) and the grant is marked NeedsReauth, with a
	// reason to record: cmd marks the grant's vehicles needs_reauth in the
	// registry with it, so none of them is polled with the grant again. Its
	// error is logged.
	OnReauth func(ctx context.Context, grantID, reason string) error
}

// Defaults of ManagerConfig.
const (
	DefaultRefreshBefore  = 5 * time.Minute
	DefaultLockTTL        = 30 * time.Second
	DefaultPersistTimeout = 5 * time.Minute
)

// ErrClosed is returned by a Manager after Close.
var ErrClosed = errors.New("token manager closed")

// Manager hands out grants' access tokens, refreshing a grant's pair when
// it is about to expire: once per grant across goroutines
// (singleflight) and processes (a store lock plus a version compare-and-set),
// storing the new pair before anyone uses it.
type Manager struct {
	store Store
	ref   Refresher
	cfg   ManagerConfig
	log   *slog.Logger
	sf    singleflight.Group
	stats refreshStats

	cache     accessCache // access tokens not yet due for a refresh
	cachePuts atomic.Uint64

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup // refreshes in flight
}

// NewManager returns a Manager over store, refreshing through r.
func NewManager(store Store, r Refresher, cfg ManagerConfig, logger *slog.Logger) *Manager {
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = DefaultRefreshBefore
	}
	if cfg.LockTTL <= 0 {
		cfg.LockTTL = DefaultLockTTL
	}
	if cfg.PersistTimeout <= 0 {
		cfg.PersistTimeout = DefaultPersistTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{store: store, ref: r, cfg: cfg, log: logger.With("component", "credentials")}
}

// AccessToken returns a valid access token of the grant, refreshing its
// pair first if it expires within RefreshBefore. It returns an error wrapping
// ErrReauthRequired when Smartcar rejected (now or before) the grant's
// refresh token, and ErrNotFound for an unknown grant.
func (m *Manager) AccessToken(ctx context.Context, grantID string) (string, error) {
	return m.grantToken(ctx, grantID, "")
}

// ForceRefresh is for a data call that failed with 401 AUTHENTICATION using
// rejectedAccessToken: it refreshes the grant only if the stored access token
// is still that one, and otherwise returns the newer stored token.
func (m *Manager) ForceRefresh(ctx context.Context, grantID, rejectedAccessToken string) (string, error) {
	return m.grantToken(ctx, grantID, rejectedAccessToken)
}

// Connect stores a grant's new pair, replacing any stored one (a reconnect,
// which also clears NeedsReauth). Registering the grant's vehicles is the
// registry's part (see onboard.Handler.ConnectGrant).
func (m *Manager) Connect(ctx context.Context, grantID string, access *smartcar.Access) error {
	if access == nil {
		return errors.New("connect: no token pair")
	}
	if err := CheckID(grantID); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	now := m.cfg.Now()
	a, err := completeAccess(*access, now)
	if err != nil {
		return fmt.Errorf("connect grant %s: %w", grantID, err)
	}
	if err := m.store.CreateGrant(ctx, Grant{ID: grantID, Access: a, UpdatedAt: now}); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	m.cache.drop(grantID, "") // a reconnect: the old token may be revoked
	m.log.InfoContext(ctx, "grant connected", "grant_id", grantID)
	return nil
}

// Close stops new refreshes and waits for those in flight (which may be
// storing a pair Smartcar already issued) until ctx is done.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close credentials manager: %w", ctx.Err())
	}
}

// begin registers a refresh in flight; false after Close.
func (m *Manager) begin() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false
	}
	m.wg.Add(1)
	return true
}

// completeAccess fills what a token response leaves out and rejects one
// without tokens. Expiry defaults to Smartcar's documented 2 h lifetime.
func completeAccess(a smartcar.Access, now time.Time) (smartcar.Access, error) {
	if a.AccessToken == "" || a.RefreshToken == "" {
		return a, errors.New("token pair without access or refresh token")
	}
	if a.ExpiresIn <= 0 && a.Expiration.IsZero() {
		a.ExpiresIn = 7200
	}
	if a.Expiration.IsZero() {
		a.Expiration = now.Add(time.Duration(a.ExpiresIn) * time.Second)
	}
	if a.RefreshExpiration.IsZero() {
		a.RefreshExpiration = now.Add(smartcar.RefreshTokenLifetime)
	}
	a.Expiration, a.RefreshExpiration = a.Expiration.UTC(), a.RefreshExpiration.UTC()
	return a, nil
}
