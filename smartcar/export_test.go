package smartcar

import "time"

// SetAppClientClock makes a use now as the current time (for token expiry).
func SetAppClientClock(a *AppClient, now func() time.Time) { a.now = now }

// SetTokenWaitHook makes a call onWait each time a caller starts waiting for
// another caller's token request.
func SetTokenWaitHook(a *AppClient, onWait func()) {
	a.tokens.mu.Lock()
	a.tokens.onWait = onWait
	a.tokens.mu.Unlock()
}
