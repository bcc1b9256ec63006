package credentials

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Backoff while another process holds a grant's lock, and between retries of
// a failed write of a new pair: doubling, without jitter.
const (
	waitMin    = 10 * time.Millisecond
	waitMax    = 500 * time.Millisecond
	persistMin = 20 * time.Millisecond
	persistMax = 250 * time.Millisecond
)

// doubling returns the options of a backoff.Retry that waits first, doubling
// up to most, without jitter, for as long as its context lasts, plus opts.
func doubling(first, most time.Duration, opts ...backoff.RetryOption) []backoff.RetryOption {
	return append([]backoff.RetryOption{
		backoff.WithBackOff(&backoff.ExponentialBackOff{InitialInterval: first, Multiplier: 2, MaxInterval: most}),
		backoff.WithMaxElapsedTime(0), // the context bounds the retries
	}, opts...)
}

// exchangeAttempts bounds the calls to Smartcar in one refresh; a retry only
// follows a retryable failure (transport error, 5xx), where the response may
// have been lost after Smartcar rotated: the old refresh token still works
// for about a minute, so an immediate retry is the only way to recover.
const exchangeAttempts = 3

// grantToken returns the grant's access token, refreshing it first if it is
// stale or is rejected (non-empty).
func (m *Manager) grantToken(ctx context.Context, grantID, rejected string) (string, error) {
	if rejected != "" {
		m.cache.drop(grantID, rejected)
	} else if a, ok := m.cache.get(grantID); ok && !m.refreshDue(a) {
		return a.AccessToken, nil
	}
	g, err := m.store.GetGrant(ctx, grantID)
	if err != nil {
		return "", fmt.Errorf("access token: %w", err)
	}
	if g.NeedsReauth {
		m.cache.drop(grantID, "")
		return "", fmt.Errorf("access token: grant %s: %w", grantID, ErrReauthRequired)
	}
	if !m.needsRefresh(g, rejected) {
		m.cacheAccess(grantID, g.Access)
		return g.Access.AccessToken, nil
	}
	key := grantID
	if rejected != "" {
		key = "force\x00" + grantID + "\x00" + rejected
	}
	// The refresh runs detached from ctx: once Smartcar is called, the new
	// pair must be stored even if this caller gives up.
	base := context.WithoutCancel(ctx)
	ch := m.sf.DoChan(key, func() (any, error) {
		if !m.begin() {
			return "", ErrClosed
		}
		defer m.wg.Done()
		return m.refresh(base, grantID, rejected)
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return "", r.Err
		}
		return r.Val.(string), nil
	case <-ctx.Done():
		return "", fmt.Errorf("access token: grant %s: %w", grantID, ctx.Err())
	}
}

// needsRefresh reports whether g's access token is the rejected one or
// expires within the refresh margin.
func (m *Manager) needsRefresh(g Grant, rejected string) bool {
	if rejected != "" && g.Access.AccessToken == rejected {
		return true
	}
	return m.refreshDue(g.Access)
}

// refreshDue reports whether a expires within the refresh margin.
func (m *Manager) refreshDue(a smartcar.Access) bool {
	margin := m.cfg.RefreshBefore
	if life := time.Duration(a.ExpiresIn) * time.Second; life > 0 && margin > life/2 {
		margin = life / 2
	}
	return !m.cfg.Now().Add(margin).Before(a.Expiration)
}

// cacheAccess caches a grant's valid access token, pruning expired ones
// now and then.
func (m *Manager) cacheAccess(grantID string, a smartcar.Access) {
	if m.cachePuts.Add(1)%4096 == 0 {
		m.cache.prune(m.cfg.Now())
	}
	m.cache.put(grantID, a)
}

