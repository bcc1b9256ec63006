package smartcartest

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Persona is how a simulated vehicle is used from day to day.
type Persona string

// The personas. Every one has days off and jitter: the simulator's vehicles
// are only as predictable as people are.
const (
	// Commuter drives to work and back on most weekdays (leaving and coming
	// back at its own times, give or take 10 to 30 minutes), sometimes
	// works from home, runs an errand on some evenings and goes out at
	// random times on weekends, now and then far.
	Commuter Persona = "commuter"
	// Errands drives a few times on most days, at random daytime hours.
	Errands Persona = "errands"
	// Occasional drives on some days only, and does a weekly shop.
	Occasional Persona = "occasional"
	// Fleet makes deliveries on working days: many short trips and stops
	// in working hours, back to its depot in the evening.
	Fleet Persona = "fleet"
)

// personaCycle is how vehicles get their persona, by creation order.
var personaCycle = []Persona{Commuter, Errands, Fleet, Commuter, Occasional, Commuter}

// Where a vehicle is parked.
const (
	atOther uint8 = iota
	atHome        // home, or a fleet vehicle's depot: where EVs charge
	atWork
	atStop // a fast charger or a fuel station on the way
)

// habits are a vehicle's fixed, seed-derived ways: where it lives and
// goes, when, and how it charges or refuels.
type habits struct {
	persona Persona
	seed    uint64  // keys the day plans
	tz      float64 // seconds east of UTC
	home    [2]float64
	work    [2]float64
	shops   [][2]float64
	speed   float64 // km/h in town

	leave, back float64 // commuter: leaves home / work, seconds after local midnight; fleet: starts
	jitter      float64 // standard deviation of leave and back, seconds
	wfh         float64 // commuter: share of weekdays at home
	weekly      int     // occasional: weekday of the weekly shop
	kmPerDay    float64 // rough average, for the service history

	capacity, elecCons float64 // kWh, kWh/km
	tank, fuelCons     float64 // l, l/km
	homePower          float64 // kW at home (or the depot)
	plugBelow          float64 // plugs in on coming home below this state of charge
	latePlug           float64 // share of homecomings it plugs in only hours later
	timer              float64 // charges from this time of day (seconds after midnight) on; < 0: at once
	limit              float64 // charge limit
	refuelBelow        float64 // stops for fuel below this level
	sleepAfter         float64 // seconds parked and idle before it sleeps
}

// newHabits draws vehicle index's habits.
func newHabits(rng *rand.Rand, index int, kind Kind) habits {
	c := cities[index%len(cities)]
	h := habits{
		persona: personaCycle[index%len(personaCycle)],
		seed:    rng.Uint64(),
		tz:      c.tz,
		speed:   25 + rng.Float64()*20,
		jitter:  (10 + rng.Float64()*20) * 60,
		timer:   -1,
	}
	h.home = around(rng, [2]float64{c.lat, c.lon}, 2, 10)
	for range 4 {
		h.shops = append(h.shops, around(rng, h.home, 1, 8))
	}
	switch h.persona {
	case Commuter:
		h.leave = (6.5 + rng.Float64()*2.25) * 3600
		commute := (15 + rng.Float64()*35) * 60
		km := commute / 3600 * h.speed
		h.work = offset(h.home, km/roadFactor, rng.Float64()*2*math.Pi)
		h.back = h.leave + commute + (8+rng.Float64()*1.5)*3600
		h.wfh = rng.Float64() * 0.25
		h.kmPerDay = 2*km*5/7 + 12
	case Fleet:
		h.leave = (6.75 + rng.Float64()*1.5) * 3600
		h.jitter = 10 * 60
		h.kmPerDay = 90
	case Errands:
		h.kmPerDay = 30
	case Occasional:
		h.weekly = 1 + rng.IntN(6)
		h.kmPerDay = 10
	}
	h.limit = 1
	h.refuelBelow = 0.1 + rng.Float64()*0.15
	h.sleepAfter = (15 + rng.Float64()*15) * 60
	h.latePlug = 0.1 + rng.Float64()*0.2
	switch kind {
	case BEV:
		h.capacity = 50 + rng.Float64()*50
		h.elecCons = 0.14 + rng.Float64()*0.08
		h.homePower = []float64{3.7, 7.4, 7.4, 11}[rng.IntN(4)]
		h.limit = []float64{0.8, 0.8, 0.9, 1}[rng.IntN(4)]
		h.plugBelow = 0.4 + rng.Float64()*0.4
		if rng.Float64() < 0.4 {
			h.plugBelow = 2 // every time
		}
	case PHEV:
		h.capacity = 10 + rng.Float64()*8
		h.elecCons = 0.18 + rng.Float64()*0.07
		h.homePower = 3.6
		h.plugBelow = 2
		if rng.Float64() < 0.3 {
			h.plugBelow = 0.5
		}
	}
	if kind != ICE && rng.Float64() < 0.3 {
		h.timer = math.Mod((22+rng.Float64()*4)*3600, secondsInDay) // off-peak, from 22:00 to 02:00
	}
	if kind != BEV {
		h.tank = 35 + rng.Float64()*40
		h.fuelCons = 0.05 + rng.Float64()*0.05
		if kind == PHEV {
			h.tank = 35 + rng.Float64()*15
			h.fuelCons = 0.06 + rng.Float64()*0.02
		}
	}
	if h.persona == Fleet {
		h.plugBelow, h.timer = 2, -1
		if kind == BEV {
			h.homePower = []float64{11, 22}[rng.IntN(2)]
		}
	}
	return h
}

