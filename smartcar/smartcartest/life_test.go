package smartcartest_test

import (
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// journalEntry is a state change of one vehicle.
type journalEntry struct {
	vehicle smartcartest.Vehicle
	smartcartest.StateChange
}

// journals returns every change of s's vehicles in [from, to), by time.
func journals(s *smartcartest.Server, from, to time.Time) []journalEntry {
	var all []journalEntry
	for _, v := range s.Vehicles() {
		for _, c := range s.StateChanges(v.ID, from, to) {
			all = append(all, journalEntry{v, c})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Time.Before(all[j].Time) })
	return all
}

// TestServer_StateChanges checks the journal against the state: the changes
// of each vehicle follow each other as they can (a trip ends after it
// starts, charging needs a cable, a sleeping vehicle wakes before anything
// else happens), and right after each change the vehicle's state shows it.
func TestServer_StateChanges(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithVehicles(20))
	start := clock.Now()
	all := journals(s, start, start.Add(21*24*time.Hour))
	type flags struct{ driving, plugged, charging, asleep bool }
	now := map[string]*flags{}
	counts := map[smartcartest.ChangeKind]int{}
	for i, e := range all {
		f := now[e.vehicle.ID]
		if f == nil {
			st, _ := s.VehicleState(e.vehicle.ID)
			f = &flags{st.Driving, st.PluggedIn, st.ChargeState == "CHARGING", st.Asleep}
			now[e.vehicle.ID] = f
		}
		counts[e.Kind]++
		bad := func(why string) {
			t.Fatalf("change %d of %s (%s %s) at %v: %s after %+v", i, e.vehicle.ID, e.vehicle.Kind, e.vehicle.Persona,
				e.Time, why, *f)
		}
		if f.asleep && e.Kind != smartcartest.ChangeWake {
			bad(string(e.Kind) + " while asleep")
		}
		switch e.Kind {
		case smartcartest.ChangeTripStart:
			if f.driving || f.plugged {
				bad("trip start")
			}
			f.driving = true
		case smartcartest.ChangeTripEnd:
			if !f.driving {
				bad("trip end")
			}
			f.driving = false
		case smartcartest.ChangePlugIn:
			if f.driving || f.plugged || e.vehicle.Kind == smartcartest.ICE {
				bad("plug in")
			}
			f.plugged = true
		case smartcartest.ChangeChargeStart:
			if !f.plugged || f.charging {
				bad("charge start")
			}
			f.charging = true
		case smartcartest.ChangeChargeStop:
			if !f.charging {
				bad("charge stop")
			}
			f.charging = false
		case smartcartest.ChangeUnplug:
			if !f.plugged || f.charging {
				bad("unplug")
			}
			f.plugged = false
		case smartcartest.ChangeRefuel:
			if f.driving || e.vehicle.Kind == smartcartest.BEV {
				bad("refuel")
			}
		case smartcartest.ChangeSleep:
			if f.driving || f.charging {
				bad("sleep")
			}
			f.asleep = true
		case smartcartest.ChangeWake:
			if !f.asleep {
				bad("wake")
			}
			f.asleep = false
		}
		// The state a moment later shows the change (unless another change
		// of the vehicle comes at the same time).
		if i+1 < len(all) && all[i+1].vehicle.ID == e.vehicle.ID && all[i+1].Time.Equal(e.Time) {
			continue
		}
		clock.Advance(e.Time.Add(time.Millisecond).Sub(clock.Now()))
		st, _ := s.VehicleState(e.vehicle.ID)
		got := flags{st.Driving, st.PluggedIn, st.ChargeState == "CHARGING", st.Asleep}
		if got != *f {
			t.Fatalf("after %s of %s at %v the state is %+v, want %+v", e.Kind, e.vehicle.ID, e.Time, got, *f)
		}
	}
	for _, k := range []smartcartest.ChangeKind{smartcartest.ChangeTripStart, smartcartest.ChangeTripEnd,
		smartcartest.ChangePlugIn, smartcartest.ChangeChargeStart, smartcartest.ChangeChargeStop,
		smartcartest.ChangeUnplug, smartcartest.ChangeRefuel, smartcartest.ChangeSleep, smartcartest.ChangeWake} {
		if counts[k] == 0 {
			t.Errorf("no %s in three weeks of 20 vehicles: %v", k, counts)
		}
	}
}

// TestServer_StateChangesDeterministic: the journal is a function of the
// seed and the time, not of how the server was read.
func TestServer_StateChangesDeterministic(t *testing.T) {
	clockA, clockB := newClock(), newClock()
	a := newServer(t, smartcartest.WithClock(clockA.Now), smartcartest.WithVehicles(4))
	b := newServer(t, smartcartest.WithClock(clockB.Now), smartcartest.WithVehicles(4))
	start := clockA.Now()
	for range 7 * 24 {
		clockA.Advance(time.Hour)
		for _, id := range a.VehicleIDs() {
			a.VehicleState(id)
		}
	}
	for _, id := range a.VehicleIDs() {
		ja := a.StateChanges(id, start, start.Add(7*24*time.Hour))
		jb := b.StateChanges(id, start, start.Add(7*24*time.Hour))
		if len(ja) < 10 || !cmp.Equal(ja, jb) {
			t.Errorf("vehicle %s: %d changes read along, %d read at once:\n%s", id, len(ja), len(jb), cmp.Diff(ja, jb))
		}
	}
	if got := a.StateChanges("nope", start, start.Add(time.Hour)); got != nil {
		t.Errorf("unknown vehicle: %v", got)
	}
}

