package smartcartest

import (
	"math"
	"sort"
)

// A vehicle's life is a timeline of phases. A phase is the vehicle's whole
// state at its start plus the rates at which its continuous quantities
// (distance, battery, fuel, position) change until the next event; the
// state at any time is read from the phase that covers it, without
// stepping. Events (a departure, an arrival, a plug-in, ...) end a phase;
// the next one is generated from the habits' day plans as time is read.
// A command rewinds the timeline to its time, changes the state there and
// generates the rest again.

// Floors and thresholds of energy use.
const (
	bevFloor     = 0.10 // a BEV stops to fast charge before its battery runs below this
	phevFloor    = 0.10 // a PHEV's engine takes over here
	fastTarget   = 0.8  // a fast charge ends here (or at the limit)
	hoursPerSec  = 1.0 / 3600
	secondsInDay = 86400
)

var inf = math.Inf(1)

// Mid-leg stops.
const (
	stopNone uint8 = iota
	stopCharge
	stopFuel
)

// evKind is what ends a phase.
type evKind uint8

const (
	evNone   evKind = iota
	evDepart        // leaves (or leaves a stop)
	evArrive        // arrives, at the destination or at a stop on the way
	evSwitch        // a PHEV's battery runs down: the engine takes over
	evPlug          // the driver plugs in
	evUnplug        // the driver unplugs
	evFull          // the battery reaches the charge target
	evTimer         // a charge timer starts charging
	evRefuel        // the tank is filled
	evSleep         // idle long enough: the vehicle sleeps
)

// simState is a vehicle's state at time t: everything the timeline needs to
// go on from there.
type simState struct {
	t   float64 // simulated Unix seconds
	end float64 // when the phase that starts here ends
	ev  evKind  // and why

	// Continuous quantities at t and their rates per second in this phase.
	dist, soc, fuel    float64 // km driven since creation; fractions
	pos                [2]float64
	dDist, dSoc, dFuel float64
	dPos               [2]float64

	heading float64
	limit   float64
	power   float64 // kW while charging
	eta     float64 // charging: the car's estimate of the time to complete, per true second

	driving, plugged, charging, asleep, locked bool
	chargeStopped                              bool // stopped by a command (or the driver) until unplugged
	forceCharge                                bool // started by a command: charges whatever the timer says
	place                                      uint8
	stop                                       uint8 // parked at, or driving to, a stop on the way

	// Driving: where the leg goes, the road km left after this drive, the
	// speed, when this drive ends and (PHEV) when the engine takes over.
	to       [2]float64
	toPlace  uint8
	left     float64
	speed    float64
	arriveAt float64
	switchAt float64

	// Parked: what comes next.
	next     int // the next planned leg
	departAt float64
	plugAt   float64
	refuelAt float64
	idle     float64 // when it last did something (it sleeps sleepAfter later)

	// When values last changed, for oemUpdatedAt.
	since   float64 // start of the current drive or park
	moved   float64 // odometer, location, fuel
	battery float64 // state of charge
	event   float64 // any event
	slept   float64 // when it fell asleep

	n           uint64 // events so far: keys per-event randomness
	hasDest     bool
	destination [2]float64
}

// at returns s moved on to t within its phase.
func (s simState) at(t float64) simState {
	dt := t - s.t
	if dt <= 0 {
		return s
	}
	s.t = t
	s.dist += s.dDist * dt
	s.soc = min(max(s.soc+s.dSoc*dt, 0), 1)
	s.fuel = min(max(s.fuel+s.dFuel*dt, 0), 1)
	s.pos[0] += s.dPos[0] * dt
	s.pos[1] += s.dPos[1] * dt
	return s
}

// dataTime is the time the vehicle's reported data is from: now, or when
// it fell asleep.
func (s *simState) dataTime() float64 {
	if s.asleep {
		return s.slept
	}
	return s.t
}

// target is the state of charge the current charge ends at.
func (s *simState) target() float64 {
	if s.place == atStop {
		return min(fastTarget, s.limit)
	}
	return s.limit
}

