package smartcartest

import (
	"sort"
	"time"
)

// ChangeKind is a kind of true state change of a simulated vehicle.
type ChangeKind string

// The state changes the simulator records.
const (
	ChangeTripStart   ChangeKind = "trip_start"   // starts driving (from home, a stop, a charger)
	ChangeTripEnd     ChangeKind = "trip_end"     // parks (at its destination, a charger, a fuel station)
	ChangePlugIn      ChangeKind = "plug_in"      // the charging cable is connected
	ChangeChargeStart ChangeKind = "charge_start" // charging starts
	ChangeChargeStop  ChangeKind = "charge_stop"  // charging stops: at the limit, by a command, unplugged
	ChangeUnplug      ChangeKind = "unplug"       // the charging cable is disconnected
	ChangeRefuel      ChangeKind = "refuel"       // the tank is filled
	ChangeSleep       ChangeKind = "sleep"        // falls asleep: its data stops updating
	ChangeWake        ChangeKind = "wake"         // wakes up (for a trip, a plug-in, a charge, a command)
)

// StateChange is one true change of a vehicle's state, when it happened.
type StateChange struct {
	// Time is the server clock's time of the change (what WithClock
	// returns then); Simulated is the simulated time (they differ with
	// WithTimeScale or WithStartTime).
	Time      time.Time  `json:"time"`
	Simulated time.Time  `json:"simulated"`
	Kind      ChangeKind `json:"kind"`
}

// StateChanges returns vehicleID's true state changes with from <= Time <
// to, in order (several may share a time: an unplug, say, then a trip
// start). It is the truth a test measures a poller against. Times after
// the server clock's now are the vehicle's plan so far: a command may still
// change them. It returns nil for an unknown vehicle.
func (s *Server) StateChanges(vehicleID string, from, to time.Time) []StateChange {
	v := s.vehicle(vehicleID)
	if v == nil {
		return nil
	}
	lo, hi := s.simSeconds(from), s.simSeconds(to)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.settle(s.simSeconds(s.clock()))
	v.extend(hi)
	j := v.tl.journal
	i := sort.Search(len(j), func(i int) bool { return j[i].t >= lo })
	var out []StateChange
	for ; i < len(j) && j[i].t < hi; i++ {
		out = append(out, StateChange{Time: s.clockAt(j[i].t), Simulated: unixTime(j[i].t), Kind: j[i].kind})
	}
	return out
}
