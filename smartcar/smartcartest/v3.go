package smartcartest

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// handleV3 routes /v3/... : the vehicle API v3 (vehicles, signals,
// commands, connections) and the Management API v3 (webhooks,
// subscriptions), which Smartcar serves on two hosts and the simulator on
// its one origin. rest is the path after "/v3".
func (s *Server) handleV3(c *call, rest string) {
	s.stats.v3Requests.Add(1)
	if !c.sleep(s.cfg.latency) {
		return
	}
	if len(rest) > 1 {
		rest = strings.TrimSuffix(rest, "/")
	}
	c.rec.Route = "/v3" + rest
	switch {
	case rest == "/connections" || strings.HasPrefix(rest, "/connections/"):
		c.rec.Route = "/v3/connections"
		s.handleConnectionsV3(c, strings.TrimPrefix(strings.TrimPrefix(rest, "/connections"), "/"))
	case rest == "/subscriptions" && c.r.Method == http.MethodGet:
		s.handleSubscriptionsList(c, "")
	case strings.HasPrefix(rest, "/webhooks/"):
		s.handleWebhooksV3(c, rest[len("/webhooks/"):])
	case strings.HasPrefix(rest, "/vehicles/"):
		id, sub, _ := strings.Cut(rest[len("/vehicles/"):], "/")
		s.handleVehicleV3(c, id, "/"+sub)
	default:
		c.rec.Route = "unknown"
		c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
	}
}

// v3Principal is who a v3 call acts as: the application (app token and
// sc-user-id) or a user (the user's v2 access token, the official SDKs'
// user-token mode).
type v3Principal struct {
	userID string // "" when an app token came without sc-user-id
	grant  *grant // user-token mode only
}

// authV3 checks the bearer of a v3 vehicle call: an application token, or a
// user's access token.
func (s *Server) authV3(c *call) (*v3Principal, *apiError) {
	token := bearer(c.r)
	header := strings.TrimSpace(c.r.Header.Get("Sc-User-Id"))
	if ok, err := s.checkAppToken(c, token); ok || err != nil {
		if err != nil {
			return nil, err
		}
		c.rec.UserID = header
		return &v3Principal{userID: header}, nil
	}
	g, err := s.authenticate(c)
	if err != nil {
		s.stats.v3TokenErrors.Add(1)
		return nil, err
	}
	c.rec.UserID = g.userID
	if header != "" && header != g.userID {
		return nil, newError("PERMISSION", "")
	}
	return &v3Principal{userID: g.userID, grant: g}, nil
}

// authApp checks that a call carries a live application token (connections
// and the Management API).
func (s *Server) authApp(c *call) *apiError {
	ok, err := s.checkAppToken(c, bearer(c.r))
	switch {
	case err != nil:
		return err
	case !ok:
		c.rec.Token = fingerprint(bearer(c.r))
		s.stats.invalidTokenUses.Add(1)
		s.stats.v3TokenErrors.Add(1)
		return newError("AUTHENTICATION", "")
	}
	return nil
}

