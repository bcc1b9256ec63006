package adaptive

import (
	"math"
	"time"
)

// observe updates v from o.
func (p *Policy) observe(v *Vehicle, o *Observation, poll bool) {
	now := o.At.Unix()
	st, moved := Classify(v, o)
	prev := v.State
	if o.has(HasLocation) {
		v.Zone = int8(math.Round(o.Longitude / 15))
	}
	if o.Has&(HasStateOfCharge|HasPluggedIn|HasCharging|HasChargeRate) != 0 {
		v.set(flagElectric, true)
	}
	if v.Seen != 0 && now > v.Seen {
		v.expose(now - v.Seen)
		v.reveal(o, prev, st, moved)
	}
	if v.flag(flagPlugged) && o.has(HasPluggedIn) && !o.PluggedIn && st != Charging {
		v.Unplugged = now
	}
	if poll {
		switch oem := o.OEMUpdatedAt.Unix(); {
		case !o.OEMUpdatedAt.IsZero() && oem > v.OEM:
			v.OEM, v.Stale = oem, 0
		case o.Unreachable || (o.has(HasAsleep) && o.Asleep):
			// Frozen data the vehicle explains: it sleeps.
		default:
			v.Stale = uint8(min(255, int(v.Stale)+1))
		}
	}
	if st != prev {
		v.Since = now
	}
	v.State = st
	if o.has(HasOdometer) {
		v.Odometer = o.OdometerKm
	}
	if o.has(HasStateOfCharge) {
		v.SoC = float32(o.StateOfCharge)
	}
	if o.has(HasLocation) {
		v.Lat, v.Lon = o.Latitude, o.Longitude
		switch h := bin(now, v.Zone); {
		case st == Driving:
		case h%24 >= 2 && h%24 < 5:
			v.Home = [2]float32{float32(o.Latitude), float32(o.Longitude)} // where it spends the night
			v.set(flagHome, true)
		case h >= 10 && h < 15 && !v.atHome():
			// Where it spends weekdays: a place seen there twice.
			here := [2]float32{float32(o.Latitude), float32(o.Longitude)}
			if distanceKm(o.Latitude, o.Longitude, float64(v.WorkSeen[0]), float64(v.WorkSeen[1])) < 0.3 {
				v.Work = here
				v.set(flagWork, true)
			}
			v.WorkSeen = here
		}
	}
	switch {
	case st == Charging || st == PluggedIn:
		v.set(flagPlugged, true)
	case o.has(HasPluggedIn) || st == Driving:
		v.set(flagPlugged, false)
	}
	if o.has(HasPluggedIn | HasStateOfCharge | HasChargeLimit) {
		// Plugged in below the limit and not charging: a charge is pending
		// (a timer, or the owner).
		v.set(flagPending, o.PluggedIn && st != Charging && o.StateOfCharge < o.ChargeLimit-0.01)
	} else if st == Charging || st == Driving {
		v.set(flagPending, false)
	}
	v.ChargeEnd = 0
	if st == Charging {
		v.ChargeEnd = predictEnd(o)
	}
	v.Seen = now
}

func (v *Vehicle) tripMinutes() int {
	if v.TripMin == 0 {
		return defaultTrip
	}
	return int(v.TripMin)
}

// predictEnd is when the charge o shows ends: from the car's time to
// complete, else from the state of charge, limit, capacity and rate; 0 when
// they are not known.
func predictEnd(o *Observation) int64 {
	switch {
	case o.has(HasTimeToComplete) && o.TimeToComplete > 0:
		return o.At.Add(o.TimeToComplete).Unix()
	case o.has(HasStateOfCharge|HasChargeLimit|HasCapacity|HasChargeRate) && o.ChargeRateKW > 0 &&
		o.ChargeLimit > o.StateOfCharge:
		hours := (o.ChargeLimit - o.StateOfCharge) * o.CapacityKWh / o.ChargeRateKW
		return o.At.Add(time.Duration(hours * float64(time.Hour))).Unix()
	}
	return 0
}
