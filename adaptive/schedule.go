package adaptive

import (
	"math"
	"time"
)

// The allocation: where the hazard is at the threshold a poll is due every
// coverGap; where it is h, every coverGap*(threshold/h)^beta, from minGap
// to maxGap. While driving, a poll comes when the trip should end, and every
// driveMin once it runs over.
const (
	coverGap  = 50 * time.Minute
	minGap    = 20 * time.Minute
	maxGap    = 12 * time.Hour
	beta      = 0.5
	driveMin  = 15 * time.Minute
	steerGain = 0.2 // the steering's gain, per day
)

// The correction of the learned week's share of the budget: at first, the
// least and the most, and its unit in Vehicle.Steer.
const (
	initialSteer = 0.7
	minSteer     = 0.1
	maxSteer     = 4
	steerUnit    = 10000
)

const (
	chargeMargin = 60              // seconds after a charge's predicted end to look
	followAway   = 2 * 3600        // seconds: after a trip ends away from home the next one comes within about this
	followRate   = 0.8             // trips per hour meanwhile
	followHome   = 12 * 60         // seconds: after one ends at home an EV is plugged in within about this
	followUnplug = 15 * 60         // seconds: after an unplug the trip starts within about this
	pendingRate  = 0.5             // charges per hour when one is pending
	defaultTrip  = 20              // minutes, before a vehicle's trips are known
	staleAfter   = 3               // unexplained stale polls before backing off
	maxBackoff   = 8               // the most the stale back-off multiplies the gaps by
	maxWait      = 48 * time.Hour  // the longest a vehicle waits for a poll, budget permitting
	hazardStep   = 5 * time.Minute // the step of cover's walk over the hours ahead
)

// next is when v is due, as of now.
func (p *Policy) next(v *Vehicle, now time.Time) time.Time {
	b, rate, capacity := p.tokens(v, now)
	if p.left(v) <= 0 || rate <= 0 {
		return monthStart(v.Month + 1)
	}
	last := v.Polled
	if last == 0 {
		return now // never polled: look now
	}
	earliest := later(now, time.Unix(last, 0).Add(p.cfg.Intervals.floor(v.State)))
	limit := later(now.Add(maxWait), earliest).Unix()
	threshold := p.threshold(v, b, capacity)
	backoff := 1.0
	if v.Stale >= staleAfter {
		// Data that does not move, and the vehicle does not say it sleeps:
		// polls buy nothing; back off.
		backoff = math.Min(maxBackoff, math.Exp2(float64(v.Stale-staleAfter+1)))
	}
	var due time.Time
	if v.State == Driving {
		// Look again when the trip should end (driveMin on, once it runs
		// over), and at most coverGap after the last look.
		remaining := time.Duration(v.tripMinutes())*time.Minute - time.Duration(now.Unix()-v.TripStart)*time.Second
		due = time.Unix(last, 0).Add(min(coverGap, max(remaining, driveMin)))
	} else {
		due = time.Unix(p.cover(v, last, limit, threshold, backoff), 0)
	}
	soon := func(t int64) {
		if u := time.Unix(t, 0); t > last && u.Before(due) {
			due = u
		}
	}
	if v.State == Charging && v.ChargeEnd > 0 && !v.flag(flagHooks) {
		soon(v.ChargeEnd + chargeMargin) // the predicted end of the charge
	}
	if v.Arrived > last-int64(followHome) && v.atHome() && v.flag(flagElectric) && !v.flag(flagHooks) &&
		v.State != Charging && v.State != PluggedIn {
		soon(v.Arrived + followHome) // home: plugged in by now?
	}
	due = later(due, earliest)
	if b < 1 { // a day's share ahead of the even line already: wait for the next poll's share
		due = later(due, now.Add(time.Duration((1-b)/rate*float64(time.Second))))
	}
	return due.Truncate(time.Second)
}

// threshold is the hazard (changes per hour) at which the policy polls
// every coverGap: the one at which v's learned week, polled as cover does,
// would spend its daily share of the budget, times v's correction for what
// trips, charges and follow-ups spend besides, and a little more when the
// bucket is fuller than half, less when it is emptier.
func (p *Policy) threshold(v *Vehicle, b, capacity float64) float64 {
	if capacity <= 0 {
		return math.Inf(1)
	}
	fill := math.Min(math.Max(b/capacity, 0), 1)
	target := capacity * v.steering() * (0.75 + fill/2) // polls a day
	var hz [48]float64
	for i := range hz {
		hz[i] = p.idleHazard(v, i)
	}
	spend := func(th float64) float64 {
		var n float64
		for i, h := range hz {
			perDay := 5.0 / 7
			if i >= 24 {
				perDay = 2.0 / 7
			}
			n += perDay * 3600 / p.gapAt(h, th)
		}
		return n
	}
	lo, hi := -12.0, 4.0 // log threshold, to within 0.1 %
	for range 14 {
		mid := (lo + hi) / 2
		if spend(math.Exp(mid)) > target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return math.Exp(hi)
}

// gapAt is the gap, in seconds, between polls where the hazard is h.
func (p *Policy) gapAt(h, threshold float64) float64 {
	if h <= 0 {
		return maxGap.Seconds()
	}
	return math.Min(maxGap.Seconds(), math.Max(minGap.Seconds(), coverGap.Seconds()*math.Pow(threshold/h, beta)))
}

// cover returns when, after from, v is due: a poll is due every coverGap
// where the hazard is at the threshold, every coverGap*(threshold/hazard)^beta
// elsewhere (from minGap where changes are likeliest to maxGap where they
// are not), times backoff. It returns limit if nothing is due before.
func (p *Policy) cover(v *Vehicle, from, limit int64, threshold, backoff float64) int64 {
	var acc float64 // share of a gap covered so far
	for t := from; t < limit; {
		step := min(int64(hazardStep.Seconds()), limit-t)
		g := p.gapAt(p.hazard(v, t+step/2), threshold) * backoff
		add := float64(step) / g
		if acc+add >= 1 {
			return t + int64(math.Ceil((1-acc)*g))
		}
		acc += add
		t += step
	}
	return limit
}

// steer corrects the share of the budget the learned week may spend, so
// that v spends what it may: the bucket's fill (from empty, a day ahead of
// the even line, to full, a day behind it) is held near half by an integral
// controller acting over days.
func (p *Policy) steer(v *Vehicle, fill float64, dt int64) {
	if dt <= 0 {
		return
	}
	c := v.steering() * math.Exp(steerGain*(fill-0.5)*float64(dt)/86400)
	v.Steer = uint16(math.Round(min(max(c, minSteer), maxSteer) * steerUnit))
}

func (v *Vehicle) steering() float64 {
	if v.Steer == 0 {
		return initialSteer
	}
	return float64(v.Steer) / steerUnit
}