// TestServer_Habits: four weeks of a fleet look like people's lives:
// commuters leave at about the same time on weekdays, delivery vehicles make
// many trips on working days and rest on Sundays, occasional drivers have
// days without a trip, charging ends at the limit, and vehicles sleep a
// quarter to half an hour after they last did something.
func TestServer_Habits(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithVehicles(30))
	start := clock.Now()
	end := start.Add(28 * 24 * time.Hour)
	for _, v := range s.Vehicles() {
		changes := s.StateChanges(v.ID, start, end)
		// Days are UTC here: the vehicles' cities are hours apart, but a
		// day's first trip and a Sunday still stand out.
		firstTrip := map[int]float64{} // day → hour of the first trip
		tripsOn := map[int]int{}
		var lastActive time.Time
		for _, c := range changes {
			day := int(c.Time.Sub(start).Hours() / 24)
			switch c.Kind {
			case smartcartest.ChangeTripStart:
				tripsOn[day]++
				if _, ok := firstTrip[day]; !ok {
					firstTrip[day] = c.Time.Sub(start).Hours() - float64(day*24)
				}
			case smartcartest.ChangeSleep:
				if idle := c.Time.Sub(lastActive); !lastActive.IsZero() && (idle < 15*time.Minute || idle > 30*time.Minute) {
					t.Errorf("%s fell asleep %v after it last did something", v.ID, idle)
				}
			}
			if c.Kind != smartcartest.ChangeSleep && c.Kind != smartcartest.ChangeWake && c.Kind != smartcartest.ChangeTripStart {
				lastActive = c.Time
			}
			if c.Kind == smartcartest.ChangeTripStart {
				lastActive = time.Time{}
			}
		}
		total := 0
		for _, n := range tripsOn {
			total += n
		}
		switch v.Persona {
		case smartcartest.Fleet:
			if perDay := float64(total) / 20; perDay < 10 {
				t.Errorf("fleet %s: %d trips in four weeks", v.ID, total)
			}
		case smartcartest.Occasional:
			if len(tripsOn) > 21 || total < 4 {
				t.Errorf("occasional %s: trips on %d days of 28, %d in all", v.ID, len(tripsOn), total)
			}
		case smartcartest.Commuter:
			if total < 30 {
				t.Errorf("commuter %s: %d trips in four weeks", v.ID, total)
			}
		}
		if v.Persona == smartcartest.Commuter && v.Kind == smartcartest.BEV {
			var hours []float64
			for _, h := range firstTrip {
				hours = append(hours, h)
			}
			slices.Sort(hours)
			// Half the days' first trips fall in an hour and a half: the commute.
			best := math.Inf(1)
			for i := 0; i+len(hours)/2 < len(hours); i++ {
				best = min(best, hours[i+len(hours)/2]-hours[i])
			}
			if best > 1.5 {
				t.Errorf("commuter %s: half its first trips spread over %.1f h: %v", v.ID, best, hours)
			}
		}
	}
}

// TestServer_ChargeEndsAtLimit: a home charge that is not cut short by an
// unplug ends with the battery at the limit, and the time to complete the
// car reports is within 10% of the truth.
func TestServer_ChargeEndsAtLimit(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithVehicles(10), smartcartest.WithoutLimits())
	s.Connect(nil, nil)
	user := s.Users()[0]
	start := clock.Now()
	checked := 0
	all := journals(s, start, start.Add(10*24*time.Hour))
	for i, e := range all {
		if e.Kind != smartcartest.ChangeChargeStart || e.vehicle.Kind != smartcartest.BEV {
			continue
		}
		var stop *journalEntry
		for j := i + 1; j < len(all); j++ {
			if all[j].vehicle.ID == e.vehicle.ID && all[j].Kind == smartcartest.ChangeChargeStop {
				stop = &all[j]
				break
			}
		}
		if stop == nil || stop.Time.Sub(e.Time) < 30*time.Minute || !stop.Time.After(clock.Now()) {
			continue
		}
		clock.Advance(e.Time.Add(10 * time.Minute).Sub(clock.Now()))
		_, minutes := signalOf(t, s, s.AppToken(), user, e.vehicle.ID, "charge-timetocomplete").scalar(t)
		truth := stop.Time.Sub(clock.Now()).Minutes()
		clock.Advance(stop.Time.Add(time.Second).Sub(clock.Now()))
		st, _ := s.VehicleState(e.vehicle.ID)
		unplugged := !st.PluggedIn
		if !unplugged {
			if math.Abs(st.BatteryPercent-st.ChargeLimit) > 1e-6 || st.ChargeState != "FULLY_CHARGED" {
				t.Errorf("%s charge stopped at %v with the battery at %v, limit %v, %s", e.vehicle.ID, stop.Time,
					st.BatteryPercent, st.ChargeLimit, st.ChargeState)
			}
			if math.Abs(minutes-truth) > 0.1*truth+1 {
				t.Errorf("%s: time to complete %v min, %v in truth", e.vehicle.ID, minutes, truth)
			}
			checked++
		}
	}
	if checked < 3 {
		t.Errorf("only %d complete home charges in 10 days of 10 vehicles", checked)
	}
}