// change is one entry of a vehicle's journal.
type change struct {
	t    float64
	kind ChangeKind
}

// timeline is a vehicle's phases and journal; guarded by vehicle.mu.
type timeline struct {
	phases  []simState
	journal []change
	legs    []leg // planned legs so far, from the day legDay0
	legDay  int64 // the next day to plan
}

// begin starts the timeline at t with state s.
func (v *vehicle) begin(s simState) {
	v.tl.legDay = v.h.dayOf(s.t)
	s.departAt = v.departAfter(&s, s.t)
	v.normalize(&s)
	v.plan(&s)
	v.tl.phases = []simState{s}
}

// stateAt returns the state at t, generating the timeline up to t and
// forgetting phases that ended more than two simulated days before t.
func (v *vehicle) stateAt(t float64) simState {
	v.extend(t)
	if ph := v.tl.phases; len(ph) > 512 {
		cut := sort.Search(len(ph), func(i int) bool { return ph[i].end >= t-2*secondsInDay })
		if cut > 256 {
			v.tl.phases = append(ph[:0:0], ph[cut:]...)
		}
	}
	ph := v.tl.phases
	i := sort.Search(len(ph), func(i int) bool { return ph[i].t > t }) - 1
	return ph[max(i, 0)].at(t)
}

// extend generates phases until one covers t.
func (v *vehicle) extend(t float64) {
	for {
		last := &v.tl.phases[len(v.tl.phases)-1]
		if last.end > t {
			break
		}
		s := last.at(last.end)
		v.apply(&s, last.ev)
		v.normalize(&s)
		v.plan(&s)
		v.tl.phases = append(v.tl.phases, s)
	}
}

// cut ends the timeline at t: later phases and journal entries are
// dropped, to be generated again from the state resume gets.
func (v *vehicle) cut(t float64) {
	ph := v.tl.phases
	i := sort.Search(len(ph), func(i int) bool { return ph[i].t >= t })
	v.tl.phases = ph[:i]
	if i > 0 {
		ph[i-1].end, ph[i-1].ev = t, evNone
	}
	j := sort.Search(len(v.tl.journal), func(j int) bool { return v.tl.journal[j].t > t })
	v.tl.journal = v.tl.journal[:j]
}

// resume goes on from s, the state at the time the timeline was cut at.
func (v *vehicle) resume(s simState) {
	v.normalize(&s)
	v.plan(&s)
	v.tl.phases = append(v.tl.phases, s)
}

// record adds an entry to the journal.
func (v *vehicle) record(s *simState, kind ChangeKind) {
	v.tl.journal = append(v.tl.journal, change{s.t, kind})
	s.event = s.t
}

// wake wakes a sleeping vehicle: something happens at s.t.
func (v *vehicle) wake(s *simState) {
	if s.asleep {
		s.asleep = false
		v.record(s, ChangeWake)
	}
	s.idle = s.t
}

// rnd is per-event randomness in [0, 1): a function of the vehicle, the
// events so far and what it is for.
func (v *vehicle) rnd(s *simState, what uint64) float64 {
	return unit(mix(v.h.seed^what, s.n))
}

// leg returns planned leg i, planning more days as needed.
func (v *vehicle) leg(i int) *leg {
	for len(v.tl.legs) <= i {
		v.tl.legs = append(v.tl.legs, v.h.plan(v.tl.legDay)...)
		v.tl.legDay++
	}
	return &v.tl.legs[i]
}

// departAfter returns when the next planned leg leaves for a vehicle that
// got where it is at arrived, skipping legs to where it already is.
func (v *vehicle) departAfter(s *simState, arrived float64) float64 {
	for {
		l := v.leg(s.next)
		if distanceKm(s.pos, l.to) > 0.2 {
			return max(l.depart, arrived+l.stay)
		}
		s.next++
	}
}

// timerWaits reports whether a charge timer holds charging back at s.t:
// at home, outside the seven hours from the timer's start.
func (v *vehicle) timerWaits(s *simState) bool {
	if v.h.timer < 0 || s.place != atHome || s.forceCharge {
		return false
	}
	tod := math.Mod(math.Mod(s.t+v.h.tz, secondsInDay)+secondsInDay, secondsInDay)
	since := math.Mod(tod-v.h.timer+secondsInDay, secondsInDay)
	return since >= 7*3600
}

