package smartcartest

import (
	"cmp"
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ConnectConfig decides how GET /oauth/authorize answers: which user
// approves which vehicles, or which error the user ends up with.
type ConnectConfig struct {
	UserID     string   `json:"userId,omitempty"`     // "" = the first user
	VehicleIDs []string `json:"vehicleIds,omitempty"` // nil = every vehicle of the user
	// Error, when set, makes Connect redirect with this error
	// (access_denied, no_vehicles, vehicle_incompatible, server_error, ...).
	Error            string `json:"error,omitempty"`
	ErrorDescription string `json:"errorDescription,omitempty"`
}

// SetConnect changes what later authorize requests approve.
func (s *Server) SetConnect(cc ConnectConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connect = cc
}

type authCode struct {
	userID      string
	vehicleIDs  []string
	scopes      []string
	redirectURI string
	mode        string // live, test or simulated
	expires     time.Time
}

// handleAuthorize is GET /oauth/authorize: it validates the parameters and
// approves at once, redirecting with a code (as Smartcar Connect does once a
// user approves: https://smartcar.com/docs/connect/handle-the-response).
func (s *Server) handleAuthorize(c *call) {
	q := c.r.URL.Query()
	if c.r.Method != http.MethodGet {
		c.oauthError(http.StatusMethodNotAllowed, "invalid_request", "Use GET.")
		return
	}
	if q.Get("client_id") != s.ClientID {
		c.oauthError(http.StatusBadRequest, "invalid_client", "Unknown client_id.")
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" {
		redirect = s.RedirectURI
	}
	if redirect != s.RedirectURI {
		c.oauthError(http.StatusBadRequest, "invalid_request", "redirect_uri is not registered for this application.")
		return
	}
	state := q.Get("state")
	fail := func(code, description string) {
		s.redirect(c, redirect, url.Values{"error": {code}, "error_description": {description}}, state)
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "response_type must be code.")
		return
	}
	if m := q.Get("mode"); m != "" && m != "live" && m != "test" && m != "simulated" {
		fail("invalid_request", "mode must be live, test or simulated.")
		return
	}
	if p := q.Get("approval_prompt"); p != "" && p != "auto" && p != "force" {
		fail("invalid_request", "approval_prompt must be auto or force.")
		return
	}
	var scopes []string
	for _, sc := range strings.Fields(q.Get("scope")) {
		sc = strings.TrimPrefix(sc, "required:")
		if !slices.Contains(AllScopes, sc) {
			fail("invalid_scope", "Unknown permission "+sc+".")
			return
		}
		scopes = append(scopes, sc)
	}
	if scopes == nil {
		scopes = AllScopes
	}

	now := c.now
	s.mu.Lock()
	cc := s.connect
	if cc.Error != "" {
		s.mu.Unlock()
		fail(cc.Error, cmp.Or(cc.ErrorDescription, "Connect failed."))
		return
	}
	user := cmp.Or(cc.UserID, s.users[0])
	ids := cc.VehicleIDs
	if ids == nil {
		ids = s.userVehicles(user)
	}
	var approved []string
	for _, id := range ids {
		v := s.vehicles[id]
		if v == nil || (q.Get("make") != "" && !strings.EqualFold(v.Make, q.Get("make"))) ||
			(q.Get("single_select_vin") != "" && v.VIN != q.Get("single_select_vin")) {
			continue
		}
		approved = append(approved, id)
	}
	if len(approved) > 1 && (q.Get("single_select") == "true" || q.Get("single_select_vin") != "") {
		approved = approved[:1]
	}
	if len(approved) == 0 {
		s.mu.Unlock()
		fail("no_vehicles", "No vehicles matched the request.")
		return
	}
	code := s.ids.uuid()
	for k, ac := range s.codes {
		if now.After(ac.expires) {
			delete(s.codes, k)
		}
	}
	s.codes[code] = &authCode{userID: user, vehicleIDs: approved, scopes: scopes, redirectURI: q.Get("redirect_uri"),
		mode: cmp.Or(q.Get("mode"), "live"), expires: now.Add(codeLifetime)}
	s.mu.Unlock()
	// The user id rides beside the code: API v3 calls name the user with it.
	s.redirect(c, redirect, url.Values{"code": {code}, "user_id": {user}}, state)
}

