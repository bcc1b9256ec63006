package smartcartest

import (
	"sync"
	"sync/atomic"
	"time"
)

// Request is the record of one request the simulator answered (admin calls
// are not recorded).
type Request struct {
	Time      time.Time `json:"time"` // on the server's clock
	Method    string    `json:"method"`
	Path      string    `json:"path"`  // URL path as received
	Route     string    `json:"route"` // "/odometer", "/batch", "/user", "/oauth/token", ...
	VehicleID string    `json:"vehicleId,omitempty"`
	// Token is a fingerprint of the bearer or refresh token used (a
	// truncated SHA-256), never the token itself.
	Token     string `json:"token,omitempty"`
	Status    int    `json:"status"`  // 0 when the connection was dropped
	Outcome   string `json:"outcome"` // "ok", "RATE_LIMIT:VEHICLE", "fault:drop", "invalid_grant", ...
	RequestID string `json:"requestId,omitempty"`
	// Items holds one entry per batch item.
	Items []ItemRecord `json:"items,omitempty"`
	// RetryAfterViolation is set when the request came inside a Retry-After
	// window the simulator had given for its vehicle.
	RetryAfterViolation bool          `json:"retryAfterViolation,omitempty"`
	Duration            time.Duration `json:"duration"` // real time spent answering
	// UserID is the user a v3 call acted for: its sc-user-id header, or the
	// user of the access token in user-token mode.
	UserID string `json:"userId,omitempty"`
	// Billed is how many billed calls the request counted against its
	// vehicle's month (a v2 batch: one per item billed).
	Billed int `json:"billed,omitempty"`
}

// ItemRecord is the outcome of one batch item.
type ItemRecord struct {
	Path    string `json:"path"`
	Status  int    `json:"status"`
	Outcome string `json:"outcome"`
}

// Stats counts what the simulator saw. The three rule-break counters are
// what a well-behaved client keeps at zero.
type Stats struct {
	Requests   int64            `json:"requests"`
	Paths      map[string]int64 `json:"paths"`      // requests by route
	BatchItems map[string]int64 `json:"batchItems"` // batch items by path
	Statuses   map[int]int64    `json:"statuses"`   // requests by HTTP status (0 = dropped)

	CodeExchanges      int64 `json:"codeExchanges"`
	Refreshes          int64 `json:"refreshes"`          // refresh grants that issued a new pair
	GraceRefreshReuse  int64 `json:"graceRefreshReuse"`  // spent refresh tokens used within the grace
	RateLimited        int64 `json:"rateLimited"`        // AppRateLimited + VehicleRateLimited
	AppRateLimited     int64 `json:"appRateLimited"`     // RATE_LIMIT:SMARTCAR_API answers
	VehicleRateLimited int64 `json:"vehicleRateLimited"` // RATE_LIMIT:VEHICLE answers
	QuotaExceeded      int64 `json:"quotaExceeded"`      // BILLING:VEHICLE_REQUEST_LIMIT answers (requests and items)
	FaultsInjected     int64 `json:"faultsInjected"`
	InvalidTokenUses   int64 `json:"invalidTokenUses"` // unknown or revoked access tokens

	// RetryAfterViolations counts requests for a vehicle inside the
	// Retry-After window the simulator had sent for it.
	RetryAfterViolations int64 `json:"retryAfterViolations"`
	// SpentRefreshReuse counts refresh tokens used after their grace.
	SpentRefreshReuse int64 `json:"spentRefreshReuse"`
	// ExpiredTokenUses counts requests with an expired access token.
	ExpiredTokenUses int64 `json:"expiredTokenUses"`

	V3Requests       int64 `json:"v3Requests"`       // requests under /v3/ (vehicle, connections, management)
	AppTokens        int64 `json:"appTokens"`        // application tokens issued by /oauth2/token
	AppTokenRefusals int64 `json:"appTokenRefusals"` // /oauth2/token answers other than 200
	V3TokenErrors    int64 `json:"v3TokenErrors"`    // v3 calls refused 401 (unknown, expired or revoked token)
	MissingUserID    int64 `json:"missingUserId"`    // v3 calls with an application token and no sc-user-id
	// BilledCalls counts billed calls of every vehicle (Billing has them
	// per vehicle and month).
	BilledCalls       int64 `json:"billedCalls"`
	WebhookDeliveries int64 `json:"webhookDeliveries"` // delivery attempts of VEHICLE_STATE / VEHICLE_ERROR events, counted as they start
	WebhookFailures   int64 `json:"webhookFailures"`   // attempts the receiver did not answer 2xx
}