// leg is one planned drive.
type leg struct {
	depart float64 // planned departure, simulated Unix seconds
	stay   float64 // least time at the origin when the vehicle got there late
	to     [2]float64
	place  uint8   // what to is: atHome, atWork or atOther
	speed  float64 // km/h
}

// dayOf is the local day number (days since 1970-01-01 in the vehicle's
// zone) of simulated second t.
func (h *habits) dayOf(t float64) int64 { return int64(math.Floor((t + h.tz) / secondsInDay)) }

// plan returns the legs the vehicle plans on local day day, by departure.
// It depends only on the habits and the day.
func (h *habits) plan(day int64) []leg {
	rng := rand.New(rand.NewPCG(h.seed, uint64(day)))
	p := planner{h: h, rng: rng, midnight: float64(day)*secondsInDay - h.tz, at: h.home, atHome: true}
	p.free = p.midnight
	weekday := int((day%7 + 7 + 4) % 7) // 1970-01-01 was a Thursday; 0 is Sunday
	weekend := weekday == 0 || weekday == 6
	switch h.persona {
	case Commuter:
		if !weekend && rng.Float64() >= h.wfh {
			p.trip(p.hour(h.leave/3600)+rng.NormFloat64()*h.jitter, h.work, atWork, h.speed)
			if rng.Float64() < 0.1 {
				p.trip(p.hour(12+rng.Float64()*0.75), p.shop(), atOther, h.speed)
				p.wait(p.minutes(20, 45))
				p.trip(0, h.work, atWork, h.speed)
			}
			back := p.hour(h.back/3600) + rng.NormFloat64()*h.jitter
			if rng.Float64() < 0.25 {
				p.trip(back, p.shop(), atOther, h.speed)
				p.wait(p.minutes(15, 40))
				p.trip(0, h.home, atHome, h.speed)
			} else {
				p.trip(back, h.home, atHome, h.speed)
			}
			if rng.Float64() < 0.3 {
				p.outing(p.hour(18.5 + rng.Float64()*2.5))
			}
			break
		}
		if weekend && rng.Float64() < 0.06 {
			p.far(p.hour(8 + rng.Float64()*3))
		}
		p.outings(poisson(rng, pick(weekend, 1.4, 0.8)), 9, 19)
	case Errands:
		p.outings(poisson(rng, pick(weekday == 0, 1, 2)), 8.5, 19.5)
	case Occasional:
		n := 0
		if weekday == h.weekly || rng.Float64() < pick(weekend, 0.4, 0.3) {
			n = 1
			if rng.Float64() < 0.2 {
				n = 2
			}
		}
		p.outings(n, 9, 20)
	case Fleet:
		if weekday == 0 || (weekday == 6 && rng.Float64() >= 0.4) {
			break
		}
		stops := 6 + rng.IntN(7)
		depart := p.hour(h.leave/3600) + rng.NormFloat64()*h.jitter
		for i := range stops {
			p.trip(depart, around(rng, h.home, 2, 9), atOther, 30)
			depart = 0
			if i == stops/2 {
				p.wait(p.minutes(30, 45)) // lunch
			} else {
				p.wait(p.minutes(5, 20))
			}
		}
		p.trip(0, h.home, atHome, 30)
	}
	return p.legs
}