// refresh takes the grant's lock, or waits for its holder to store a new
// pair, and returns a fresh access token.
func (m *Manager) refresh(base context.Context, grantID, rejected string) (string, error) {
	// Long enough for a crashed holder's lock to expire and be taken over.
	ctx, cancel := context.WithTimeout(base, 2*m.cfg.LockTTL+time.Second)
	defer cancel()
	waiting := false // the last try found the lock held
	tok, err := backoff.Retry(ctx, func() (string, error) {
		waiting = false
		g, err := m.store.GetGrant(ctx, grantID)
		if err != nil {
			return "", backoff.Permanent(fmt.Errorf("refresh: %w", err))
		}
		if g.NeedsReauth {
			return "", backoff.Permanent(fmt.Errorf("refresh grant %s: %w", grantID, ErrReauthRequired))
		}
		if !m.needsRefresh(g, rejected) {
			return g.Access.AccessToken, nil // another process refreshed
		}
		unlock, err := m.store.Lock(ctx, LockKey(grantID), m.cfg.LockTTL)
		if err == nil {
			tok, err := m.refreshLocked(base, grantID, rejected)
			m.unlock(base, grantID, unlock)
			return tok, backoff.Permanent(err)
		}
		if !errors.Is(err, ErrLocked) {
			return "", backoff.Permanent(fmt.Errorf("refresh: %w", err))
		}
		waiting = true
		return "", err
	}, doubling(waitMin, waitMax, backoff.WithNotify(func(_ error, wait time.Duration) {
		m.log.DebugContext(ctx, "waiting for another refresh", "grant_id", grantID, "wait", wait)
	}))...)
	if err != nil && waiting {
		return "", fmt.Errorf("refresh grant %s: wait for lock: %w", grantID, err)
	}
	return tok, err
}

func (m *Manager) unlock(base context.Context, grantID string, unlock func(context.Context) error) {
	ctx, cancel := context.WithTimeout(base, 5*time.Second)
	defer cancel()
	if err := unlock(ctx); err != nil {
		// Lost: the refresh outlived LockTTL. Expired: it frees itself.
		m.log.WarnContext(ctx, "release refresh lock", "grant_id", grantID, "err", err)
	}
}

// refreshLocked runs under the grant's lock: re-read, call Smartcar, store.
func (m *Manager) refreshLocked(base context.Context, grantID, rejected string) (string, error) {
	ctx, cancel := context.WithTimeout(base, m.cfg.LockTTL/2)
	defer cancel()
	g, err := m.store.GetGrant(ctx, grantID)
	if err != nil {
		return "", fmt.Errorf("refresh: %w", err)
	}
	if g.NeedsReauth {
		return "", fmt.Errorf("refresh grant %s: %w", grantID, ErrReauthRequired)
	}
	if !m.needsRefresh(g, rejected) {
		return g.Access.AccessToken, nil // refreshed while we took the lock
	}
	acc, attempts, err := m.exchange(ctx, g)
	if err != nil {
		if se, ok := smartcar.AsError(err); ok && se.NeedsReauth() {
			m.stats.invalidGrant.Add(1)
			m.markReauth(base, g)
			return "", fmt.Errorf("refresh grant %s: %w: %w", grantID, ErrReauthRequired, err)
		}
		m.stats.failed.Add(1)
		return "", fmt.Errorf("refresh grant %s: %w", grantID, err)
	}
	now := m.cfg.Now()
	a, err := completeAccess(*acc, now)
	if err != nil {
		m.stats.failed.Add(1)
		return "", fmt.Errorf("refresh grant %s: %w", grantID, err)
	}
	stored, err := m.persist(base, g, Grant{ID: grantID, Access: a, UpdatedAt: now})
	if err != nil {
		m.stats.storeFailed.Add(1)
		return "", err
	}
	m.stats.stored(attempts)
	m.log.InfoContext(ctx, "grant refreshed", "grant_id", grantID, "version", stored.Version,
		"expires_at", stored.Access.Expiration)
	return stored.Access.AccessToken, nil
}

// exchange calls Smartcar, retrying a retryable failure after 200 ms, then
// 400 ms (see exchangeAttempts), and returns the pair and the calls it took.
// Errors come back sanitized: no token in their text.
func (m *Manager) exchange(ctx context.Context, g Grant) (*smartcar.Access, int, error) {
	attempt := 0
	var last error // the latest sanitized failure
	acc, err := backoff.Retry(ctx, func() (*smartcar.Access, error) {
		attempt++
		acc, err := m.ref.ExchangeRefreshToken(ctx, g.Access.RefreshToken)
		if err == nil {
			if acc == nil {
				return nil, backoff.Permanent(errEmptyExchange)
			}
			return acc, nil
		}
		last = sanitize(err, g.Access.RefreshToken, g.Access.AccessToken)
		if se, ok := smartcar.AsError(last); !ok || !se.Retryable() {
			return nil, backoff.Permanent(last)
		}
		return nil, last
	}, doubling(200*time.Millisecond, time.Second, backoff.WithMaxTries(exchangeAttempts),
		backoff.WithNotify(func(error, time.Duration) {
			m.log.WarnContext(ctx, "refresh failed, retrying", "grant_id", g.ID, "attempt", attempt, "err", last)
		}))...)
	switch {
	case err == nil:
		return acc, attempt, nil
	case errors.Is(err, errEmptyExchange):
		return nil, attempt, err
	case last != nil:
		err = last // not the context's error: the caller tells a rejected grant by it
	}
	return nil, attempt, fmt.Errorf("exchange refresh token: %w", err)
}

