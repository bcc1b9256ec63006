package adaptive_test

import (
	"math"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
)

// A world is a vehicle as the tests make it up: what a poll at t shows.
type world func(t time.Time) adaptive.Observation

// newPolicy is adaptive.New for a valid config.
func newPolicy(t testing.TB, cfg adaptive.Config) *adaptive.Policy {
	t.Helper()
	p, err := adaptive.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// drive polls v in w from from to to, whenever p says it is due, and
// returns the poll times.
func drive(p *adaptive.Policy, v *adaptive.Vehicle, w world, from, to time.Time) []time.Time {
	var polls []time.Time
	for t := from; t.Before(to); {
		polls = append(polls, t)
		due := p.Polled(v, w(t), 1)
		if !due.After(t) {
			due = t.Add(time.Second)
		}
		t = due
	}
	return polls
}

// Berlin, at home and at work.
var (
	home = [2]float64{52.50, 13.40}
	work = [2]float64{52.55, 13.30}
)

// commuter is an EV that leaves home at 07:30 local (06:30 UTC) plus
// jitter minutes on weekdays (the jitter changes by day), drives 30
// minutes, leaves work at 17:00 local and is back at 17:30, plugs in and
// charges for two hours. On weekends it stays at home. Its data is fresh
// (oemUpdatedAt is the time of the poll) unless it sleeps.
func commuter(jitter int) world {
	return func(t time.Time) adaptive.Observation {
		o := adaptive.Observation{At: t, OEMUpdatedAt: t,
			Has: adaptive.HasOdometer | adaptive.HasLocation | adaptive.HasGear | adaptive.HasCharging |
				adaptive.HasPluggedIn | adaptive.HasAsleep | adaptive.HasStateOfCharge | adaptive.HasChargeLimit,
			Gear: "P", ChargeLimit: 0.8, StateOfCharge: 0.8}
		day := t.Truncate(24 * time.Hour)
		odo := 1000 + 40*float64(workdaysBefore(day))
		wd := day.Weekday()
		shift := time.Duration((day.YearDay()*7919)%(2*jitter+1)-jitter) * time.Minute
		leave := day.Add(6*time.Hour + 30*time.Minute + shift)
		back := day.Add(16 * time.Hour)
		at, pos := 0.0, home
		switch {
		case wd == time.Saturday || wd == time.Sunday || t.Before(leave):
		case t.Before(leave.Add(30 * time.Minute)):
			f := t.Sub(leave).Minutes() / 30
			o.Gear, at, pos = "D", 20*f, between(home, work, f)
		case t.Before(back):
			at, pos = 20, work
		case t.Before(back.Add(30 * time.Minute)):
			f := t.Sub(back).Minutes() / 30
			o.Gear, at, pos = "D", 20+20*f, between(work, home, f)
		default:
			at, pos = 40, home
			if t.Before(back.Add(150 * time.Minute)) {
				o.Charging, o.PluggedIn, o.StateOfCharge = true, true, 0.6
				o.Has |= adaptive.HasTimeToComplete
				o.TimeToComplete = back.Add(150 * time.Minute).Sub(t)
			}
		}
		o.OdometerKm, o.Latitude, o.Longitude = odo+at, pos[0], pos[1]
		if o.Gear == "P" && !o.Charging {
			o.Asleep = true // it sleeps when parked
		}
		return o
	}
}

func between(a, b [2]float64, f float64) [2]float64 {
	return [2]float64{a[0] + (b[0]-a[0])*f, a[1] + (b[1]-a[1])*f}
}

// workdaysBefore counts the weekdays before day since 2026-01-01.
func workdaysBefore(day time.Time) int {
	n := 0
	for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Before(day); d = d.AddDate(0, 0, 1) {
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
			n++
		}
	}
	return n
}

// firstAfter returns the first poll at or after t.
func firstAfter(polls []time.Time, t time.Time) time.Duration {
	for _, p := range polls {
		if !p.Before(t) {
			return p.Sub(t)
		}
	}
	return time.Duration(math.MaxInt64)
}
