package smartcartest

import (
	"math"
	"time"
)

// chargeState is the /charge state of s.
func chargeState(kind Kind, s *simState) string {
	switch {
	case kind == ICE || !s.plugged:
		return "NOT_CHARGING"
	case s.charging:
		return "CHARGING"
	case s.soc >= s.limit-1e-9:
		return "FULLY_CHARGED"
	default:
		return "NOT_CHARGING"
	}
}

// simSeconds returns the simulated time at clock time now, in Unix seconds:
// the simulated start plus the clock time since start times the time scale.
func (s *Server) simSeconds(now time.Time) float64 {
	return s.simStart + now.Sub(s.start).Seconds()*s.cfg.timeScale
}

// simTime returns the simulated wall time at clock time now.
func (s *Server) simTime(now time.Time) time.Time { return unixTime(s.simSeconds(now)) }

// clockAt is the clock time of simulated second t.
func (s *Server) clockAt(t float64) time.Time {
	return s.start.Add(time.Duration((t - s.simStart) / s.cfg.timeScale * float64(time.Second)))
}

// unixTime converts Unix seconds to a time.
func unixTime(t float64) time.Time {
	sec, frac := math.Modf(t)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
