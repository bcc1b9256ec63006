package smartcartest

import (
	"math"
	"math/rand/v2"
)

// homes are the city centres vehicles live around.
var homes = [][2]float64{
	{37.7749, -122.4194}, // San Francisco
	{52.5200, 13.4050},   // Berlin
	{51.5074, -0.1278},   // London
	{42.3314, -83.0458},  // Detroit
	{59.9139, 10.7522},   // Oslo
	{30.2672, -97.7431},  // Austin
}

const kmPerDegree = 111.32

// route is a closed loop of waypoints that a vehicle drives round and round.
type route struct {
	points [][2]float64 // lat, lon
	cum    []float64    // cum[i]: km from points[0] to points[i]; last = loop length
}

func newRoute(rng *rand.Rand) *route {
	home := homes[rng.IntN(len(homes))]
	radius := 2 + rng.Float64()*6 // km
	const n = 8
	r := &route{points: make([][2]float64, n), cum: make([]float64, n+1)}
	cosLat := math.Cos(home[0] * math.Pi / 180)
	for i := range n {
		theta := 2*math.Pi*float64(i)/n + (rng.Float64()-0.5)*0.6
		rr := radius * (0.6 + 0.8*rng.Float64())
		r.points[i] = [2]float64{
			home[0] + rr*math.Cos(theta)/kmPerDegree,
			home[1] + rr*math.Sin(theta)/(kmPerDegree*cosLat),
		}
	}
	for i := range n {
		r.cum[i+1] = r.cum[i] + distanceKm(r.points[i], r.points[(i+1)%n])
	}
	return r
}

// at returns the position pos km along the loop.
func (r *route) at(pos float64) (lat, lon float64) {
	length := r.cum[len(r.cum)-1]
	pos = math.Mod(pos, length)
	if pos < 0 {
		pos += length
	}
	n := len(r.points)
	for i := range n {
		if pos <= r.cum[i+1] {
			seg := r.cum[i+1] - r.cum[i]
			f := 0.0
			if seg > 0 {
				f = (pos - r.cum[i]) / seg
			}
			a, b := r.points[i], r.points[(i+1)%n]
			return a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1])
		}
	}
	return r.points[0][0], r.points[0][1]
}

// distanceKm is the equirectangular distance, plenty for a few km.
func distanceKm(a, b [2]float64) float64 {
	cosLat := math.Cos((a[0] + b[0]) / 2 * math.Pi / 180)
	dy := (b[0] - a[0]) * kmPerDegree
	dx := (b[1] - a[1]) * kmPerDegree * cosLat
	return math.Hypot(dx, dy)
}
