package smartcartest

import (
	"math"
	"net/http"
	"strconv"
	"time"
)

// DefaultAppTokenLifetime is how long an application token lives, in
// simulated time (real time divided by the time scale).
const DefaultAppTokenLifetime = time.Hour

// WithAppTokenLifetime sets how long application tokens from /oauth2/token
// live, in simulated time (default 1h): with WithTimeScale(60) a token lives
// a real minute, and expires_in says so.
func WithAppTokenLifetime(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.appTokenTTL = d
		}
	}
}

// v3State is the simulator's API v3 state; every field is guarded by
// Server.mu.
type v3State struct {
	appTokens  map[string]*appToken
	executions map[string]*execution
	hooks      map[string]*Webhook // registered webhooks by id
	issued     int
}

func (st *v3State) init() {
	st.appTokens = map[string]*appToken{}
	st.executions = map[string]*execution{}
	st.hooks = map[string]*Webhook{}
}

type appToken struct {
	expires time.Time // clock time
	fp      string
}

// appTokenSeconds is the lifetime of a new application token in clock
// seconds, as expires_in reports it.
func (s *Server) appTokenSeconds() int {
	return max(1, int(math.Round(s.cfg.appTokenTTL.Seconds()/s.cfg.timeScale)))
}

// issueAppToken makes a new application token; the caller holds s.mu.
func (s *Server) issueAppToken(now time.Time) (string, int) {
	secs := s.appTokenSeconds()
	tok := s.ids.uuid()
	s.v3.appTokens[tok] = &appToken{expires: now.Add(time.Duration(secs) * time.Second), fp: fingerprint(tok)}
	s.v3.issued++
	if s.v3.issued%1024 == 0 {
		for k, t := range s.v3.appTokens {
			if t.expires.Before(now.Add(-24 * time.Hour)) {
				delete(s.v3.appTokens, k)
			}
		}
	}
	s.stats.appTokens.Add(1)
	return tok, secs
}

// AppToken issues an application token as POST /oauth2/token would, for
// tests that do not go through the IAM endpoint.
func (s *Server) AppToken() string {
	now := s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, _ := s.issueAppToken(now)
	return tok
}

// RevokeAppTokens revokes every application token issued so far (as
// rotating the client secret would); v3 calls with them then get 401. It
// returns how many were live.
func (s *Server) RevokeAppTokens() int {
	now := s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, t := range s.v3.appTokens {
		if now.Before(t.expires) {
			n++
		}
	}
	clear(s.v3.appTokens)
	return n
}

// checkAppToken reports whether token is an application token; an expired
// one is an AUTHENTICATION error.
func (s *Server) checkAppToken(c *call, token string) (bool, *apiError) {
	s.mu.RLock()
	at := s.v3.appTokens[token]
	s.mu.RUnlock()
	if at == nil {
		return false, nil
	}
	c.rec.Token = at.fp
	if !c.now.Before(at.expires) {
		s.stats.expiredTokenUses.Add(1)
		s.stats.v3TokenErrors.Add(1)
		return true, newError("AUTHENTICATION", "")
	}
	return true, nil
}

// handleAppToken is POST /oauth2/token with grant client_credentials: the
// IAM endpoint that issues application tokens. The client id and secret
// are the application's (the same as Connect's), in the form or as HTTP
// Basic. Only faults set on path "/oauth2/token" reach it.
func (s *Server) handleAppToken(c *call) {
	if !c.sleep(s.cfg.latency) {
		return
	}
	refuse := func(status int, code, description string) {
		s.stats.appTokenRefusals.Add(1)
		c.oauthError(status, code, description)
	}
	if f, ok := s.faults.match("", "/oauth2/token", func(r *faultRule) bool { return r.path == "/oauth2/token" }); ok &&
		s.tokenFault(c, f) {
		s.stats.appTokenRefusals.Add(1)
		return
	}
	if c.r.Method != http.MethodPost {
		refuse(http.StatusMethodNotAllowed, "invalid_request", "Use POST.")
		return
	}
	if err := c.r.ParseForm(); err != nil {
		refuse(http.StatusBadRequest, "invalid_request", "The body must be application/x-www-form-urlencoded.")
		return
	}
	if gt := c.r.PostForm.Get("grant_type"); gt != "client_credentials" {
		refuse(http.StatusBadRequest, "invalid_request", "grant_type must be client_credentials.")
		return
	}
	id, secret, ok := c.r.BasicAuth()
	if !ok {
		id, secret = c.r.PostForm.Get("client_id"), c.r.PostForm.Get("client_secret")
	}
	if id == "" || secret == "" {
		refuse(http.StatusBadRequest, "invalid_request", "client_id and client_secret are required.")
		return
	}
	if !constantEqual(id, s.ClientID) || !constantEqual(secret, s.ClientSecret) {
		refuse(http.StatusUnauthorized, "invalid_client", "Invalid client credentials.")
		return
	}
	s.mu.Lock()
	tok, secs := s.issueAppToken(c.now)
	s.mu.Unlock()
	c.rec.Token = fingerprint(tok)
	c.json(http.StatusOK, []byte(`{"access_token":`+strconv.Quote(tok)+
		`,"token_type":"Bearer","expires_in":`+strconv.Itoa(secs)+`}`))
}