// nextTimer is the next start of the charge timer after t.
func (v *vehicle) nextTimer(t float64) float64 {
	tod := math.Mod(math.Mod(t+v.h.tz, secondsInDay)+secondsInDay, secondsInDay)
	return t + math.Mod(v.h.timer-tod+secondsInDay, secondsInDay) + 1 // a second into the window
}

// normalize settles what follows from the state at s.t: whether it
// charges (with the journal entries of a change) and, at a fast charger,
// when it leaves once charging is over.
func (v *vehicle) normalize(s *simState) {
	want := v.Kind != ICE && s.plugged && !s.driving && !s.chargeStopped && s.soc < s.target()-1e-9 && !v.timerWaits(s)
	if want != s.charging {
		v.wake(s)
		s.charging = want
		if want {
			s.power = v.h.homePower
			if s.place == atStop {
				s.power = 50 + 100*v.rnd(s, 'p')
			}
			s.eta = 1 + (v.rnd(s, 'e')-0.5)*0.2
			v.record(s, ChangeChargeStart)
		} else {
			s.battery = s.t
			v.record(s, ChangeChargeStop)
		}
	}
	if s.place == atStop && s.stop == stopCharge && !s.charging && s.departAt == inf && (s.plugged || s.plugAt == inf) {
		s.departAt = s.t + (3+5*v.rnd(s, 'd'))*60 // charged (or not charging after all): on its way
	}
}

// plan sets the rates of the phase starting at s and when and why it ends.
func (v *vehicle) plan(s *simState) {
	s.dDist, s.dSoc, s.dFuel, s.dPos = 0, 0, 0, [2]float64{}
	h := &v.h
	if s.driving {
		s.dDist = s.speed * hoursPerSec
		if dt := s.arriveAt - s.t; dt > 0 {
			// Straight towards the leg's end, as far as this drive goes
			// (a stop on the way leaves s.left km for later).
			km := s.dDist * dt
			f := km / (km + s.left) / dt
			s.dPos = [2]float64{(s.to[0] - s.pos[0]) * f, (s.to[1] - s.pos[1]) * f}
		}
		switch {
		case v.Kind == BEV || (v.Kind == PHEV && s.switchAt > s.t):
			s.dSoc = -s.dDist * h.elecCons / h.capacity
		default:
			s.dFuel = -s.dDist * h.fuelCons / h.tank
		}
		s.end, s.ev = s.arriveAt, evArrive
		if s.switchAt > s.t && s.switchAt < s.arriveAt {
			s.end, s.ev = s.switchAt, evSwitch
		}
		return
	}
	s.end, s.ev = inf, evNone
	consider := func(t float64, e evKind) {
		if t < s.end {
			s.end, s.ev = max(t, s.t), e
		}
	}
	if s.plugged {
		consider(s.departAt-(1+4*unit(mix(h.seed, math.Float64bits(s.departAt))))*60, evUnplug)
	} else {
		consider(s.departAt, evDepart)
		if s.plugAt < s.departAt-30*60 { // nobody plugs in to leave again at once
			consider(s.plugAt, evPlug)
		}
	}
	if s.charging {
		s.dSoc = s.power * hoursPerSec / h.capacity
		consider(s.t+(s.target()-s.soc)/s.dSoc, evFull)
	} else if s.plugged && !s.chargeStopped && s.soc < s.target()-1e-9 && v.timerWaits(s) {
		consider(v.nextTimer(s.t), evTimer)
	}
	if s.stop == stopFuel {
		consider(s.refuelAt, evRefuel)
	}
	if !s.asleep && !s.charging {
		consider(s.idle+h.sleepAfter, evSleep)
	}
}

