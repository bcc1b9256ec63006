package credentials_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// clock is a settable time source for Manager.Now.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// fakeAuth is our test double of Smartcar's token endpoint: every refresh
// rotates the pair, a used refresh token is spent, and sending a spent one
// again is counted as a reuse (and rejected with invalid_grant, whose
// description echoes the token as Smartcar's does, unless grace is on).
type fakeAuth struct {
	clock    *clock
	lifetime time.Duration

	mu        sync.Mutex
	grace     bool              // accept a spent token once more (Smartcar's one-minute grace)
	loseNext  int               // rotate, then fail as if the reply was lost
	gate      chan struct{}     // when set, each exchange waits for it
	valid     map[string]string // live refresh token → grant
	spent     map[string]string // used refresh token → grant
	revoked   map[string]bool   // grants whose tokens Smartcar rejects
	latest    map[string]*smartcar.Access
	n         int
	refreshes int // successful rotations
	reuses    int // spent refresh tokens sent again
	calls     int
}

func newFakeAuth(c *clock, lifetime time.Duration) *fakeAuth {
	return &fakeAuth{clock: c, lifetime: lifetime, valid: map[string]string{}, spent: map[string]string{},
		revoked: map[string]bool{}, latest: map[string]*smartcar.Access{}}
}

// issue hands out a new pair for grant, as a Connect would.
func (f *fakeAuth) issue(grant string) *smartcar.Access {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issueLocked(grant)
}

func (f *fakeAuth) issueLocked(grant string) *smartcar.Access {
	f.n++
	now := f.clock.Now()
	a := &smartcar.Access{
		AccessToken:       fmt.Sprintf("secret-access-%s-%d", grant, f.n),
		TokenType:         "Bearer",
		ExpiresIn:         int(f.lifetime / time.Second),
		Expiration:        now.Add(f.lifetime),
		RefreshToken:      fmt.Sprintf("secret-refresh-%s-%d", grant, f.n),
		RefreshExpiration: now.Add(smartcar.RefreshTokenLifetime),
	}
	f.valid[a.RefreshToken] = grant
	f.latest[grant] = a
	c := *a
	return &c
}

func (f *fakeAuth) ExchangeRefreshToken(ctx context.Context, rt string) (*smartcar.Access, error) {
	f.mu.Lock()
	f.calls++
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate // a slow token endpoint; it completes even if the caller gave up
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	invalid := &smartcar.Error{Type: smartcar.TypeOAuth, Code: "invalid_grant", StatusCode: 400,
		Description: "Invalid refresh_token: " + rt + "."}
	grant, ok := f.valid[rt]
	if !ok {
		g, wasSpent := f.spent[rt]
		if !wasSpent {
			return nil, invalid
		}
		f.reuses++
		if !f.grace || f.revoked[g] {
			return nil, invalid
		}
		grant = g
	}
	if f.revoked[grant] {
		return nil, invalid
	}
	delete(f.valid, rt)
	f.spent[rt] = grant
	f.refreshes++
	a := f.issueLocked(grant)
	if f.loseNext > 0 {
		f.loseNext--
		return nil, &smartcar.Error{Type: smartcar.TypeSDK, Description: "read response: connection reset", Err: io.ErrUnexpectedEOF}
	}
	return a, nil
}

func (f *fakeAuth) revoke(grant string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked[grant] = true
}

// counts returns successful refreshes, spent-token reuses and all calls.
func (f *fakeAuth) counts() (refreshes, reuses, calls int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes, f.reuses, f.calls
}

// current returns the grant's newest pair.
func (f *fakeAuth) current(grant string) smartcar.Access {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.latest[grant]
}

// allTokens returns every token the fake ever issued.
func (f *fakeAuth) allTokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for rt := range f.valid {
		out = append(out, rt)
	}
	for rt := range f.spent {
		out = append(out, rt)
	}
	for _, a := range f.latest {
		out = append(out, a.AccessToken)
	}
	return out
}

// flakyStore wraps a real Store and fails the next UpdateGrant calls: before
// writing, or after writing (a lost reply).
type flakyStore struct {
	credentials.Store
	failBefore atomic.Int32
	failAfter  atomic.Int32
	updates    atomic.Int32
}

func (s *flakyStore) UpdateGrant(ctx context.Context, g credentials.Grant, v int64) (credentials.Grant, error) {
	s.updates.Add(1)
	if s.failBefore.Add(-1) >= 0 {
		return credentials.Grant{}, fmt.Errorf("update grant: %w", io.ErrUnexpectedEOF)
	}
	stored, err := s.Store.UpdateGrant(ctx, g, v)
	if err == nil && s.failAfter.Add(-1) >= 0 {
		return credentials.Grant{}, fmt.Errorf("update grant: %w", io.ErrUnexpectedEOF)
	}
	return stored, err
}

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func testLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// closeManager closes m when the test ends; no refresh may still be running.
func closeManager(t *testing.T, m *credentials.Manager) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}
