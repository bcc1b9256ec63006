package credentials

import (
	"sync"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// accessCache keeps each grant's access token in memory while it is not due
// for a refresh, so a poll does not read the grant from the store. Smartcar
// access tokens stay valid until they expire even after the pair is
// refreshed (by this process or another replica), so a cached token is never
// wrong to use before its expiry; one that Smartcar rejects (a revoked grant)
// is dropped by ForceRefresh, whose read of the store then tells the truth.
// Refreshes, and every decision to refresh, always read the store.
type accessCache struct {
	mu sync.Mutex
	m  map[string]smartcar.Access // grant id → access (refresh token cleared)
}

func (c *accessCache) get(grantID string) (smartcar.Access, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.m[grantID]
	return a, ok
}

// put caches a grant's access token; the refresh token is not kept.
func (c *accessCache) put(grantID string, a smartcar.Access) {
	a.RefreshToken = ""
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]smartcar.Access)
	}
	c.m[grantID] = a
}

// drop forgets the grant's token if it is token, or whatever it is when
// token is empty.
func (c *accessCache) drop(grantID, token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if a, ok := c.m[grantID]; ok && (token == "" || a.AccessToken == token) {
		delete(c.m, grantID)
	}
}

// prune forgets tokens that expired before now; the map then holds at most
// the grants polled within one token lifetime.
func (c *accessCache) prune(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, a := range c.m {
		if !now.Before(a.Expiration) {
			delete(c.m, id)
		}
	}
}
