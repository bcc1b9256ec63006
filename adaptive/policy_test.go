package adaptive_test

import (
	"slices"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
)

// parkedAt is a vehicle parked at home, awake, whose data is fresh.
func parkedAt(t time.Time) adaptive.Observation {
	return adaptive.Observation{At: t, OEMUpdatedAt: t, Has: adaptive.HasOdometer | adaptive.HasLocation |
		adaptive.HasGear | adaptive.HasAsleep, Gear: "P", OdometerKm: 1000, Latitude: home[0], Longitude: home[1]}
}

// gaps returns the gaps between polls.
func gaps(polls []time.Time) []time.Duration {
	var out []time.Duration
	for i := 1; i < len(polls); i++ {
		out = append(out, polls[i].Sub(polls[i-1]))
	}
	return out
}

func TestPolicy_FirstLookAtOnce(t *testing.T) {
	p := newPolicy(t, adaptive.DefaultConfig())
	if due := p.Next(&adaptive.Vehicle{}, t0); !due.Equal(t0) {
		t.Errorf("Next for a vehicle never polled = %v, want now", due)
	}
	// A webhook before any poll does not replace the first poll.
	v := &adaptive.Vehicle{}
	o := adaptive.Observation{At: t0, Has: adaptive.HasCharging | adaptive.HasPluggedIn}
	if due := p.Webhook(v, o); !due.Equal(t0) {
		t.Errorf("Webhook before the first poll: due %v, want now", due)
	}
}

// TestPolicy_Floors: whatever the likelihood of a change, two polls of a
// vehicle in a state are never closer than the state's floor.
func TestPolicy_Floors(t *testing.T) {
	cfg := adaptive.DefaultConfig()
	cfg.Budget.CallsPerMonth = 100000 // plenty: only the floors hold polls back
	p := newPolicy(t, cfg)
	tests := []struct {
		state adaptive.State
		obs   func(time.Time) adaptive.Observation
	}{
		{adaptive.Driving, busy},
		{adaptive.Parked, func(t time.Time) adaptive.Observation {
			o := parkedAt(t)
			o.Has &^= adaptive.HasAsleep
			return o
		}},
		{adaptive.Asleep, func(t time.Time) adaptive.Observation { o := parkedAt(t); o.Asleep = true; return o }},
		{adaptive.Charging, func(t time.Time) adaptive.Observation {
			o := parkedAt(t)
			o.Has |= adaptive.HasCharging | adaptive.HasPluggedIn
			o.Charging, o.PluggedIn = true, true
			return o
		}},
		{adaptive.PluggedIn, func(t time.Time) adaptive.Observation {
			o := parkedAt(t)
			o.Has |= adaptive.HasCharging | adaptive.HasPluggedIn
			o.PluggedIn = true
			return o
		}},
	}
	floors := map[adaptive.State]time.Duration{adaptive.Driving: cfg.Intervals.Driving, adaptive.Parked: cfg.Intervals.Parked,
		adaptive.Asleep: cfg.Intervals.Asleep, adaptive.Charging: cfg.Intervals.Charging, adaptive.PluggedIn: cfg.Intervals.PluggedIn}
	for _, tt := range tests {
		t.Run(tt.state.String(), func(t *testing.T) {
			v := &adaptive.Vehicle{}
			polls := drive(p, v, tt.obs, t0, t0.Add(7*24*time.Hour))
			if v.State != tt.state {
				t.Fatalf("state %s, want %s", v.State, tt.state)
			}
			g := gaps(polls)
			if m := slices.Min(g); m < floors[tt.state] {
				t.Errorf("a gap of %v, under the floor %v", m, floors[tt.state])
			}
			if tt.state == adaptive.Driving && slices.Max(g) > 2*floors[tt.state] {
				t.Errorf("driving with plenty of budget: gaps up to %v, want about the floor %v", slices.Max(g), floors[tt.state])
			}
		})
	}
}

