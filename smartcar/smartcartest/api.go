package smartcartest

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

var versionPath = regexp.MustCompile(`^/v\d+\.\d+/`)

// handleAPI routes /v2.0/... requests.
func (s *Server) handleAPI(c *call, path string) {
	if !c.sleep(s.cfg.latency) {
		return
	}
	rest, ok := strings.CutPrefix(path, "/v2.0")
	if !ok || !strings.HasPrefix(rest, "/") {
		c.rec.Route = "unknown"
		if versionPath.MatchString(path) {
			c.fail(newError("RESOURCE_NOT_FOUND", "VERSION"))
		} else {
			c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
		}
		return
	}
	if len(rest) > 1 {
		rest = strings.TrimSuffix(rest, "/")
	}
	c.rec.Route = rest
	switch {
	case rest == "/user" && c.r.Method == http.MethodGet:
		s.handleUser(c)
	case rest == "/vehicles" && c.r.Method == http.MethodGet:
		s.handleVehicleList(c)
	case rest == "/compatibility" && c.r.Method == http.MethodGet:
		s.handleCompatibility(c)
	case rest == "/management/connections":
		s.handleConnections(c)
	case strings.HasPrefix(rest, "/vehicles/"):
		rest = rest[len("/vehicles/"):]
		id, sub, _ := strings.Cut(rest, "/")
		s.handleVehicle(c, id, "/"+sub)
	default:
		c.rec.Route = "unknown"
		c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
	}
}

// userCall authenticates a bearer call and applies the app bucket.
func (s *Server) userCall(c *call) (*grant, bool) {
	g, err := s.authenticate(c)
	if err != nil {
		c.fail(err)
		return nil, false
	}
	if !s.admitApp(c) {
		return nil, false
	}
	return g, true
}

// fault applies a matching fault; it reports whether the request is finished.
func (s *Server) fault(c *call, vehicleID string) bool {
	f, ok := s.faults.match(vehicleID, c.rec.Route, nil)
	return ok && s.applyFault(c, vehicleID, f)
}

func (s *Server) handleUser(c *call) {
	g, ok := s.userCall(c)
	if !ok || s.fault(c, "") {
		return
	}
	c.json(http.StatusOK, []byte(`{"id":"`+g.userID+`"}`))
}

// paging reads limit and offset; limit defaults to def and may not pass maxLimit.
func paging(c *call, def, maxLimit int) (limit, offset int, ok bool) {
	q := c.r.URL.Query()
	limit, offset = def, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			c.fail(validationError("limit", "limit must be an integer from 1 to "+strconv.Itoa(maxLimit)))
			return 0, 0, false
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			c.fail(validationError("offset", "offset must be a non-negative integer"))
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}

func page(items []string, limit, offset int) []string {
	if offset >= len(items) {
		return []string{}
	}
	return items[offset:min(len(items), offset+limit)]
}

type pageInfo struct {
	Count  int `json:"count"`
	Offset int `json:"offset"`
}

func (s *Server) handleVehicleList(c *call) {
	g, ok := s.userCall(c)
	if !ok || s.fault(c, "") {
		return
	}
	limit, offset, ok := paging(c, 10, 50)
	if !ok {
		return
	}
	ids := s.grantVehicleIDs(g)
	c.value(struct {
		Paging   pageInfo `json:"paging"`
		Vehicles []string `json:"vehicles"`
	}{pageInfo{len(ids), offset}, page(ids, limit, offset)})
}

// handleVehicle routes /vehicles/{id}/...
func (s *Server) handleVehicle(c *call, id, sub string) {
	c.rec.VehicleID = id
	c.rec.Route = sub
	method := c.r.Method
	if strings.HasPrefix(sub, "/webhooks/") {
		c.rec.Route = "/webhooks"
		s.handleWebhookSubscription(c, id, sub[len("/webhooks/"):])
		return
	}
	var handle func(g *grant, v *vehicle)
	switch {
	case sub == "/batch" && method == http.MethodPost:
		handle = func(g *grant, v *vehicle) { s.handleBatch(c, g, v) }
	case sub == "/permissions" && method == http.MethodGet:
		handle = func(g *grant, v *vehicle) { s.handlePermissions(c, g) }
	case sub == "/application" && method == http.MethodDelete:
		handle = func(g *grant, v *vehicle) { s.handleDisconnect(c, g, v) }
	case method == http.MethodGet && endpoints[sub] != nil:
		handle = func(g *grant, v *vehicle) { s.handleRead(c, g, v, endpoints[sub]) }
	case method == http.MethodPost && commands[sub] != nil:
		handle = func(g *grant, v *vehicle) { s.handleCommand(c, g, v, commands[sub]) }
	default:
		c.rec.Route = "unknown"
		c.fail(newError("RESOURCE_NOT_FOUND", "PATH"))
		return
	}
	g, err := s.authenticate(c)
	if err != nil {
		c.fail(err)
		return
	}
	if v := s.vehicle(id); v != nil {
		s.checkHold(c, v) // before any limit: asking at all is the rule break
	}
	if !s.admitApp(c) {
		return
	}
	v, err := s.grantVehicle(g, id)
	if err != nil {
		c.fail(err)
		return
	}
	handle(g, v)
}

// handleRead answers a GET vehicle endpoint.
func (s *Server) handleRead(c *call, g *grant, v *vehicle, ep *endpoint) {
	if !g.scopes[ep.scope] {
		c.fail(newError("PERMISSION", ""))
		return
	}
	if !v.capable(ep.kinds) {
		c.fail(newError("COMPATIBILITY", "VEHICLE_NOT_CAPABLE"))
		return
	}
	u, ok := parseUnits(c.r.Header.Get("Sc-Unit-System"))
	if !ok {
		c.fail(validationError("sc-unit-system", "SC-Unit-System must be metric or imperial"))
		return
	}
	c.units = u
	if !s.admitVehicle(c, v, true) || s.fault(c, v.ID) {
		return
	}
	st := v.read(s.simSeconds(c.now))
	rd := reading{s: s, v: v, st: &st, u: u, now: c.now}
	if c.rec.Route == "/service/history" {
		rd.query = c.r.URL.Query()
	}
	body, err := ep.render(&rd)
	if err != nil {
		c.fail(err)
		return
	}
	c.dataHeaders(v, ep.data)
	c.json(http.StatusOK, body)
}

func (s *Server) handlePermissions(c *call, g *grant) {
	if s.fault(c, c.rec.VehicleID) {
		return
	}
	limit, offset, ok := paging(c, 25, 100)
	if !ok {
		return
	}
	scopes := sortedKeys(g.scopes)
	c.value(struct {
		Permissions []string `json:"permissions"`
		Paging      pageInfo `json:"paging"`
	}{page(scopes, limit, offset), pageInfo{len(scopes), offset}})
}

// handleDisconnect is DELETE /application: the user's connection to the
// vehicle ends for every grant of that user.
func (s *Server) handleDisconnect(c *call, g *grant, v *vehicle) {
	if s.fault(c, v.ID) {
		return
	}
	s.mu.Lock()
	s.disconnect(v.ID, g.userID)
	s.mu.Unlock()
	c.json(http.StatusOK, []byte(`{"status":"success"}`))
}