// TestServer_Sleep: a sleeping vehicle says so, and its data, values and
// oemUpdatedAt alike, stays as it was when it fell asleep until it wakes.
func TestServer_Sleep(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithoutLimits())
	s.Connect(nil, nil)
	user := s.Users()[0]
	v := firstOfKind(t, s, smartcartest.ICE)
	var slept, woke time.Time
	for _, c := range s.StateChanges(v.ID, clock.Now(), clock.Now().Add(7*24*time.Hour)) {
		if c.Kind == smartcartest.ChangeSleep {
			slept = c.Time
		}
		if c.Kind == smartcartest.ChangeWake && !slept.IsZero() && c.Time.Sub(slept) >= 2*time.Hour {
			woke = c.Time
			break
		}
	}
	if woke.IsZero() {
		t.Fatal("no sleep of two hours in a week")
	}
	read := func() map[string]signalDoc {
		sig, _ := allSignals(t, s, s.AppToken(), user, v.ID)
		return sig
	}
	clock.Advance(slept.Add(10 * time.Minute).Sub(clock.Now()))
	a := read()
	clock.Advance(woke.Add(-10 * time.Minute).Sub(clock.Now()))
	b := read()
	var asleep bool
	b["connectivitystatus-isasleep"].value(t, &asleep)
	if !asleep {
		t.Error("connectivitystatus-isasleep is false while asleep")
	}
	for code, sa := range a {
		sb := b[code]
		if sa.Meta.OEMUpdatedAt > slept.UnixMilli() || sb.Meta.OEMUpdatedAt != sa.Meta.OEMUpdatedAt ||
			string(sa.Attributes.Body) != string(sb.Attributes.Body) {
			t.Errorf("%s asleep: %s@%d then %s@%d, want frozen at or before %d", code, sa.Attributes.Body,
				sa.Meta.OEMUpdatedAt, sb.Attributes.Body, sb.Meta.OEMUpdatedAt, slept.UnixMilli())
		}
	}
	clock.Advance(woke.Add(3 * time.Minute).Sub(clock.Now()))
	c := read()
	c["connectivitystatus-isasleep"].value(t, &asleep)
	if asleep || c["wheel-tires"].Meta.OEMUpdatedAt <= slept.UnixMilli() {
		t.Errorf("after waking: asleep %v, tires updated at %d", asleep, c["wheel-tires"].Meta.OEMUpdatedAt)
	}
}

// TestServer_CommandsInJournal: a charge stopped and restarted by commands
// is in the journal at the commands' times, and the vehicle goes on with
// its day after.
func TestServer_CommandsInJournal(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithoutLimits())
	v := firstOfKind(t, s, smartcartest.BEV)
	_, end := driveThenPark(t, s, v.ID, clock.Now(), time.Minute, 2*time.Hour)
	clock.Advance(end.Add(time.Minute).Sub(clock.Now()))
	tok := s.Connect(nil, nil)
	s.SetPlugged(v.ID, true)
	api(t, s, "POST", tok.AccessToken, vehiclePath(v.ID, "/charge/limit"), `{"limit":1}`)
	plugged := clock.Now()
	clock.Advance(10 * time.Minute)
	stopped := clock.Now()
	if r := api(t, s, "POST", tok.AccessToken, vehiclePath(v.ID, "/charge"), map[string]string{"action": "STOP"}); r.status != 200 {
		t.Fatalf("STOP: HTTP %d %s", r.status, r.body)
	}
	got := s.StateChanges(v.ID, end, stopped.Add(time.Second))
	var kinds []smartcartest.ChangeKind
	for _, c := range got {
		kinds = append(kinds, c.Kind)
	}
	want := []smartcartest.ChangeKind{smartcartest.ChangeTripEnd, smartcartest.ChangePlugIn,
		smartcartest.ChangeChargeStart, smartcartest.ChangeChargeStop}
	if !slices.Equal(kinds, want) || !got[1].Time.Equal(plugged) || !got[3].Time.Equal(stopped) {
		t.Fatalf("journal %v, want %v with the plug-in at %v and the stop at %v", got, want, plugged, stopped)
	}
	later := s.StateChanges(v.ID, stopped.Add(time.Second), stopped.Add(3*24*time.Hour))
	var unplug, trip bool
	for _, c := range later {
		unplug = unplug || c.Kind == smartcartest.ChangeUnplug
		trip = trip || (unplug && c.Kind == smartcartest.ChangeTripStart)
	}
	if !trip {
		t.Errorf("after the commands the vehicle never unplugged and drove on: %v", later)
	}
}