// TestPolicy_NeverUpdatesOEM: a vehicle whose oemUpdatedAt never moves (and
// that does not say it sleeps) is polled less and less; one that says it
// sleeps is not backed off for it.
func TestPolicy_NeverUpdatesOEM(t *testing.T) {
	stuck := func(t time.Time) adaptive.Observation {
		o := parkedAt(t)
		o.Has &^= adaptive.HasAsleep
		o.OEMUpdatedAt = t0.Add(-48 * time.Hour)
		return o
	}
	asleep := func(t time.Time) adaptive.Observation {
		o := parkedAt(t)
		o.Asleep = true
		o.OEMUpdatedAt = t0.Add(-48 * time.Hour)
		return o
	}
	fresh := func(t time.Time) adaptive.Observation {
		o := parkedAt(t)
		o.Has &^= adaptive.HasAsleep
		return o
	}
	p := newPolicy(t, fastConfig(500))
	run := func(w world) []time.Time {
		return drive(p, &adaptive.Vehicle{}, w, t0, t0.Add(10*24*time.Hour))
	}
	nStuck, nAsleep, nFresh := len(run(stuck)), len(run(asleep)), len(run(fresh))
	if nStuck*3 > nFresh {
		t.Errorf("never-updating vehicle: %d polls in 10 days, want at most a third of the %d of a fresh one", nStuck, nFresh)
	}
	if nAsleep*10 < nFresh*8 {
		t.Errorf("sleeping vehicle: %d polls in 10 days, want about the %d of a fresh one", nAsleep, nFresh)
	}
	// The stuck vehicle's gaps grow as the polls keep finding nothing.
	g := gaps(run(stuck))
	if len(g) < 6 || g[len(g)-1] < 4*g[1] {
		t.Errorf("never-updating vehicle's gaps %v: want them to grow", g)
	}
	// Data that moves again ends the back-off.
	v := &adaptive.Vehicle{}
	stuckPolls := drive(p, v, stuck, t0, t0.Add(5*24*time.Hour))
	at := stuckPolls[len(stuckPolls)-1].Add(2 * time.Hour)
	still := *v
	dueStuck := p.Polled(&still, stuck(at), 1)
	dueFresh := p.Polled(v, fresh(at), 1)
	if v.Stale != 0 || 2*dueFresh.Sub(at) > dueStuck.Sub(at) {
		t.Errorf("after fresh data: stale %d, due in %v; still stuck, due in %v", v.Stale, dueFresh.Sub(at), dueStuck.Sub(at))
	}
}

// TestPolicy_ChargeEnd: a charge is looked at when it should end, by the
// car's time to complete, or by its state of charge, limit, capacity and
// rate.
func TestPolicy_ChargeEnd(t *testing.T) {
	p := newPolicy(t, fastConfig(500))
	base := func(t time.Time) adaptive.Observation {
		o := parkedAt(t)
		o.Has |= adaptive.HasCharging | adaptive.HasPluggedIn
		o.Charging, o.PluggedIn = true, true
		return o
	}
	tests := []struct {
		name string
		edit func(*adaptive.Observation)
		want time.Duration
	}{
		{"time to complete", func(o *adaptive.Observation) {
			o.Has |= adaptive.HasTimeToComplete
			o.TimeToComplete = 90 * time.Minute
		}, 90 * time.Minute},
		{"from the charge", func(o *adaptive.Observation) {
			o.Has |= adaptive.HasStateOfCharge | adaptive.HasChargeLimit | adaptive.HasCapacity | adaptive.HasChargeRate
			o.StateOfCharge, o.ChargeLimit, o.CapacityKWh, o.ChargeRateKW = 0.5, 0.8, 74, 11.1 // 2 hours
		}, 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// At night, when nothing else is likely: the end decides.
			night := time.Date(2026, 6, 3, 0, 30, 0, 0, time.UTC)
			v := &adaptive.Vehicle{}
			p.Polled(v, parkedAt(night.Add(-time.Hour)), 1)
			o := base(night)
			tt.edit(&o)
			due := p.Polled(v, o, 1)
			if d := due.Sub(night); d < tt.want || d > tt.want+2*time.Minute {
				t.Errorf("due in %v, want just after the predicted end in %v", d, tt.want)
			}
		})
	}
}

