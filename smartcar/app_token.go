package smartcar

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// iamTokenPath is the path of the application-token endpoint on the IAM origin.
const iamTokenPath = "/oauth2/token"

// maxRenewEarly bounds how long before its expiry an application token is
// renewed; shorter-lived tokens are renewed when a tenth of their life is left.
const maxRenewEarly = 5 * time.Minute

// AppToken is an application token (OAuth client_credentials) and when it
// expires. Keep it out of logs: its String, GoString and LogValue methods
// never show Value.
type AppToken struct {
	Value  string
	Expiry time.Time
}

// String never shows the token.
func (t *AppToken) String() string {
	return "smartcar.AppToken{value:REDACTED expiry:" + t.Expiry.UTC().Format(time.RFC3339) + "}"
}

// GoString never shows the token (for %#v).
func (t *AppToken) GoString() string { return t.String() }

// LogValue makes slog print the token's expiry, not the token.
func (t *AppToken) LogValue() slog.Value {
	return slog.GroupValue(slog.String("value", "REDACTED"), slog.Time("expiry", t.Expiry))
}

// appToken is a cached application token with its Authorization header.
type appToken struct {
	value   string
	header  []string // "Bearer <value>", shared by every request
	expiry  time.Time
	renewAt time.Time
}

// tokenSource caches one application token and renews it shortly before it
// expires, with at most one token request in flight: the first caller that
// finds no usable token fetches one with its own context while the others
// wait for that result (or their own context). Callers that arrive while a
// renewal runs and the old token is still valid keep using the old token.
// No goroutine is started.
type tokenSource struct {
	fetch func(context.Context) (*appToken, error)
	now   func() time.Time

	mu     sync.Mutex
	cur    *appToken
	flight *tokenFetch
	// onWait, when set (by tests), is called each time a caller starts
	// waiting for another caller's fetch.
	onWait func()
}

// tokenFetch is one token request; done is closed once tok or err is set.
type tokenFetch struct {
	done chan struct{}
	tok  *appToken
	err  error
}

// get returns a token that is valid now.
func (s *tokenSource) get(ctx context.Context) (*appToken, error) {
	for {
		s.mu.Lock()
		now := s.now()
		cur, f := s.cur, s.flight
		switch {
		case cur != nil && now.Before(cur.renewAt):
			s.mu.Unlock()
			return cur, nil
		case cur != nil && f != nil && now.Before(cur.expiry):
			s.mu.Unlock() // another caller is renewing; the old token still works
			return cur, nil
		case f == nil:
			f = &tokenFetch{done: make(chan struct{})}
			s.flight = f
			s.mu.Unlock()
			f.tok, f.err = s.fetch(ctx)
			s.mu.Lock()
			s.flight = nil
			if f.err == nil {
				s.cur = f.tok
			}
			s.mu.Unlock()
			close(f.done)
			return f.tok, f.err
		}
		hook := s.onWait
		s.mu.Unlock()
		if hook != nil {
			hook()
		}
		select {
		case <-ctx.Done():
			return nil, transportError(ctx.Err(), secrets{})
		case <-f.done:
		}
		if f.err == nil {
			return f.tok, nil
		}
		// The fetching caller gave up (its context ended): if ours has not,
		// try again, fetching ourselves if nobody else does.
		if ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
			continue
		}
		return nil, f.err
	}
}

// invalidate drops tok if it is still the cached token (a v3 call answered
// 401 with it), so that the next get fetches a new one. A token that was
// already replaced is left alone: many callers failing with the same old
// token cause one renewal.
func (s *tokenSource) invalidate(tok *appToken) {
	s.mu.Lock()
	if s.cur == tok {
		s.cur = nil
	}
	s.mu.Unlock()
}

// tokenWireV3 is the answer of the application-token endpoint.
type tokenWireV3 struct {
	AccessToken string  `json:"access_token"`
	TokenType   string  `json:"token_type"`
	ExpiresIn   float64 `json:"expires_in"`
}

// fetchToken asks the IAM service for an application token. The client
// secret travels in the form and is redacted from every error.
func (a *AppClient) fetchToken(ctx context.Context) (*appToken, error) {
	start := a.now()
	r := request{method: http.MethodPost, url: a.tokenURL, body: a.tokenForm, ctype: formContentType,
		secrets: secrets{a.secret, url.QueryEscape(a.secret)}}
	var w tokenWireV3
	if _, err := a.client.doJSON(ctx, &r, &w); err != nil {
		return nil, err
	}
	if w.AccessToken == "" {
		return nil, &Error{Type: TypeSDK, Code: "INVALID_RESPONSE", StatusCode: http.StatusOK,
			Description: "application token response has no access_token"}
	}
	life := time.Duration(max(w.ExpiresIn, 0) * float64(time.Second))
	expiry := start.Add(life)
	return &appToken{
		value:   w.AccessToken,
		header:  []string{"Bearer " + w.AccessToken},
		expiry:  expiry,
		renewAt: expiry.Add(-min(life/10, maxRenewEarly)),
	}, nil
}

// Token returns the application token, fetching it from the IAM service
// (POST {iam}/oauth2/token, client_credentials) when there is none or the
// cached one is about to expire. However many goroutines ask at once, one
// request is in flight. A failure is a *Error: Type OAUTH with Code
// "invalid_client" for a wrong client id or secret. The token is a bearer
// credential: never log it.
func (a *AppClient) Token(ctx context.Context) (string, error) {
	t, err := a.tokens.get(ctx)
	if err != nil {
		return "", err
	}
	return t.value, nil
}

// AppToken returns the application token with its expiry, like Token.
func (a *AppClient) AppToken(ctx context.Context) (*AppToken, error) {
	t, err := a.tokens.get(ctx)
	if err != nil {
		return nil, err
	}
	return &AppToken{Value: t.value, Expiry: t.expiry}, nil
}
