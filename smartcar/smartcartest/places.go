package smartcartest

import (
	"math"
	"math/rand/v2"
)

// city is a place vehicles live around, with its standard-time UTC offset
// (the simulator ignores daylight saving time).
type city struct {
	lat, lon float64
	tz       float64 // seconds east of UTC
}

// cities are dealt out to vehicles in this order, so that a few vehicles
// already live hours apart and something happens at any time of day.
var cities = []city{
	{52.5200, 13.4050, 1 * 3600},    // Berlin
	{37.7749, -122.4194, -8 * 3600}, // San Francisco
	{35.6762, 139.6503, 9 * 3600},   // Tokyo
	{51.5074, -0.1278, 0},           // London
	{42.3314, -83.0458, -5 * 3600},  // Detroit
	{59.9139, 10.7522, 1 * 3600},    // Oslo
	{30.2672, -97.7431, -6 * 3600},  // Austin
}

const (
	kmPerDegree = 111.32
	roadFactor  = 1.3 // road distance per straight-line distance
)

// offset returns the point d km from p towards bearing (radians from north).
func offset(p [2]float64, d, bearing float64) [2]float64 {
	cosLat := math.Cos(p[0] * math.Pi / 180)
	return [2]float64{
		p[0] + d*math.Cos(bearing)/kmPerDegree,
		p[1] + d*math.Sin(bearing)/(kmPerDegree*cosLat),
	}
}

// around returns a point between lo and hi km from p in a random direction.
func around(rng *rand.Rand, p [2]float64, lo, hi float64) [2]float64 {
	return offset(p, lo+rng.Float64()*(hi-lo), rng.Float64()*2*math.Pi)
}

// distanceKm is the equirectangular distance, plenty for a few hundred km.
func distanceKm(a, b [2]float64) float64 {
	cosLat := math.Cos((a[0] + b[0]) / 2 * math.Pi / 180)
	dy := (b[0] - a[0]) * kmPerDegree
	dx := (b[1] - a[1]) * kmPerDegree * cosLat
	return math.Hypot(dx, dy)
}

// bearingDeg is the compass heading from a to b, in degrees.
func bearingDeg(a, b [2]float64) float64 {
	dx := (b[1] - a[1]) * math.Cos((a[0]+b[0])/2*math.Pi/180)
	return math.Mod(math.Atan2(dx, b[0]-a[0])*180/math.Pi+360, 360)
}

// mix is splitmix64 of a ^ b: per-event randomness that depends only on
// the vehicle and the event, never on the order of calls.
func mix(a, b uint64) uint64 {
	z := a ^ (b * 0x9e3779b97f4a7c15)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }
