package smartcartest

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is a failure the simulator injects into matching requests. Set Type
// (and Code) for a Smartcar error, or one of HTML502, Drop, Hang; Latency
// alone only delays the request, and delays before any of the others. Its
// JSON form (for POST /admin/faults) has camelCase keys and durations as
// strings like "30s" (numbers are read as seconds).
type Fault struct {
	// Type and Code name any Smartcar API error (https://smartcar.com/docs/api-reference/api-errors), e.g.
	// VEHICLE_STATE/ASLEEP; the body is a v2.0 error. On /oauth/token a
	// lower-case Type is an OAuth error string (invalid_grant, server_error).
	Type string
	Code string
	// Status overrides the HTTP status Smartcar uses for Type and Code.
	Status      int
	Description string
	// RetryAfter adds a Retry-After header (whole seconds) to the error and
	// opens that vehicle's Retry-After window.
	RetryAfter time.Duration
	Latency    time.Duration
	HTML502    bool // a proxy's text/html 502 page
	Drop       bool // close the connection without a response
	Hang       bool // never answer until the client gives up or the server closes
	// DropAfterRotate, on /oauth/token, lets the token call succeed on the
	// server (the refresh token is spent, the new pair issued) and then
	// drops the connection, so the client never sees the new pair.
	DropAfterRotate bool
	// Probability in (0,1) applies the fault to that share of matching
	// requests (seeded); 0 or 1 applies it to all.
	Probability float64
	// Times limits how many requests the fault applies to; 0 = forever.
	Times int
	// JSONAPI renders the error as a JSON:API body, {"errors": [{...}]},
	// the form some v3 answers take, instead of the flat v2.0 body.
	JSONAPI bool
}

// ErrorFault returns a fault answering with the Smartcar error typ:code.
func ErrorFault(typ, code string) Fault { return Fault{Type: typ, Code: code} }

// Asleep is the fault of a sleeping vehicle (VEHICLE_STATE:ASLEEP, 409).
func Asleep() Fault { return ErrorFault("VEHICLE_STATE", "ASLEEP") }

// Unreachable is the fault of an offline vehicle (VEHICLE_STATE:UNREACHABLE, 409).
func Unreachable() Fault { return ErrorFault("VEHICLE_STATE", "UNREACHABLE") }

// errorOnly reports whether the fault is a Smartcar error answer, with at
// most a latency before it.
func (f *Fault) errorOnly() bool {
	return f.Type != "" && !f.HTML502 && !f.Drop && !f.Hang
}

// terminal reports whether the fault answers the request itself.
func (f *Fault) terminal() bool {
	return f.Type != "" || f.HTML502 || f.Drop || f.Hang
}

type faultRule struct {
	vehicleID, path string
	f               Fault
	left            int
	seq             uint64
}

type faultSet struct {
	n     atomic.Int32 // number of rules, read without the lock
	mu    sync.Mutex
	rules []*faultRule
	rng   *rand.Rand
	seq   uint64
}

// normalizePath turns what a caller may pass as a fault path into the route
// the simulator records: "/odometer", "/v2.0/vehicles/x/odometer" and
// "odometer" all become "/odometer".
func normalizePath(p string) string {
	if p == "" || p == "/oauth/token" {
		return p
	}
	if rest, ok := strings.CutPrefix(p, "/v3/vehicles/"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 && i < len(rest)-1 {
			return "/v3" + strings.TrimSuffix(rest[i:], "/")
		}
		return "/v3/"
	}
	p = strings.TrimPrefix(p, "/v2.0")
	if rest, ok := strings.CutPrefix(p, "/vehicles/"); ok {
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			p = rest[i:]
		} else {
			p = "/"
		}
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	return p
}

// SetFault injects f into requests for vehicleID ("" = any vehicle) and path
// ("" = any API path; "/batch" the batch call as a whole, "/odometer" that
// endpoint and that batch item; "/oauth/token" the token endpoint, which ""
// does not match). A fault for the same vehicle and path replaces the old
// one; when several match, the most specific wins.
func (s *Server) SetFault(vehicleID, path string, f Fault) {
	path = normalizePath(path)
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.seq++
	r := &faultRule{vehicleID: vehicleID, path: path, f: f, left: f.Times, seq: fs.seq}
	for i, old := range fs.rules {
		if old.vehicleID == vehicleID && old.path == path {
			fs.rules[i] = r
			return
		}
	}
	fs.rules = append(fs.rules, r)
	fs.n.Store(int32(len(fs.rules)))
}

