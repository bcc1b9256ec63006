package adaptive

import "math"

// What a look reveals. Between the look before (v.Seen) and this one a
// trip may have started or ended, a charge may have started; when, the
// data says more precisely than "somewhere in between": the odometer's
// oemUpdatedAt is when the vehicle last moved (the trip's end), the
// distance driven over the vehicle's speed is how long it drove, and the
// charge gained over the charge rate is how long it has charged. The
// estimates place the change for learning and for the follow-ups.

const defaultSpeed = 35 // km/h, before a vehicle's speed is measured

// reveal learns from the changes between v (as last seen) and o.
func (v *Vehicle) reveal(o *Observation, prev, st State, moved bool) {
	from, now := v.Seen, o.At.Unix()
	idle := prev != Driving && prev != Unknown
	km := -1.0
	if o.has(HasOdometer) && v.Odometer > 0 && o.OdometerKm >= v.Odometer {
		km = o.OdometerKm - v.Odometer
	}
	arrived := from + (now-from)/2
	if m := o.MovedAt.Unix(); !o.MovedAt.IsZero() && m > from && m <= now {
		arrived = m
	}
	switch {
	case idle && st == Driving: // a trip under way
		start := v.started(km, now, from)
		v.learnAround(&v.Departures, &priorDepartures, from, now, start)
		v.TripStart = start
	case idle && moved: // a whole trip between two looks
		v.learnAround(&v.Departures, &priorDepartures, from, now, v.started(km, arrived, from))
		v.Arrived, v.TripStart = arrived, 0
	case prev == Driving && st == Driving:
		if km > 0.5 { // the speed, between two looks while it drives
			v.Speed = uint8(min(200, math.Round(0.7*float64(v.speed())+0.3*km/(float64(now-from)/3600))))
		}
	case prev == Driving:
		if v.TripStart != 0 {
			minutes := float64(arrived-v.TripStart) / 60
			v.TripMin = uint8(min(255, math.Round(0.7*float64(v.tripMinutes())+0.3*minutes)))
		}
		v.Arrived, v.TripStart = arrived, 0
	}
	if prev != Charging && st == Charging {
		start := from + (now-from)/2
		if o.has(HasStateOfCharge|HasCapacity|HasChargeRate) && o.ChargeRateKW > 0 && v.SoC > 0 &&
			o.StateOfCharge >= float64(v.SoC) {
			hours := (o.StateOfCharge - float64(v.SoC)) * o.CapacityKWh / o.ChargeRateKW
			start = now - int64(hours*3600)
		}
		v.learnAround(&v.Charges, &priorCharges, from, now, start)
	}
}

// started estimates when a trip that drove km (unknown: < 0) by end began,
// after from.
func (v *Vehicle) started(km float64, end, from int64) int64 {
	if km < 0 {
		return from + (end-from)/2
	}
	return max(from, end-int64(km/float64(v.speed())*3600))
}

func (v *Vehicle) speed() int {
	if v.Speed == 0 {
		return defaultSpeed
	}
	return int(v.Speed)
}

// learnAround learns an event at about at, known to be in (from, to]: it
// is spread over a quarter hour either side of at, within the interval.
func (v *Vehicle) learnAround(h *[48]uint8, prior *[24]float64, from, to, at int64) {
	const spread = 15 * 60
	lo, hi := max(from, at-spread), min(to, at+spread)
	if hi <= lo {
		lo, hi = from, to
	}
	v.learn(h, prior, lo, hi)
}
