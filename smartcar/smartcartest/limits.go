package smartcartest

import (
	"math"
	"sync"
	"time"
)

// bucket is a token bucket on the server's clock.
type bucket struct {
	burst  float64 // 0 = off
	perSec float64
	tokens float64
	last   time.Time
}

func (b *bucket) init(burst int, perSec float64, now time.Time) {
	b.burst, b.perSec, b.tokens, b.last = float64(max(burst, 0)), perSec, float64(max(burst, 0)), now
}

// take removes one token, or reports how long until one is there.
func (b *bucket) take(now time.Time) (bool, time.Duration) {
	if b.burst == 0 {
		return true, 0
	}
	if now.After(b.last) {
		b.tokens = math.Min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.perSec)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	if b.perSec <= 0 {
		return false, time.Duration(math.MaxInt64)
	}
	return false, time.Duration((1 - b.tokens) / b.perSec * float64(time.Second))
}

// appLimiter is the application-wide bucket (RATE_LIMIT:SMARTCAR_API).
type appLimiter struct {
	mu sync.Mutex
	b  bucket
}

// vehicleLimiter is one vehicle's throttle, Retry-After window and monthly quota.
type vehicleLimiter struct {
	mu        sync.Mutex
	b         bucket
	holdUntil time.Time // end of the last Retry-After we sent for this vehicle
	billed    ledger    // billed calls per month
	delivered bool      // a VEHICLE_STATE webhook was sent
	lastError *apiError // last error a VEHICLE_ERROR webhook reported
}

func (l *vehicleLimiter) init(cfg config, now time.Time) {
	per := 0.0
	if cfg.vehicleEvery > 0 {
		per = 1 / cfg.vehicleEvery.Seconds()
	}
	l.b.init(cfg.vehicleBurst, per, now)
}

// inHold reports whether now is inside a Retry-After window sent earlier.
func (l *vehicleLimiter) inHold(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return now.Before(l.holdUntil)
}

// hold records that the client was told to wait until now+d.
func (l *vehicleLimiter) hold(now time.Time, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until := now.Add(d); until.After(l.holdUntil) {
		l.holdUntil = until
	}
}

func (l *vehicleLimiter) take(now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.take(now)
}

// retryAfterSeconds rounds a wait up to whole seconds, at least one.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// admitApp takes a token from the application bucket.
func (s *Server) admitApp(c *call) bool {
	s.app.mu.Lock()
	ok, _ := s.app.b.take(c.now)
	s.app.mu.Unlock()
	if !ok {
		s.stats.appLimited.Add(1)
		c.fail(newError("RATE_LIMIT", "SMARTCAR_API"))
	}
	return ok
}

// admitVehicle applies the vehicle throttle and, when billed, the quota.
func (s *Server) admitVehicle(c *call, v *vehicle, billed bool) bool {
	if ok, wait := v.lim.take(c.now); !ok {
		s.stats.vehicleLimited.Add(1)
		e := newError("RATE_LIMIT", "VEHICLE")
		e.RetryAfter = retryAfterSeconds(wait)
		v.lim.hold(c.now, time.Duration(e.RetryAfter)*time.Second)
		c.fail(e)
		return false
	}
	if billed && !s.bill(c, v) {
		s.stats.quotaExceeded.Add(1)
		c.fail(newError("BILLING", "VEHICLE_REQUEST_LIMIT"))
		return false
	}
	return true
}

// checkHold counts a request for a vehicle inside its Retry-After window.
func (s *Server) checkHold(c *call, v *vehicle) {
	if v.lim.inHold(c.now) {
		s.stats.retryAfterViolations.Add(1)
		c.rec.RetryAfterViolation = true
		s.log.Warn("request inside Retry-After window", "vehicle_id", v.ID, "path", c.rec.Route)
	}
}
