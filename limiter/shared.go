package limiter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limit is a token bucket: Burst requests at once, refilled at PerMinute.
type Limit struct {
	PerMinute float64
	Burst     int
}

// interval is the emission interval: the time one request's token takes to refill.
func (l Limit) interval() time.Duration {
	return time.Duration(float64(time.Minute) / l.PerMinute)
}

// DefaultMaxWait is how far ahead Shared reserves a slot by default.
const DefaultMaxWait = time.Minute

// DefaultHeadroom is the default of Shared.Headroom.
const DefaultHeadroom = 250 * time.Millisecond

// DefaultPrefix is the key prefix of a Shared created with an empty one.
const DefaultPrefix = "smartcar:"

// Shared is a GCRA limiter in Redis, shared by every process that uses the
// same key prefix. It is safe for concurrent use.
type Shared struct {
	rdb      redis.Scripter
	key      string
	interval time.Duration
	burst    int
	// MaxWait bounds a reservation: a caller that would have to wait longer
	// reserves nothing and gets a *WaitError. Default DefaultMaxWait.
	MaxWait time.Duration
	// Headroom is how much of the burst is kept back, as time at the
	// limit's rate, for the jitter between reserving a slot and the request
	// reaching Smartcar: two calls reserved in order can arrive closer
	// together than their slots, or in the other order, and Smartcar's bucket
	// must still have a token for the second. At least one token and at most
	// Burst-1 are kept back. Default DefaultHeadroom.
	Headroom time.Duration
}

// NewShared returns the limiter of the app-wide budget l, keyed
// <prefix>ratelimit:app (DefaultPrefix when prefix is empty).
func NewShared(rdb redis.Scripter, prefix string, l Limit) (*Shared, error) {
	switch {
	case rdb == nil:
		return nil, errors.New("limiter: nil redis client")
	case !(l.PerMinute > 0) || math.IsInf(l.PerMinute, 0):
		return nil, fmt.Errorf("limiter: requests per minute %v must be positive and finite", l.PerMinute)
	case l.Burst < 1:
		return nil, fmt.Errorf("limiter: burst %d must be at least 1", l.Burst)
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return &Shared{rdb: rdb, key: prefix + "ratelimit:app", interval: l.interval(), burst: l.Burst, MaxWait: DefaultMaxWait, Headroom: DefaultHeadroom}, nil
}

// Burst is the number of calls that may go at once: the limit's burst less
// the headroom.
func (s *Shared) Burst() int {
	if s.burst < 2 {
		return s.burst
	}
	kept := int(math.Ceil(float64(s.Headroom) / float64(s.interval)))
	return s.burst - min(max(kept, 1), s.burst-1)
}

func (s *Shared) maxWait() time.Duration {
	if s.MaxWait > 0 {
		return s.MaxWait
	}
	return DefaultMaxWait
}

// Key returns the Redis key holding the bucket's TAT.
func (s *Shared) Key() string { return s.key }

// WaitError is returned when the next free slot is further away than MaxWait
// (or than the context's deadline); nothing was reserved.
type WaitError struct{ Wait time.Duration }

func (e *WaitError) Error() string {
	return fmt.Sprintf("app rate limit: next slot in %s", e.Wait.Round(time.Millisecond))
}

// Delay is how long until a slot may be free.
func (e *WaitError) Delay() time.Duration { return e.Wait }

// gcra reserves the next slot of the bucket. KEYS[1] holds the TAT in
// microseconds of Redis time; ARGV: emission interval (µs), burst, longest
// wait to reserve (µs). It returns {reserved (0|1), wait µs}.
var gcra = redis.NewScript(`
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local maxwait = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local wait = tat + interval - interval * burst - now
if wait < 0 then wait = 0 end
if wait > maxwait then return {0, wait} end
local newtat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', newtat), 'PX', math.floor((newtat - now) / 1000) + 1000)
return {1, wait}
`)

// Reserve takes the next slot and returns how long the caller must wait
// before using it (0: now). A slot further than within (capped at MaxWait)
// is not taken: Reserve returns a *WaitError instead. It costs one round trip.
func (s *Shared) Reserve(ctx context.Context, within time.Duration) (time.Duration, error) {
	within = max(min(within, s.maxWait()), 0)
	vals, err := gcra.Run(ctx, s.rdb, []string{s.key},
		s.interval.Microseconds(), s.Burst(), within.Microseconds()).Int64Slice()
	if err != nil {
		return 0, fmt.Errorf("reserve app rate limit slot: %w", err)
	}
	if len(vals) != 2 {
		return 0, fmt.Errorf("reserve app rate limit slot: unexpected reply %v", vals)
	}
	wait := time.Duration(vals[1]) * time.Microsecond
	if vals[0] == 0 {
		return 0, &WaitError{Wait: wait}
	}
	return wait, nil
}

// Wait reserves a slot and sleeps until it comes, or returns ctx's error.
// A slot cancelled while waiting stays used: the budget errs on the safe side.
func (s *Shared) Wait(ctx context.Context) error {
	within := s.maxWait()
	if dl, ok := ctx.Deadline(); ok {
		within = min(within, time.Until(dl))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	wait, err := s.Reserve(ctx, within)
	if err != nil || wait <= 0 {
		return err
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
