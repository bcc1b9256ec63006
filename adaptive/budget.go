package adaptive

import (
	"math"
	"time"
)

// monthKey is the billing month of t: year*12 + month - 1, UTC.
func monthKey(t time.Time) int32 {
	u := t.UTC()
	return int32(u.Year()*12 + int(u.Month()) - 1)
}

// monthStart is the first instant of billing month key.
func monthStart(key int32) time.Time {
	return time.Date(int(key/12), time.Month(key%12+1), 1, 0, 0, 0, 0, time.UTC)
}

// rollover starts a new billing month's counters when now is in a later
// month than v's: nothing spent, the reserve whole, the bucket holding one
// day's share.
func (p *Policy) rollover(v *Vehicle, now time.Time) {
	m := monthKey(now)
	if v.Month == m {
		return
	}
	v.Month, v.Polls, v.Other = m, 0, 0
	v.set(flagExhausted, false)
	_, capacity := p.refill(v, now)
	v.Tokens, v.TokensAt = float32(capacity), now.Unix()
}

// left is how many calls the month's polls may still make: the poll budget
// less the polls made, and never more than the month's calls less
// everything made (commands past the reserve eat into it).
func (p *Policy) left(v *Vehicle) int {
	n := min(p.pollBudget-int(v.Polls), p.cfg.Budget.CallsPerMonth-int(v.Polls)-int(v.Other))
	if v.flag(flagExhausted) {
		return 0
	}
	return max(n, 0)
}

// refill returns the bucket's refill rate (polls per second: what is left,
// spread evenly over the rest of the month) and its capacity (one day's
// share at that rate).
func (p *Policy) refill(v *Vehicle, now time.Time) (rate, capacity float64) {
	end := monthStart(v.Month + 1)
	secs := math.Max(end.Sub(now).Seconds(), 60)
	rate = float64(p.left(v)) / secs
	return rate, rate * 86400
}

// tokens fills v's bucket up to now and returns what it holds, the refill
// rate and the capacity.
func (p *Policy) tokens(v *Vehicle, now time.Time) (b, rate, capacity float64) {
	p.rollover(v, now)
	rate, capacity = p.refill(v, now)
	b = float64(v.Tokens)
	if dt := now.Unix() - v.TokensAt; dt > 0 {
		if capacity > 0 && v.Stale < staleAfter { // a backed-off vehicle underspends on purpose
			p.steer(v, math.Min(math.Max(b/capacity, 0), 1), dt)
		}
		b = math.Min(capacity, b+rate*float64(dt))
		v.Tokens, v.TokensAt = float32(b), now.Unix()
	}
	return b, rate, capacity
}

// spend counts a poll's billed calls.
func (p *Policy) spend(v *Vehicle, now time.Time, calls int) {
	p.tokens(v, now)
	v.Polls = uint16(min(int(v.Polls)+calls, math.MaxUint16))
	v.Tokens -= float32(calls)
}

// Billed counts calls billed calls for v at now that were not polls
// (commands, retries): they come out of the reserve first, then out of what
// polls may spend.
func (p *Policy) Billed(v *Vehicle, now time.Time, calls int) {
	p.rollover(v, now)
	v.Other = uint16(min(int(v.Other)+calls, math.MaxUint16))
}

// QuotaExhausted records a 430 (BILLING:VEHICLE_REQUEST_LIMIT) at now: the
// vehicle is not polled again this billing month. It returns the start of
// the next month, when it may be.
func (p *Policy) QuotaExhausted(v *Vehicle, now time.Time) time.Time {
	p.rollover(v, now)
	v.set(flagExhausted, true)
	return monthStart(v.Month + 1)
}

// Spent returns the billed calls v made in now's billing month: polls and
// the rest.
func (p *Policy) Spent(v *Vehicle, now time.Time) (polls, other int) {
	if v.Month != monthKey(now) {
		return 0, 0
	}
	return int(v.Polls), int(v.Other)
}