var errEmptyExchange = errors.New("exchange refresh token: empty response")

// persist stores the new pair with a compare-and-set on old's version,
// retrying store failures until PersistTimeout: Smartcar has already rotated,
// so the new refresh token is the only valid one left.
func (m *Manager) persist(base context.Context, old, next Grant) (Grant, error) {
	ctx, cancel := context.WithTimeout(base, m.cfg.PersistTimeout)
	defer cancel()
	attempt := 0
	var last error // the latest store failure
	stored, err := backoff.Retry(ctx, func() (Grant, error) {
		attempt++
		stored, err := m.store.UpdateGrant(ctx, next, old.Version)
		if err == nil {
			m.cacheAccess(old.ID, stored.Access) // the stored pair: what every replica now reads
			return stored, nil
		}
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
			last = nil
			g, err := m.afterLostWrite(ctx, old, next, err)
			return g, backoff.Permanent(err)
		}
		last = err
		if attempt%40 == 1 { // about every 10 s
			m.log.WarnContext(ctx, "store refreshed pair, retrying", "grant_id", old.ID, "attempt", attempt, "err", err)
		}
		return Grant{}, err
	}, doubling(persistMin, persistMax)...)
	if err != nil && last != nil {
		m.log.ErrorContext(ctx, "refreshed pair lost: could not store it; the grant needs a reconnect",
			"grant_id", old.ID, "attempts", attempt, "err", last)
		return Grant{}, fmt.Errorf("refresh grant %s: store new pair: %w", old.ID, last)
	}
	return stored, err
}

// afterLostWrite handles a compare-and-set that failed after Smartcar issued
// next: an earlier attempt whose reply was lost may have stored it; otherwise
// someone else wrote the grant (a reconnect, or a refresh after our lock
// expired) and theirs wins, while next's access token still works this once.
func (m *Manager) afterLostWrite(ctx context.Context, old, next Grant, werr error) (Grant, error) {
	cur, err := m.store.GetGrant(ctx, old.ID)
	if err == nil && cur.Access.RefreshToken == next.Access.RefreshToken {
		return cur, nil
	}
	if errors.Is(werr, ErrNotFound) || errors.Is(err, ErrNotFound) {
		return Grant{}, fmt.Errorf("refresh grant %s: deleted during refresh: %w", old.ID, ErrNotFound)
	}
	m.stats.superseded.Add(1)
	m.log.WarnContext(ctx, "refreshed pair dropped: grant changed during refresh", "grant_id", old.ID,
		"expected_version", old.Version)
	next.Version = old.Version
	return next, nil
}

// markReauth records that Smartcar rejected the grant's refresh token: on
// the grant (so no one sends it again), then through OnReauth (on its
// vehicles).
func (m *Manager) markReauth(base context.Context, g Grant) {
	ctx, cancel := context.WithTimeout(base, m.cfg.LockTTL)
	defer cancel()
	m.cache.drop(g.ID, "")
	g.NeedsReauth = true
	g.UpdatedAt = m.cfg.Now()
	var errs []error
	if _, err := m.store.UpdateGrant(ctx, g, g.Version); err != nil && !errors.Is(err, ErrConflict) {
		errs = append(errs, err)
	}
	if m.cfg.OnReauth != nil {
		if err := m.cfg.OnReauth(ctx, g.ID, ReauthReason); err != nil {
			errs = append(errs, err)
		}
	}
	m.log.WarnContext(ctx, "grant needs reauthentication", "grant_id", g.ID)
	if len(errs) > 0 {
		m.log.ErrorContext(ctx, "mark grant needs_reauth", "grant_id", g.ID, "err", errors.Join(errs...))
	}
}

// ReauthReason is the reason the Manager gives OnReauth.
const ReauthReason = "refresh token rejected (invalid_grant): reconnect through Smartcar Connect"
