package smartcartest_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// readings fetches the same endpoints from a server at the same times.
func readings(t *testing.T, s *smartcartest.Server, clock *fakeClock) []string {
	t.Helper()
	tok := s.Connect(nil, nil)
	var out []string
	for range 6 {
		for _, v := range s.VehicleIDs() {
			for _, p := range []string{"/odometer", "/location", "/", "/vin", "/tires/pressure", "/security"} {
				out = append(out, string(get(t, s, tok.AccessToken, vehiclePath(v, p)).body))
			}
		}
		clock.Advance(47 * time.Minute)
	}
	return out
}

func TestServer_Deterministic(t *testing.T) {
	run := func(seed int64) (*smartcartest.Server, []string) {
		clock := newClock()
		s := newServer(t, smartcartest.WithSeed(seed), smartcartest.WithClock(clock.Now), smartcartest.WithoutLimits(),
			smartcartest.WithVehicles(5))
		return s, readings(t, s, clock)
	}
	a, ra := run(42)
	b, rb := run(42)
	c, rc := run(43)
	creds := func(s *smartcartest.Server) []string {
		return []string{s.ClientID, s.ClientSecret, s.ManagementToken}
	}
	if diff := cmp.Diff(creds(a), creds(b)); diff != "" {
		t.Errorf("same seed, different credentials (-a +b):\n%s", diff)
	}
	if diff := cmp.Diff(a.Vehicles(), b.Vehicles()); diff != "" {
		t.Errorf("same seed, different vehicles (-a +b):\n%s", diff)
	}
	if diff := cmp.Diff(ra, rb); diff != "" {
		t.Errorf("same seed, different responses (-a +b):\n%s", diff)
	}
	if cmp.Equal(creds(a), creds(c)) || cmp.Equal(a.VehicleIDs(), c.VehicleIDs()) || cmp.Equal(ra, rc) {
		t.Error("different seeds gave the same simulator")
	}
	if a.NewVehicle(smartcartest.ICE) != b.NewVehicle(smartcartest.ICE) {
		t.Error("same seed, different added vehicle")
	}
}

// TestServer_ReadPatternIndependent checks that how often a vehicle is read
// does not change its state.
func TestServer_ReadPatternIndependent(t *testing.T) {
	clockA, clockB := newClock(), newClock()
	a := newServer(t, smartcartest.WithClock(clockA.Now))
	b := newServer(t, smartcartest.WithClock(clockB.Now))
	for range 24 * 12 {
		clockA.Advance(5 * time.Minute)
		for _, id := range a.VehicleIDs() {
			a.VehicleState(id)
		}
	}
	clockB.Advance(24 * time.Hour)
	for _, id := range a.VehicleIDs() {
		sa, _ := a.VehicleState(id)
		sb, _ := b.VehicleState(id)
		if diff := cmp.Diff(sa, sb, cmp.Comparer(func(x, y float64) bool { return math.Abs(x-y) < 1e-6 })); diff != "" {
			t.Errorf("vehicle %s read often vs once (-often +once):\n%s", id, diff)
		}
	}
}

// TestServer_VehiclesEvolve samples a fleet every 10 minutes for four
// weeks: the values follow physics (odometers only grow, vehicles move only
// while driving, batteries gain only plugged in and never past the limit)
// and every kind of vehicle does what it can.
func TestServer_VehiclesEvolve(t *testing.T) {
	clock := newClock()
	s := newServer(t, smartcartest.WithClock(clock.Now), smartcartest.WithVehicles(15))
	history := map[string][]smartcartest.State{}
	for range 28 * 24 * 6 {
		for _, id := range s.VehicleIDs() {
			st, _ := s.VehicleState(id)
			history[id] = append(history[id], st)
		}
		clock.Advance(10 * time.Minute)
	}
	seen := map[smartcartest.Kind]map[string]bool{}
	for _, v := range s.Vehicles() {
		h := history[v.ID]
		did := map[string]bool{}
		for i := 1; i < len(h); i++ {
			prev, cur := h[i-1], h[i]
			if cur.OdometerKm < prev.OdometerKm {
				t.Fatalf("%s odometer went back: %v → %v", v.ID, prev.OdometerKm, cur.OdometerKm)
			}
			if cur.OdometerKm > prev.OdometerKm {
				did["drove"] = true
			} else if cur.Latitude != prev.Latitude || cur.Longitude != prev.Longitude {
				t.Errorf("%s moved without driving", v.ID)
			}
			if cur.Driving && prev.Driving && cur.BatteryPercent < prev.BatteryPercent {
				did["drained"] = true
			}
			if !cur.Driving && !prev.Driving && cur.BatteryPercent > prev.BatteryPercent {
				did["charged"] = true
				if !prev.PluggedIn && !cur.PluggedIn {
					t.Errorf("%s charged while unplugged", v.ID)
				}
			}
			if cur.FuelPercent < prev.FuelPercent {
				did["burned"] = true
			}
			if cur.FuelPercent > prev.FuelPercent {
				did["refuelled"] = true
			}
			if cur.BatteryPercent > cur.ChargeLimit+1e-9 && cur.BatteryPercent > prev.BatteryPercent {
				t.Errorf("%s charged past its limit %v: %v", v.ID, cur.ChargeLimit, cur.BatteryPercent)
			}
			if cur.Asleep {
				did["slept"] = true
				if cur.Driving || cur.ChargeState == "CHARGING" {
					t.Errorf("%s asleep while driving or charging: %+v", v.ID, cur)
				}
			}
		}
		if !did["drove"] || !did["slept"] {
			t.Errorf("%s (%s %s) in four weeks: %v", v.ID, v.Kind, v.Persona, did)
		}
		if (v.Kind == smartcartest.BEV && did["burned"]) || (v.Kind == smartcartest.ICE && (did["drained"] || did["charged"])) {
			t.Errorf("%s %s: %v", v.Kind, v.ID, did)
		}
		if seen[v.Kind] == nil {
			seen[v.Kind] = map[string]bool{}
		}
		for k := range did {
			seen[v.Kind][k] = true
		}
		last := h[len(h)-1]
		if km := last.OdometerKm - h[0].OdometerKm; km > 28*400 {
			t.Errorf("%s drove %v km in four weeks", v.ID, km)
		}
	}
	want := map[smartcartest.Kind][]string{
		smartcartest.BEV:  {"drained", "charged"},
		smartcartest.PHEV: {"drained", "charged", "burned"},
		smartcartest.ICE:  {"burned", "refuelled"},
	}
	for kind, things := range want {
		for _, thing := range things {
			if !seen[kind][thing] {
				t.Errorf("no %s %s in four weeks (%v)", kind, thing, seen[kind])
			}
		}
	}
}

func TestServer_TimeScale(t *testing.T) {
	clockA, clockB := newClock(), newClock()
	slow := newServer(t, smartcartest.WithClock(clockA.Now))
	fast := newServer(t, smartcartest.WithClock(clockB.Now), smartcartest.WithTimeScale(60))
	clockA.Advance(6 * time.Hour)
	clockB.Advance(6 * time.Minute)
	for _, id := range slow.VehicleIDs() {
		a, _ := slow.VehicleState(id)
		b, _ := fast.VehicleState(id)
		if math.Abs(a.OdometerKm-b.OdometerKm) > 1e-6 || !a.Time.Equal(b.Time) {
			t.Errorf("%s: 6h at scale 1 gives %v km at %v, 6min at scale 60 gives %v km at %v",
				id, a.OdometerKm, a.Time, b.OdometerKm, b.Time)
		}
	}
}
