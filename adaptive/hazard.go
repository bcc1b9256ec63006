package adaptive

import "math"

// idleHazard is the learned rate (events per hour) of changes of a parked
// vehicle in bin b: trips, and charges unless webhooks report them.
func (p *Policy) idleHazard(v *Vehicle, b int) float64 {
	h := v.rate(&v.Departures, b, &priorDepartures)
	if v.flag(flagElectric) && !v.flag(flagHooks) {
		h += v.rate(&v.Charges, b, &priorCharges)
	}
	return h
}

// hazard is the rate (events per hour) of a change of v at Unix second t,
// from its state, what it learned and what just happened.
func (p *Policy) hazard(v *Vehicle, t int64) float64 {
	if v.State == Driving {
		return math.Inf(1) // a trip ends: always covered
	}
	b := bin(t, v.Zone)
	if b >= 9 && b < 16 && v.atHome() && v.flag(flagWork) {
		b += 24 // home on a weekday at work hours: a day off, like a weekend day
	}
	hooks, plugged := v.flag(flagHooks), v.flag(flagPlugged)
	var h float64
	if !(hooks && plugged) { // with webhooks, a plugged-in vehicle's unplug comes first
		h += v.rate(&v.Departures, b, &priorDepartures)
	}
	if v.flag(flagElectric) && !hooks {
		switch v.State {
		case Charging:
			if v.ChargeEnd == 0 {
				h += 0.5 // an end it cannot predict: about two hours
			}
		default:
			h += v.rate(&v.Charges, b, &priorCharges)
			if v.flag(flagPending) {
				h += pendingRate
			}
		}
	}
	if d := t - v.Arrived; v.Arrived > 0 && d >= 0 && d < followAway && !v.atHome() && !v.atWork() {
		h += followRate // parked on an errand: the next trip comes within a stay
	}
	if d := t - v.Unplugged; v.Unplugged > 0 && d >= 0 && d < followUnplug {
		h += 3600.0 / followUnplug // unplugged: the trip starts in minutes
	}
	return h
}

// atHome reports whether v is parked where it spends its nights.
func (v *Vehicle) atHome() bool {
	return v.flag(flagHome) && distanceKm(v.Lat, v.Lon, float64(v.Home[0]), float64(v.Home[1])) < 0.3
}

// atWork reports whether v is parked where it spends weekdays.
func (v *Vehicle) atWork() bool {
	return v.flag(flagWork) && distanceKm(v.Lat, v.Lon, float64(v.Work[0]), float64(v.Work[1])) < 0.3
}
