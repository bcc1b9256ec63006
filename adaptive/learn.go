package adaptive

import "math"

// Learning. A vehicle's week is two days of 24 hours, a weekday and a
// weekend day, in its local time (its zone comes from its longitude). Each
// change the polls reveal (a trip or a charge that started) happened
// somewhere between the poll before and the poll that showed it; it is
// spread over the hours of that interval. The histograms hold sixteenths
// of an event; when a bin would overflow, every bin and the exposure are
// halved, so old weeks weigh less and less.

const (
	unitsPerEvent = 16
	maxLearnSpan  = 2 * 86400 // an interval longer than this says nothing of the hour
	priorDays     = 1.0       // the prior weighs as much as a day of data
)

// Priors: what the policy assumes of a vehicle it knows nothing about:
// three trips and half a charge a day, spread as people drive: by day,
// least at night (the shape of a day's traffic in travel surveys).
var (
	priorDepartures = diurnal(3)
	priorCharges    = diurnal(0.5)
)

// diurnal spreads n events a day over the hours of the day.
func diurnal(n float64) [24]float64 {
	shape := [24]float64{0.1, 0.05, 0.05, 0.05, 0.1, 0.3, 0.8, 1.5, 1.6, 1.3, 1.2, 1.3,
		1.4, 1.3, 1.3, 1.5, 1.7, 1.8, 1.4, 1.1, 0.9, 0.7, 0.5, 0.3}
	var sum float64
	for _, x := range shape {
		sum += x
	}
	var out [24]float64
	for i, x := range shape {
		out[i] = n * x / sum
	}
	return out
}

// bin is the histogram bin of Unix second t in zone (hours east of UTC):
// the local hour, plus 24 on Saturdays and Sundays.
func bin(t int64, zone int8) int {
	local := t + int64(zone)*3600
	day := floorDiv(local, 86400)
	hour := int((local - day*86400) / 3600)
	if wd := ((day+4)%7 + 7) % 7; wd == 0 || wd == 6 { // 1970-01-01 was a Thursday
		return 24 + hour
	}
	return hour
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// learn spreads one event that happened in (from, to] over h's bins, in
// proportion to the time each bin has of the interval and to the rate it
// has learned so far (prior included): the expectation step of estimating
// a rate from interval-censored events, so peaks sharpen as short
// intervals pin them down.
func (v *Vehicle) learn(h *[48]uint8, prior *[24]float64, from, to int64) {
	span := to - from
	if span <= 0 || span > maxLearnSpan {
		return
	}
	var add [48]float64
	var sum float64
	for t := from; t < to; {
		next := min((floorDiv(t, 3600)+1)*3600, to)
		b := bin(t, v.Zone)
		w := float64(next-t) * v.rate(h, b, prior)
		add[b] += w
		sum += w
		t = next
	}
	if sum <= 0 {
		return
	}
	for i := range add {
		add[i] *= unitsPerEvent / sum
	}
	for i, a := range add {
		if float64(h[i])+a > 255 {
			v.halve()
			break
		}
	}
	for i, a := range add {
		h[i] = uint8(min(255, math.Round(float64(h[i])+a)))
	}
}

// halve halves the histograms and the exposure.
func (v *Vehicle) halve() {
	for i := range v.Departures {
		v.Departures[i] /= 2
		v.Charges[i] /= 2
	}
	v.Exposure /= 2
}

// expose adds seconds of observation to the exposure.
func (v *Vehicle) expose(seconds int64) {
	if seconds <= 0 || seconds > 7*86400 {
		return
	}
	q := int(v.Exposure) + int(math.Round(float64(seconds)/(86400/4)))
	for q > math.MaxUint16 {
		v.halve()
		q = int(v.Exposure) + int(math.Round(float64(seconds)/(86400/4)))
	}
	v.Exposure = uint16(q)
}

// rate is the learned rate (events per hour) of the events of h in bin b,
// with prior events per hour.
func (v *Vehicle) rate(h *[48]uint8, b int, prior *[24]float64) float64 {
	days := float64(v.Exposure) / 4 * 5 / 7
	if b >= 24 {
		days = float64(v.Exposure) / 4 * 2 / 7
	}
	return (float64(h[b])/unitsPerEvent + prior[b%24]*priorDays) / (days + priorDays)
}