// TestPolicy_LearnsCommute: after a few weeks the policy has learned a
// commuter's week: it polls around the morning departure far more than at
// night, and sees the departure much sooner than polls spread evenly
// over the day would.
func TestPolicy_LearnsCommute(t *testing.T) {
	p := newPolicy(t, fastConfig(500))
	v := &adaptive.Vehicle{}
	w := commuter(20)
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	learn := start.AddDate(0, 0, 21)
	drive(p, v, w, start, learn)
	polls := drive(p, v, w, learn, learn.AddDate(0, 0, 7))
	var morning, night int
	var delays []time.Duration
	for d := learn; d.Before(learn.AddDate(0, 0, 7)); d = d.AddDate(0, 0, 1) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		for _, at := range polls {
			switch {
			case !at.Before(d.Add(5*time.Hour+30*time.Minute)) && at.Before(d.Add(7*time.Hour+30*time.Minute)):
				morning++
			case !at.Before(d.Add(time.Hour)) && at.Before(d.Add(3*time.Hour)):
				night++
			}
		}
		// The departure: when the odometer first moves that day.
		for m := 5 * 60; m < 9*60; m++ {
			if at := d.Add(time.Duration(m) * time.Minute); w(at).Gear == "D" {
				delays = append(delays, firstAfter(polls, at))
				break
			}
		}
	}
	if morning < 4*max(night, 1) {
		t.Errorf("polls in the two hours around the departure: %d, in two hours at night: %d; want four times as many", morning, night)
	}
	slices.Sort(delays)
	// Spread evenly over the day, the 15 polls a day would see it in 48
	// minutes at the median.
	if len(delays) != 5 || delays[2] > 20*time.Minute {
		t.Errorf("departures seen after %v, want a median under 20 minutes", delays)
	}
}

// TestPolicy_Webhooks: once webhooks report a vehicle's charges the policy
// stops polling for them: a plugged-in vehicle is left alone until the
// webhook of its unplug, and then looked at within minutes for the trip
// that follows.
func TestPolicy_Webhooks(t *testing.T) {
	p := newPolicy(t, fastConfig(500))
	plugged := func(t time.Time) adaptive.Observation {
		o := parkedAt(t)
		o.Has |= adaptive.HasCharging | adaptive.HasPluggedIn | adaptive.HasStateOfCharge | adaptive.HasChargeLimit
		o.PluggedIn, o.Asleep, o.StateOfCharge, o.ChargeLimit = true, true, 0.8, 0.8
		return o
	}
	evening := time.Date(2026, 6, 3, 18, 0, 0, 0, time.UTC)
	without, with := &adaptive.Vehicle{}, &adaptive.Vehicle{}
	drive(p, without, plugged, evening.Add(-time.Hour), evening)
	drive(p, with, plugged, evening.Add(-time.Hour), evening)
	hook := adaptive.Observation{At: evening, Has: adaptive.HasCharging | adaptive.HasPluggedIn, PluggedIn: true}
	dueWith := p.Webhook(with, hook)
	dueWithout := p.Next(without, evening)
	if dueWith.Sub(evening) < 3*dueWithout.Sub(evening) {
		t.Errorf("plugged in: due in %v with charge webhooks, %v without; want far later with them",
			dueWith.Sub(evening), dueWithout.Sub(evening))
	}
	unplug := evening.Add(10 * time.Minute)
	hook = adaptive.Observation{At: unplug, Has: adaptive.HasCharging | adaptive.HasPluggedIn}
	if due := p.Webhook(with, hook); due.Sub(unplug) > 15*time.Minute {
		t.Errorf("after the unplug webhook: due in %v, want within 15 minutes", due.Sub(unplug))
	}
}