// planner builds a day's legs.
type planner struct {
	h        *habits
	rng      *rand.Rand
	midnight float64 // local midnight, simulated Unix seconds
	legs     []leg
	at       [2]float64
	atHome   bool
	arrived  float64 // when the plan has the vehicle arrive at 'at'
	free     float64 // when it is free to leave
}

func (p *planner) hour(h float64) float64         { return p.midnight + h*3600 }
func (p *planner) minutes(lo, hi float64) float64 { return (lo + p.rng.Float64()*(hi-lo)) * 60 }
func (p *planner) wait(d float64)                 { p.free += d }
func (p *planner) shop() [2]float64 {
	if p.rng.Float64() < 0.7 {
		return p.h.shops[p.rng.IntN(len(p.h.shops))]
	}
	return around(p.rng, p.h.home, 2, 15)
}

// trip plans a drive to 'to' at depart, or as soon as the vehicle is free
// if that is later.
func (p *planner) trip(depart float64, to [2]float64, place uint8, speed float64) {
	depart = max(depart, p.free)
	stay := 5 * 60.0
	if !p.atHome {
		stay = min(max(depart-p.arrived, stay), 3*3600)
	}
	p.legs = append(p.legs, leg{depart: depart, stay: stay, to: to, place: place, speed: speed})
	km := max(distanceKm(p.at, to)*roadFactor, 0.8)
	p.arrived = depart + km/speed*3600
	p.free = p.arrived
	p.at, p.atHome = to, place == atHome
}

// outing plans a round trip from home at start: one or two stops of 15
// minutes to 2 hours.
func (p *planner) outing(start float64) {
	if start < p.free+10*60 {
		start = p.free + p.minutes(10, 30)
	}
	if start > p.hour(22.5) {
		return
	}
	p.trip(start, p.shop(), atOther, p.h.speed)
	p.wait(p.minutes(15, 120))
	if p.rng.Float64() < 0.3 {
		p.trip(0, p.shop(), atOther, p.h.speed)
		p.wait(p.minutes(10, 40))
	}
	p.trip(0, p.h.home, atHome, p.h.speed)
}

// outings plans n outings at random times between the hours from and to.
func (p *planner) outings(n int, from, to float64) {
	starts := make([]float64, n)
	for i := range starts {
		starts[i] = p.hour(from + p.rng.Float64()*(to-from))
	}
	slices.Sort(starts)
	for _, s := range starts {
		p.outing(s)
	}
}

// far plans a day trip of 80 to 250 km each way, with hours there.
func (p *planner) far(start float64) {
	to := around(p.rng, p.h.home, 80, 250)
	p.trip(start, to, atOther, 85)
	p.wait(p.minutes(120, 360))
	p.trip(0, p.h.home, atHome, 85)
}

// poisson draws a Poisson count of mean lambda (small).
func poisson(rng *rand.Rand, lambda float64) int {
	l, k, prod := math.Exp(-lambda), 0, rng.Float64()
	for prod > l {
		k++
		prod *= rng.Float64()
	}
	return k
}

// pick returns a if cond, else b.
func pick(cond bool, a, b float64) float64 {
	if cond {
		return a
	}
	return b
}