// ClearFault removes the fault set for exactly vehicleID and path.
func (s *Server) ClearFault(vehicleID, path string) {
	path = normalizePath(path)
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for i, r := range fs.rules {
		if r.vehicleID == vehicleID && r.path == path {
			fs.rules = append(fs.rules[:i], fs.rules[i+1:]...)
			break
		}
	}
	fs.n.Store(int32(len(fs.rules)))
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	fs := &s.faults
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.rules = nil
	fs.n.Store(0)
}

// SetAsleep puts a vehicle to sleep (every request for it gets
// VEHICLE_STATE:ASLEEP) or wakes it.
func (s *Server) SetAsleep(vehicleID string, asleep bool) {
	if asleep {
		s.SetFault(vehicleID, "", Asleep())
		return
	}
	s.ClearFault(vehicleID, "")
}

// match returns the fault for a request, consuming one of its Times. accept,
// when not nil, limits which rules may match.
func (fs *faultSet) match(vehicleID, path string, accept func(*faultRule) bool) (Fault, bool) {
	if fs.n.Load() == 0 {
		return Fault{}, false
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var best *faultRule
	bestScore := -1
	bestIdx := -1
	for i, r := range fs.rules {
		score := 0
		switch {
		case r.vehicleID == vehicleID:
			score += 2
		case r.vehicleID != "":
			continue
		}
		switch {
		case r.path == path:
			score++
		case r.path != "" || path == "/oauth/token":
			continue
		}
		if accept != nil && !accept(r) {
			continue
		}
		if score > bestScore || (score == bestScore && r.seq > best.seq) {
			best, bestScore, bestIdx = r, score, i
		}
	}
	if best == nil {
		return Fault{}, false
	}
	if p := best.f.Probability; p > 0 && p < 1 && fs.rng.Float64() >= p {
		return Fault{}, false
	}
	if best.left > 0 {
		best.left--
		if best.left == 0 {
			fs.rules = append(fs.rules[:bestIdx], fs.rules[bestIdx+1:]...)
			fs.n.Store(int32(len(fs.rules)))
		}
	}
	return best.f, true
}

// peek returns the error fault that currently hits every path of
// vehicleID, without consuming it.
func (fs *faultSet) peek(vehicleID string) (Fault, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var best *faultRule
	for _, r := range fs.rules {
		if r.path != "" || r.f.Type == "" || (r.vehicleID != vehicleID && r.vehicleID != "") {
			continue
		}
		if best == nil || (r.vehicleID != "" && best.vehicleID == "") || (r.vehicleID == best.vehicleID && r.seq > best.seq) {
			best = r
		}
	}
	if best == nil {
		return Fault{}, false
	}
	return best.f, true
}

// applyFault carries out f for an API request. It reports whether the
// request is finished (answered, dropped or abandoned).
func (s *Server) applyFault(c *call, vehicleID string, f Fault) bool {
	if !c.sleep(f.Latency) {
		return true
	}
	if !f.terminal() {
		return false
	}
	s.stats.faults.Add(1)
	switch {
	case f.Hang:
		c.rec.Outcome = "fault:hang"
		select {
		case <-c.r.Context().Done():
		case <-s.done:
		}
		c.drop()
	case f.Drop:
		c.rec.Outcome = "fault:drop"
		c.drop()
	case f.HTML502:
		c.rec.Outcome = "fault:html502"
		c.html502()
	default:
		e := faultError(f)
		if e.RetryAfter > 0 && vehicleID != "" {
			if v := s.vehicle(vehicleID); v != nil {
				v.lim.hold(c.now, time.Duration(e.RetryAfter)*time.Second)
			}
		}
		c.fail(e)
		c.rec.Outcome = "fault:" + e.outcome()
	}
	return true
}

// faultError is the Smartcar error a fault answers with.
func faultError(f Fault) *apiError {
	e := newError(f.Type, f.Code)
	if f.Status != 0 {
		e.Status = f.Status
	}
	if f.Description != "" {
		e.Description = f.Description
	}
	if f.RetryAfter > 0 {
		e.RetryAfter = retryAfterSeconds(f.RetryAfter)
	}
	e.JSONAPI = f.JSONAPI
	return e
}

const html502Body = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"

func (c *call) html502() {
	h := c.w.Header()
	h["Content-Type"] = []string{"text/html"}
	c.rec.Status = http.StatusBadGateway
	c.w.WriteHeader(http.StatusBadGateway)
	_, _ = c.w.Write([]byte(html502Body))
}

// drop closes the connection without a response. The request is recorded
// first: the client sees the connection close at once, and records read
// after that must hold it.
func (c *call) drop() {
	c.rec.Status = 0
	c.dropped = true
	conn, _, err := http.NewResponseController(c.w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	c.s.finish(c)
	_ = conn.Close()
}
