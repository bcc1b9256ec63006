package adaptive

import "math"

// Movement thresholds: less is noise.
const (
	movedKm       = 0.05 // odometer
	movedLocation = 0.1  // km, location
)

// Classify returns the state o shows for a vehicle last seen as prev, and
// whether it moved since (a trip happened, whether or not it still goes
// on). Driving: the gear is not P, or, without a gear, the odometer or the
// location moved. Then charging, asleep or unreachable (an ASLEEP or
// UNREACHABLE error, isasleep, not online), plugged in, parked. An
// observation without a driving signal (a webhook of charge signals) keeps
// a driving vehicle driving unless it shows it charging or plugged in.
func Classify(prev *Vehicle, o *Observation) (State, bool) {
	moved := false
	if prev.Seen != 0 {
		if o.has(HasOdometer) && prev.Odometer > 0 && o.OdometerKm-prev.Odometer >= movedKm {
			moved = true
		}
		if o.has(HasLocation) && (prev.Lat != 0 || prev.Lon != 0) &&
			distanceKm(prev.Lat, prev.Lon, o.Latitude, o.Longitude) >= movedLocation {
			moved = true
		}
	}
	charging := (o.has(HasCharging) && o.Charging) || (o.has(HasChargeRate) && o.ChargeRateKW > 0)
	plugged := charging || (o.has(HasPluggedIn) && o.PluggedIn)
	switch {
	case o.has(HasGear) && o.Gear != "" && o.Gear != "P":
		return Driving, moved
	case !o.has(HasGear) && moved:
		return Driving, moved
	case charging:
		return Charging, moved
	case o.Unreachable || (o.has(HasAsleep) && o.Asleep) || (o.has(HasOnline) && !o.Online):
		return Asleep, moved
	case plugged:
		return PluggedIn, moved
	case prev.State == Driving && o.Has&(HasGear|HasOdometer|HasLocation) == 0:
		return Driving, moved
	}
	return Parked, moved
}

// distanceKm is the equirectangular distance, plenty for telling 100 m.
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const kmPerDegree = 111.32
	cosLat := math.Cos((lat1 + lat2) / 2 * math.Pi / 180)
	return math.Hypot((lat2-lat1)*kmPerDegree, (lon2-lon1)*kmPerDegree*cosLat)
}