// apply carries out event ev at s.t.
func (v *vehicle) apply(s *simState, ev evKind) {
	if ev == evNone {
		return
	}
	s.n++
	h := &v.h
	switch ev {
	case evDepart:
		v.wake(s)
		if s.stop == stopNone {
			l := v.leg(s.next)
			s.next++
			s.to, s.toPlace, s.speed = l.to, l.place, l.speed
			s.left = max(distanceKm(s.pos, s.to)*roadFactor, 0.8)
		}
		s.driving, s.locked, s.since, s.place = true, false, s.t, atOther
		s.plugAt, s.refuelAt, s.departAt = inf, inf, inf
		s.heading = bearingDeg(s.pos, s.to)
		v.record(s, ChangeTripStart)
		v.startDrive(s)
	case evSwitch:
		// The rates change; plan sees that the battery has run down.
	case evArrive:
		s.driving, s.locked = false, true
		s.since, s.moved, s.idle = s.t, s.t, s.t
		if v.Kind != ICE {
			s.battery = s.t
		}
		v.record(s, ChangeTripEnd)
		if s.stop != stopNone { // a stop on the way: the leg goes on after it
			s.place = atStop
			if s.stop == stopCharge {
				s.plugAt = s.t + (1+2*v.rnd(s, 'a'))*60
			} else {
				s.refuelAt = s.t + (2+2*v.rnd(s, 'a'))*60
				s.departAt = s.refuelAt + (3+5*v.rnd(s, 'b'))*60
			}
			return
		}
		s.pos, s.place = s.to, s.toPlace
		if v.Kind != ICE && s.place == atHome && s.soc < h.plugBelow {
			delay := (1 + 7*v.rnd(s, 'a')) * 60
			if v.rnd(s, 'l') < h.latePlug {
				delay = (30 + 150*v.rnd(s, 'b')) * 60
			}
			s.plugAt = s.t + delay
		}
		s.departAt = v.departAfter(s, s.t)
	case evPlug:
		v.wake(s)
		s.plugged, s.chargeStopped, s.forceCharge, s.plugAt = true, false, false, inf
		v.record(s, ChangePlugIn)
	case evUnplug:
		v.wake(s)
		if s.charging {
			s.charging, s.battery = false, s.t
			v.record(s, ChangeChargeStop)
		}
		s.plugged, s.chargeStopped, s.forceCharge = false, false, false
		v.record(s, ChangeUnplug)
	case evFull:
		s.soc = s.target()
		s.charging, s.battery, s.idle = false, s.t, s.t
		if s.place == atStop {
			s.chargeStopped = true // the driver ends the session
		}
		v.record(s, ChangeChargeStop)
	case evTimer:
		v.wake(s) // normalize starts the charge
	case evRefuel:
		s.fuel, s.refuelAt, s.moved, s.idle = 1, inf, s.t, s.t
		v.record(s, ChangeRefuel)
	case evSleep:
		s.asleep, s.slept = true, s.t
		v.record(s, ChangeSleep)
	}
}

// startDrive plans the drive that starts at s.t towards s.to: all the way,
// or to a fast charger or fuel station where energy runs low.
func (v *vehicle) startDrive(s *simState) {
	h := &v.h
	km := s.left
	can := km
	s.stop, s.switchAt = stopNone, inf
	switch v.Kind {
	case BEV:
		if e := (s.soc - bevFloor) * h.capacity / h.elecCons; e < km {
			can, s.stop = e, stopCharge
		}
	case ICE:
		if f := (s.fuel - h.refuelBelow) * h.tank / h.fuelCons; f < km {
			can, s.stop = f, stopFuel
		}
	case PHEV:
		e := max(s.soc-phevFloor, 0) * h.capacity / h.elecCons
		if f := max(s.fuel-h.refuelBelow, 0) * h.tank / h.fuelCons; e+f < km {
			can, s.stop = e+f, stopFuel
		}
		if e < can {
			s.switchAt = s.t + e/s.speed*3600
		}
	}
	can = min(max(can, min(km, 1)), km) // at least a km, or the whole leg
	if s.stop != stopNone && can >= km {
		s.stop = stopNone
	}
	s.left = km - can
	s.arriveAt = s.t + can/s.speed*3600
}
