package smartcartest

import (
	"math"
	"time"
)

// journey holds the fixed, seed-derived habits of one vehicle. A vehicle
// lives in cycles of period seconds: it drives for drive seconds from the
// start of each cycle, then parks (and, if it is an EV and plugged in,
// charges) until the next one.
type journey struct {
	period, phase, drive float64 // simulated seconds
	speed                float64 // km/h while driving
	elecCons             float64 // kWh/km
	fuelCons             float64 // l/km
	capacity             float64 // kWh (0 for ICE)
	power                float64 // kW charging power
	tank                 float64 // l (0 for BEV)
	odo0                 float64 // km at start
	routeOffset          float64 // km along the route at start
	route                *route
	hash                 uint64 // decides per-cycle plug-ins
}

// Battery and fuel floors below which a vehicle stops using them.
const (
	bevFloor     = 0.05
	phevFloor    = 0.10
	fuelFloor    = 0.02
	plugBelow    = 0.35 // EVs always plug in when parked below this
	refuelBelow  = 0.15 // ICE/PHEV refuel before parking below this
	hoursPerSec  = 1.0 / 3600
	secondsInDay = 86400
)

// simState is a vehicle's changing state at simulated second t.
type simState struct {
	t             float64 // simulated seconds since the server started
	cycle         int     // current cycle
	driving       bool    // current segment of the cycle
	dist          float64 // km driven since start
	soc           float64 // battery fraction
	fuel          float64 // fuel fraction
	plugged       bool
	chargeStopped bool
	limit         float64
	locked        bool
	destination   [2]float64
	hasDest       bool
}

// segmentEnd returns when the current segment ends.
func (j *journey) segmentEnd(s *simState) float64 {
	start := j.phase + float64(s.cycle)*j.period
	if s.driving {
		return start + j.drive
	}
	return start + j.period
}

// locate sets cycle and driving for time t; only used at creation.
func (j *journey) locate(s *simState, t float64) {
	s.t = t
	s.cycle = int(math.Floor((t - j.phase) / j.period))
	s.driving = t < j.phase+float64(s.cycle)*j.period+j.drive
}

// evolve moves s forward to time to, which must lie in s's current segment.
func (j *journey) evolve(s simState, kind Kind, to float64) simState {
	dt := (to - s.t) * hoursPerSec
	if dt <= 0 {
		return s
	}
	s.t = to
	if !s.driving {
		if kind != ICE && s.plugged && !s.chargeStopped && s.soc < s.limit {
			s.soc = math.Min(s.limit, s.soc+j.power*dt/j.capacity)
		}
		return s
	}
	want := j.speed * dt
	var done float64
	switch kind {
	case BEV:
		done = math.Min(want, math.Max(s.soc-bevFloor, 0)*j.capacity/j.elecCons)
		s.soc -= done * j.elecCons / j.capacity
	case PHEV:
		elec := math.Min(want, math.Max(s.soc-phevFloor, 0)*j.capacity/j.elecCons)
		s.soc -= elec * j.elecCons / j.capacity
		fuel := math.Min(want-elec, math.Max(s.fuel-fuelFloor, 0)*j.tank/j.fuelCons)
		s.fuel -= fuel * j.fuelCons / j.tank
		done = elec + fuel
	case ICE:
		done = math.Min(want, math.Max(s.fuel-fuelFloor, 0)*j.tank/j.fuelCons)
		s.fuel -= done * j.fuelCons / j.tank
	}
	s.dist += done
	return s
}

// next moves s across the end of its segment into the following one.
func (j *journey) next(s simState, kind Kind) simState {
	s = j.evolve(s, kind, j.segmentEnd(&s))
	if s.driving {
		s.driving = false
		s.locked = true
		s.chargeStopped = false
		if kind != BEV && s.fuel < refuelBelow {
			s.fuel = 1
		}
		s.plugged = kind != ICE && j.plugsIn(s.cycle, s.soc)
		return s
	}
	s.cycle++
	s.driving = true
	s.locked = false
	s.plugged = false
	s.chargeStopped = false
	return s
}

// plugsIn decides whether an EV is plugged in when it parks in cycle k:
// two cycles in three, and always when its battery is low.
func (j *journey) plugsIn(k int, soc float64) bool {
	h := (j.hash ^ uint64(int64(k))*0x9e3779b97f4a7c15) * 0xbf58476d1ce4e5b9
	return soc < plugBelow || (h>>33)%3 != 0
}

// commit moves s across every segment boundary up to t. Committing only at
// boundaries keeps the state independent of when it is read.
func (j *journey) commit(s simState, kind Kind, t float64) simState {
	for j.segmentEnd(&s) <= t {
		s = j.next(s, kind)
	}
	return s
}

// at returns the state at t without committing the part after the last
// boundary.
func (j *journey) at(s simState, kind Kind, t float64) simState {
	return j.evolve(j.commit(s, kind, t), kind, t)
}

// chargeState is the /charge state of s.
func chargeState(kind Kind, s *simState) string {
	switch {
	case kind == ICE || !s.plugged:
		return "NOT_CHARGING"
	case s.soc >= s.limit-1e-9:
		return "FULLY_CHARGED"
	case s.chargeStopped:
		return "NOT_CHARGING"
	default:
		return "CHARGING"
	}
}

// simElapsed returns the simulated seconds since start at clock time now.
func (s *Server) simElapsed(now time.Time) float64 {
	return now.Sub(s.start).Seconds() * s.cfg.timeScale
}

// simTime returns the simulated wall time at clock time now.
func (s *Server) simTime(now time.Time) time.Time {
	return s.start.Add(time.Duration(s.simElapsed(now) * float64(time.Second)))
}