// v3Vehicle returns vehicle id and the permissions p has on it, or a
// PERMISSION error when p's user did not connect it.
func (s *Server) v3Vehicle(p *v3Principal, id string) (*vehicle, map[string]bool, *apiError) {
	if p.grant != nil {
		v, err := s.grantVehicle(p.grant, id)
		if err != nil {
			return nil, nil, err
		}
		return v, p.grant.scopes, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	v := s.vehicles[id]
	var scopes map[string]bool
	for _, g := range s.grants {
		if g.revoked || g.userID != p.userID {
			continue
		}
		if _, ok := g.vehicles[id]; !ok {
			continue
		}
		if scopes == nil {
			scopes = map[string]bool{}
		}
		for sc := range g.scopes {
			scopes[sc] = true
		}
	}
	if v == nil || scopes == nil {
		return nil, nil, newError("PERMISSION", "")
	}
	return v, scopes, nil
}

// v3Handler answers a v3 vehicle call once the caller may act on v.
type v3Handler func(c *call, v *vehicle, scopes map[string]bool, p *v3Principal)

// handleVehicleV3 routes /v3/vehicles/{id}/...; sub is the rest ("/" for
// the vehicle itself). Order of checks: route, token (401), sc-user-id
// (400), Retry-After window (counted), app bucket (429), connection (403),
// then the handler's own (scope, capability, unknown code, throttle,
// quota, fault).
func (s *Server) handleVehicleV3(c *call, id, sub string) {
	c.rec.VehicleID = id
	c.rec.Route = "/v3" + sub
	method := c.r.Method
	var handle v3Handler
	switch {
	case sub == "/" && method == http.MethodGet:
		handle = s.handleVehicleInfoV3
	case sub == "/signals" && method == http.MethodGet:
		handle = s.handleSignals
	case strings.HasPrefix(sub, "/signals/") && !strings.Contains(sub[len("/signals/"):], "/") &&
		method == http.MethodGet:
		code := sub[len("/signals/"):]
		handle = func(c *call, v *vehicle, scopes map[string]bool, p *v3Principal) {
			s.handleSignal(c, v, scopes, code)
		}
	case strings.HasPrefix(sub, "/commands/") && method == http.MethodPost && commandsV3[sub[len("/commands/"):]] != nil:
		cmd := commandsV3[sub[len("/commands/"):]]
		handle = func(c *call, v *vehicle, scopes map[string]bool, p *v3Principal) {
			s.handleCommandV3(c, v, scopes, cmd)
		}
	case strings.HasPrefix(sub, "/command-executions/") && method == http.MethodGet:
		c.rec.Route = "/v3/command-executions"
		execID := sub[len("/command-executions/"):]
		handle = func(c *call, v *vehicle, scopes map[string]bool, p *v3Principal) {
			s.handleCommandExecution(c, v, execID)
		}
	default:
		c.rec.Route = "unknown"
		c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
		return
	}
	p, err := s.authV3(c)
	if err != nil {
		c.fail(err)
		return
	}
	if p.userID == "" {
		s.stats.missingUserID.Add(1)
		e := validationError("sc-user-id", "the sc-user-id header is required with an application token")
		e.Description = "missing userId"
		c.fail(e)
		return
	}
	if v := s.vehicle(id); v != nil {
		s.checkHold(c, v)
	}
	if !s.admitApp(c) {
		return
	}
	v, scopes, err := s.v3Vehicle(p, id)
	if err != nil {
		c.fail(err)
		return
	}
	handle(c, v, scopes, p)
}

// handleVehicleInfoV3 is GET /v3/vehicles/{id}.
func (s *Server) handleVehicleInfoV3(c *call, v *vehicle, scopes map[string]bool, _ *v3Principal) {
	if !scopes["read_vehicle_info"] {
		c.fail(newError("PERMISSION", ""))
		return
	}
	if !s.admitVehicle(c, v, true) || s.fault(c, v.ID) {
		return
	}
	c.value(map[string]any{"data": v.resource()})
}

// pageQuery reads a page number and size from page/pageSize or
// page[number]/page[size]: size defaults to def and may not pass maxSize;
// a size above WithMaxPageSize is served as that.
func pageQuery(c *call, def, maxSize int) (page, size int, ok bool) {
	q := c.r.URL.Query()
	read := func(names []string, v *int, lo, hi int) bool {
		for _, n := range names {
			raw := q.Get(n)
			if raw == "" {
				continue
			}
			x, err := strconv.Atoi(raw)
			if err != nil || x < lo || x > hi {
				c.fail(validationError(n, n+" must be an integer from "+itoa(lo)+" to "+itoa(hi)))
				return false
			}
			*v = x
			return true
		}
		return true
	}
	page, size = 1, def
	if !read([]string{"page[number]", "page"}, &page, 1, 1<<30) ||
		!read([]string{"page[size]", "pageSize"}, &size, 1, maxSize) {
		return 0, 0, false
	}
	if n := c.s.cfg.maxPageSize; n > 0 {
		size = min(size, n)
	}
	return page, size, true
}

// listMeta and listLinks are the paging members of a v3 list.
type listMeta struct {
	Page       int `json:"page"`
	PageSize   int `json:"pageSize"`
	TotalCount int `json:"totalCount"`
}

type listLinks struct {
	Self     string  `json:"self"`
	First    string  `json:"first"`
	Previous *string `json:"previous"`
	Next     *string `json:"next"`
	Last     string  `json:"last"`
}

// pageLinks builds the links of page of a list of total items at path;
// query holds the other parameters to keep, and jsonAPI picks
// page[number]/page[size] over page/pageSize.
func pageLinks(path string, query url.Values, page, size, total int, jsonAPI bool) listLinks {
	last := max(1, (total+size-1)/size)
	link := func(n int) string {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		if jsonAPI {
			q.Set("page[number]", itoa(n))
			q.Set("page[size]", itoa(size))
		} else {
			q.Set("page", itoa(n))
			q.Set("pageSize", itoa(size))
		}
		return path + "?" + q.Encode()
	}
	l := listLinks{Self: link(page), First: link(1), Last: link(last)}
	if page > 1 {
		prev := link(min(page-1, last))
		l.Previous = &prev
	}
	if page < last {
		next := link(page + 1)
		l.Next = &next
	}
	return l
}

// pageBounds returns the slice bounds of page in n items.
func pageBounds(n, page, size int) (lo, hi int) {
	lo = min(n, (page-1)*size)
	return lo, min(n, lo+size)
}

// handleSignals is GET /v3/vehicles/{id}/signals: every signal code the
// simulator knows, in code order, a page at a time. One billed call.
func (s *Server) handleSignals(c *call, v *vehicle, scopes map[string]bool, _ *v3Principal) {
	page, size, ok := pageQuery(c, 10, 100)
	if !ok || !s.admitVehicle(c, v, true) || s.fault(c, v.ID) {
		return
	}
	lo, hi := pageBounds(len(signalDefs), page, size)
	sigs := s.buildSignals(v, c.now, signalDefs[lo:hi], scopes)
	data := make([]signalResource, len(sigs))
	for i := range sigs {
		data[i] = sigs[i].resource(v.ID)
	}
	c.value(struct {
		Data     []signalResource `json:"data"`
		Meta     listMeta         `json:"meta"`
		Links    listLinks        `json:"links"`
		Included struct {
			Vehicle vehicleResource `json:"vehicle"`
		} `json:"included"`
	}{
		Data:  data,
		Meta:  listMeta{Page: page, PageSize: size, TotalCount: len(signalDefs)},
		Links: pageLinks("/v3/vehicles/"+v.ID+"/signals", nil, page, size, len(signalDefs), false),
		Included: struct {
			Vehicle vehicleResource `json:"vehicle"`
		}{v.resource()},
	})
}

// handleSignal is GET /v3/vehicles/{id}/signals/{code}. One billed call.
func (s *Server) handleSignal(c *call, v *vehicle, scopes map[string]bool, code string) {
	d := signalByCode[code]
	if d == nil {
		c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
		return
	}
	if !s.admitVehicle(c, v, true) || s.fault(c, v.ID) {
		return
	}
	sg := s.buildSignals(v, c.now, []*signalDef{d}, scopes)[0]
	c.value(map[string]any{"data": sg.resource(v.ID)})
}

// jsonAPIError is one member of a JSON:API {"errors": [...]} body.
type jsonAPIError struct {
	Status               string            `json:"status"`
	Type                 string            `json:"type"`
	Code                 *string           `json:"code"`
	Title                string            `json:"title"`
	Detail               string            `json:"detail"`
	Links                map[string]string `json:"links"`
	Resolution           errorResolution   `json:"resolution"`
	SuggestedUserMessage string            `json:"suggestedUserMessage,omitempty"`
}

// jsonAPIBody renders e in the JSON:API form some v3 answers take.
func (e *apiError) jsonAPIBody() []byte {
	je := jsonAPIError{Status: strconv.Itoa(e.Status), Type: e.Type, Title: http.StatusText(e.Status),
		Detail: e.Description, Links: map[string]string{"about": docURL(e.Type, e.Code)},
		SuggestedUserMessage: e.UserMessage}
	if je.Title == "" {
		je.Title = "Error"
	}
	if e.Code != "" {
		je.Code = &e.Code
	}
	if e.Resolution != "" {
		je.Resolution.Type = &e.Resolution
	}
	out, _ := json.Marshal(map[string]any{"errors": []jsonAPIError{je}}) // cannot fail: strings only
	return out
}

// constantEqual compares secrets in constant time.
func constantEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// rfc3339 formats a clock time the way v3 resources do.
func rfc3339(t time.Time) string { return t.UTC().Format(timeLayout) }