func (s *Server) redirect(c *call, to string, params url.Values, state string) {
	u, err := url.Parse(to)
	if err != nil {
		c.oauthError(http.StatusBadRequest, "invalid_request", "redirect_uri is not a URL.")
		return
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	u.RawQuery = q.Encode()
	if e := params.Get("error"); e != "" {
		c.rec.Outcome = e
	}
	c.rec.Status = http.StatusFound
	http.Redirect(c.w, c.r, u.String(), http.StatusFound)
}

// handleToken is POST /oauth/token with either grant, authorization_code or
// refresh_token (https://smartcar.com/docs/api-reference/authorization/token-refresh).
func (s *Server) handleToken(c *call) {
	if !c.sleep(s.cfg.latency) {
		return
	}
	var dropAfter bool
	if f, ok := s.faults.match("", "/oauth/token", nil); ok {
		if f.DropAfterRotate {
			dropAfter = true
		} else if s.tokenFault(c, f) {
			return
		}
	}
	if c.r.Method != http.MethodPost {
		c.oauthError(http.StatusMethodNotAllowed, "invalid_request", "Use POST.")
		return
	}
	if err := c.r.ParseForm(); err != nil {
		c.oauthError(http.StatusBadRequest, "invalid_request", "The body must be application/x-www-form-urlencoded.")
		return
	}
	id, secret, ok := c.r.BasicAuth()
	if !ok {
		id, secret = c.r.PostForm.Get("client_id"), c.r.PostForm.Get("client_secret")
	}
	if subtle.ConstantTimeCompare([]byte(id), []byte(s.ClientID)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(s.ClientSecret)) != 1 {
		c.oauthError(http.StatusUnauthorized, "invalid_client", "Invalid client credentials.")
		return
	}
	var (
		p    *pair
		user string
	)
	switch gt := c.r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		p, user = s.exchangeCode(c)
	case "refresh_token":
		p, user = s.exchangeRefresh(c)
	case "":
		c.oauthError(http.StatusBadRequest, "invalid_request", "grant_type is required.")
	default:
		c.oauthError(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type "+strconv.Quote(gt)+".")
	}
	if p == nil {
		return
	}
	if dropAfter {
		s.stats.faults.Add(1)
		c.rec.Outcome = "fault:dropAfterRotate"
		c.drop()
		return
	}
	t := p.tokens(user, c.now)
	c.json(http.StatusOK, []byte(`{"access_token":`+strconv.Quote(t.AccessToken)+
		`,"token_type":"Bearer","expires_in":`+strconv.Itoa(t.ExpiresIn)+
		`,"refresh_token":`+strconv.Quote(t.RefreshToken)+`}`))
}

// tokenFault applies a fault to the token endpoint.
func (s *Server) tokenFault(c *call, f Fault) bool {
	if !f.errorOnly() || strings.ToLower(f.Type) != f.Type {
		return s.applyFault(c, "", f)
	}
	if !c.sleep(f.Latency) {
		return true
	}
	s.stats.faults.Add(1)
	status := f.Status
	if status == 0 {
		status = http.StatusBadRequest
		if f.Type == "server_error" {
			status = http.StatusInternalServerError
		}
	}
	c.oauthError(status, f.Type, cmp.Or(f.Description, "Injected fault."))
	c.rec.Outcome = "fault:" + f.Type
	return true
}

func (s *Server) exchangeCode(c *call) (*pair, string) {
	code := c.r.PostForm.Get("code")
	c.rec.Token = fingerprint(code)
	s.mu.Lock()
	defer s.mu.Unlock()
	ac := s.codes[code]
	if ac == nil || !c.now.Before(ac.expires) {
		delete(s.codes, code)
		c.oauthError(http.StatusBadRequest, "invalid_grant", "Invalid code.")
		return nil, ""
	}
	delete(s.codes, code) // single use
	if ac.redirectURI != "" && c.r.PostForm.Get("redirect_uri") != ac.redirectURI {
		c.oauthError(http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorize request.")
		return nil, ""
	}
	g := s.newGrant(ac.userID, ac.vehicleIDs, ac.scopes, c.now)
	g.mode = ac.mode
	s.stats.codeExchanges.Add(1)
	return s.issue(g, c.now), ac.userID
}

// exchangeRefresh rotates a refresh token. A spent token used again within
// the grace period returns the same pair it returned the first time.
func (s *Server) exchangeRefresh(c *call) (*pair, string) {
	token := c.r.PostForm.Get("refresh_token")
	c.rec.Token = fingerprint(token)
	s.mu.Lock()
	defer s.mu.Unlock()
	rt := s.refresh[token]
	switch {
	case rt == nil || rt.g.revoked:
		c.oauthError(http.StatusBadRequest, "invalid_grant", "Invalid refresh_token.")
		return nil, ""
	case rt.spent && c.now.Before(rt.spentAt.Add(s.cfg.refreshGrace)):
		s.stats.graceRefreshReuse.Add(1)
		c.rec.Outcome = "grace"
		return rt.next, rt.g.userID
	case rt.spent:
		s.stats.spentRefreshReuse.Add(1)
		s.log.Warn("spent refresh token reused after its grace", "user_id", rt.g.userID, "token", c.rec.Token)
		c.oauthError(http.StatusBadRequest, "invalid_grant", "Invalid refresh_token: it was already used.")
		return nil, ""
	case !c.now.Before(rt.expires):
		c.oauthError(http.StatusBadRequest, "invalid_grant", "Invalid refresh_token: it expired.")
		return nil, ""
	}
	p := s.issue(rt.g, c.now)
	rt.spent, rt.spentAt, rt.next = true, c.now, p
	s.stats.refreshes.Add(1)
	return p, rt.g.userID
}