type counters struct {
	codeExchanges, refreshes, graceRefreshReuse atomic.Int64
	appLimited, vehicleLimited, quotaExceeded   atomic.Int64
	faults, invalidTokenUses                    atomic.Int64
	retryAfterViolations, spentRefreshReuse     atomic.Int64
	expiredTokenUses                            atomic.Int64

	v3Requests, appTokens, appTokenRefusals   atomic.Int64
	v3TokenErrors, missingUserID, billedCalls atomic.Int64
	webhookDeliveries, webhookFailures        atomic.Int64
}

// recorder keeps the last requests in a ring and counts them.
type recorder struct {
	mu       sync.Mutex
	ring     []Request
	next     int
	full     bool
	total    int64
	paths    map[string]int64
	items    map[string]int64
	statuses map[int]int64
}

func newRecorder(limit int) *recorder {
	return &recorder{
		ring:     make([]Request, limit),
		paths:    map[string]int64{},
		items:    map[string]int64{},
		statuses: map[int]int64{},
	}
}

func (r *recorder) add(req *Request) {
	r.mu.Lock()
	r.ring[r.next] = *req
	r.next++
	if r.next == len(r.ring) {
		r.next, r.full = 0, true
	}
	r.total++
	r.paths[req.Route]++
	r.statuses[req.Status]++
	for _, it := range req.Items {
		r.items[it.Path]++
	}
	r.mu.Unlock()
}

// Requests returns the recorded requests, oldest first (at most the record
// limit, 100000 by default).
func (s *Server) Requests() []Request {
	r := s.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Request
	if r.full {
		out = make([]Request, 0, len(r.ring))
		out = append(out, r.ring[r.next:]...)
	} else {
		out = make([]Request, 0, r.next)
	}
	return append(out, r.ring[:r.next]...)
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	st := Stats{
		CodeExchanges:        c.codeExchanges.Load(),
		Refreshes:            c.refreshes.Load(),
		GraceRefreshReuse:    c.graceRefreshReuse.Load(),
		AppRateLimited:       c.appLimited.Load(),
		VehicleRateLimited:   c.vehicleLimited.Load(),
		QuotaExceeded:        c.quotaExceeded.Load(),
		FaultsInjected:       c.faults.Load(),
		InvalidTokenUses:     c.invalidTokenUses.Load(),
		RetryAfterViolations: c.retryAfterViolations.Load(),
		SpentRefreshReuse:    c.spentRefreshReuse.Load(),
		ExpiredTokenUses:     c.expiredTokenUses.Load(),
		V3Requests:           c.v3Requests.Load(),
		AppTokens:            c.appTokens.Load(),
		AppTokenRefusals:     c.appTokenRefusals.Load(),
		V3TokenErrors:        c.v3TokenErrors.Load(),
		MissingUserID:        c.missingUserID.Load(),
		BilledCalls:          c.billedCalls.Load(),
		WebhookDeliveries:    c.webhookDeliveries.Load(),
		WebhookFailures:      c.webhookFailures.Load(),
	}
	st.RateLimited = st.AppRateLimited + st.VehicleRateLimited
	r := s.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	st.Requests = r.total
	st.Paths = make(map[string]int64, len(r.paths))
	for k, v := range r.paths {
		st.Paths[k] = v
	}
	st.BatchItems = make(map[string]int64, len(r.items))
	for k, v := range r.items {
		st.BatchItems[k] = v
	}
	st.Statuses = make(map[int]int64, len(r.statuses))
	for k, v := range r.statuses {
		st.Statuses[k] = v
	}
	return st
}

// ResetRecords forgets recorded requests and zeroes the counters.
func (s *Server) ResetRecords() {
	r := s.rec
	r.mu.Lock()
	clear(r.ring)
	r.next, r.full, r.total = 0, false, 0
	clear(r.paths)
	clear(r.items)
	clear(r.statuses)
	r.mu.Unlock()
	c := &s.stats
	for _, n := range []*atomic.Int64{
		&c.codeExchanges, &c.refreshes, &c.graceRefreshReuse, &c.appLimited, &c.vehicleLimited,
		&c.quotaExceeded, &c.faults, &c.invalidTokenUses, &c.retryAfterViolations,
		&c.spentRefreshReuse, &c.expiredTokenUses, &c.v3Requests, &c.appTokens, &c.appTokenRefusals,
		&c.v3TokenErrors, &c.missingUserID, &c.billedCalls, &c.webhookDeliveries, &c.webhookFailures,
	} {
		n.Store(0)
	}
}
