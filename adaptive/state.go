package adaptive

// State is what a vehicle is doing, as its latest data shows.
type State uint8

// The states, from the most to the least active.
const (
	Unknown   State = iota // no data yet
	Driving                // gear not P, or the odometer or location moved
	Charging               // charging
	PluggedIn              // the cable is in, not charging (full, or waiting for a timer)
	Parked                 // parked, awake, not plugged in
	Asleep                 // asleep or unreachable: its data does not move
)

var states = []State{Driving, Charging, PluggedIn, Parked, Asleep}

var stateNames = [...]string{"unknown", "driving", "charging", "plugged_in", "parked", "asleep"}

// String is the state's name as the configuration spells it: driving,
// charging, plugged_in, parked, asleep.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}
