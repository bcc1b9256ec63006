package smartcartest

import (
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// Kind is a vehicle's powertrain.
type Kind string

// The powertrains the simulator knows. A BEV has a battery and no fuel, an
// ICE vehicle fuel and no battery, a PHEV both (it drives on electricity
// first).
const (
	BEV  Kind = "BEV"
	PHEV Kind = "PHEV"
	ICE  Kind = "ICE"
)

// kindCycle is how WithVehicles mixes powertrains.
var kindCycle = []Kind{BEV, ICE, PHEV, BEV, ICE}

type model struct {
	make, model, wmi string
	year             int
}

var models = map[Kind][]model{
	BEV: {
		{"TESLA", "Model 3", "5YJ", 2021},
		{"NISSAN", "LEAF", "1N4", 2019},
		{"VOLKSWAGEN", "ID.4", "WVG", 2022},
		{"HYUNDAI", "IONIQ 5", "KM8", 2023},
	},
	PHEV: {
		{"TOYOTA", "RAV4 Prime", "JTM", 2022},
		{"BMW", "X5 xDrive45e", "5UX", 2021},
		{"VOLVO", "XC60 Recharge", "YV4", 2023},
	},
	ICE: {
		{"FORD", "F-150", "1FT", 2019},
		{"TOYOTA", "Camry", "4T1", 2020},
		{"HONDA", "Civic", "19X", 2018},
	},
}

// Vehicle describes a simulated vehicle.
type Vehicle struct {
	ID      string  `json:"id"`
	VIN     string  `json:"vin"`
	Make    string  `json:"make"`
	Model   string  `json:"model"`
	Year    int     `json:"year"`
	Kind    Kind    `json:"kind"`
	Persona Persona `json:"persona"`
	UserID  string  `json:"userId"`
}

// State is a vehicle's simulated state, in metric units.
type State struct {
	Time           time.Time `json:"time"` // simulated time of the state
	Driving        bool      `json:"driving"`
	Asleep         bool      `json:"asleep"` // its data is frozen since it fell asleep
	OdometerKm     float64   `json:"odometerKm"`
	Latitude       float64   `json:"latitude"`
	Longitude      float64   `json:"longitude"`
	BatteryPercent float64   `json:"batteryPercent"` // fraction 0-1; 0 for ICE
	BatteryRangeKm float64   `json:"batteryRangeKm"`
	FuelPercent    float64   `json:"fuelPercent"` // fraction 0-1; 0 for BEV
	FuelLitres     float64   `json:"fuelLitres"`
	FuelRangeKm    float64   `json:"fuelRangeKm"`
	PluggedIn      bool      `json:"pluggedIn"`
	ChargeState    string    `json:"chargeState"`
	ChargeLimit    float64   `json:"chargeLimit"`
	Locked         bool      `json:"locked"`
	Destination    []float64 `json:"destination,omitempty"` // last destination sent: lat, lon
}

type vehicle struct {
	Vehicle
	index       int
	h           habits
	odo0        float64       // km when its timeline begins
	lag         time.Duration // how old the data the OEM reports is
	tires       [4]float64    // kPa
	oilInterval float64       // km between oil services
	lastService float64       // odometer of the last oil service before start
	alert       bool          // has a diagnostic alert

	mu      sync.Mutex
	tl      timeline
	pending []*pendingCommand // v3 commands that complete later, by time

	lim vehicleLimiter
}

func (v *vehicle) capable(k kinds) bool { return k == 0 || k&kindBit(v.Kind) != 0 }

// read returns the state at simulated second t.
func (v *vehicle) read(t float64) simState {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.settle(t)
	return v.stateAt(t)
}

// change applies f to the state at t and, unless it fails, makes the result
// the state from t on: the vehicle wakes and its timeline goes on from there.
func (v *vehicle) change(t float64, f func(*simState) *apiError) *apiError {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.settle(t)
	return v.changeLocked(t, f)
}

// changeLocked is change for a caller that holds v.mu.
func (v *vehicle) changeLocked(t float64, f func(*simState) *apiError) *apiError {
	st := v.stateAt(t)
	before := st
	if err := f(&st); err != nil {
		return err
	}
	v.cut(t)
	st.n++
	v.wake(&st)
	switch {
	case st.plugged && !before.plugged:
		v.record(&st, ChangePlugIn)
	case !st.plugged && before.plugged:
		if st.charging {
			st.charging, st.battery = false, st.t
			v.record(&st, ChangeChargeStop)
		}
		v.record(&st, ChangeUnplug)
	}
	v.resume(st)
	return nil
}

// newVehicle makes vehicle number index, living from simulated second t:
// everything about it comes from the seed and the index, so it does not
// depend on the order of other calls. Its timeline starts at local midnight
// the day before t, so at t it is in the middle of its life.
func newVehicle(seed int64, index int, kind Kind, userID string, t float64) *vehicle {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed0000+uint64(index)))
	if _, ok := models[kind]; !ok {
		kind = BEV
	}
	m := models[kind][rng.IntN(len(models[kind]))]
	v := &vehicle{
		Vehicle: Vehicle{
			ID:     formatUUID(rng.Uint64(), rng.Uint64()),
			VIN:    makeVIN(rng, m.wmi),
			Make:   m.make,
			Model:  m.model,
			Year:   m.year,
			Kind:   kind,
			UserID: userID,
		},
		index:       index,
		lag:         time.Duration(rng.IntN(120)) * time.Second,
		oilInterval: 15000,
		alert:       index%4 == 2,
	}
	v.h = newHabits(rng, index, kind)
	v.Persona = v.h.persona
	v.odo0 = 3000 + rng.Float64()*87000
	base := 220 + rng.Float64()*30
	for i := range v.tires {
		v.tires[i] = base + (rng.Float64()-0.5)*10
	}
	v.lastService = v.odo0 - rng.Float64()*v.oilInterval
	begin := float64(v.h.dayOf(t)-1)*secondsInDay - v.h.tz
	st := simState{t: begin, pos: v.h.home, place: atHome, limit: v.h.limit, locked: true, asleep: true,
		plugAt: inf, refuelAt: inf, switchAt: inf, arriveAt: inf, departAt: inf}
	st.since, st.moved, st.battery, st.event, st.slept, st.idle = begin, begin, begin, begin, begin, begin
	if kind != ICE {
		st.soc = 0.4 + rng.Float64()*0.5
		st.plugged = st.soc < v.h.plugBelow
	}
	if kind != BEV {
		st.fuel = 0.3 + rng.Float64()*0.6
	}
	v.begin(st)
	return v
}

const vinChars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"

func makeVIN(rng *rand.Rand, wmi string) string {
	b := []byte(wmi)
	for len(b) < 17 {
		b = append(b, vinChars[rng.IntN(len(vinChars))])
	}
	return string(b)
}

// addVehicle creates the next vehicle; the caller holds s.mu.
func (s *Server) addVehicle(kind Kind, userID string, t float64) *vehicle {
	v := newVehicle(s.cfg.seed, len(s.order), kind, userID, t)
	v.lim.init(s.cfg, s.clock())
	s.vehicles[v.ID] = v
	s.order = append(s.order, v)
	return v
}

// NewVehicle adds a vehicle of the given kind (BEV, PHEV or ICE; anything
// else gives a BEV) owned by the first user and returns it. It is not in any
// existing grant.
func (s *Server) NewVehicle(kind Kind) Vehicle {
	now := s.clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addVehicle(kind, s.users[0], s.simSeconds(now)).Vehicle
}

// VehicleIDs returns the ids of all vehicles in creation order.
func (s *Server) VehicleIDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, len(s.order))
	for i, v := range s.order {
		ids[i] = v.ID
	}
	return ids
}

// Vehicles returns all vehicles in creation order.
func (s *Server) Vehicles() []Vehicle {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Vehicle, len(s.order))
	for i, v := range s.order {
		out[i] = v.Vehicle
	}
	return out
}

// Users returns the ids of the simulated users.
func (s *Server) Users() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]string(nil), s.users...)
}

// userVehicles returns the ids of the vehicles userID owns; the caller holds s.mu.
func (s *Server) userVehicles(userID string) []string {
	var ids []string
	for _, v := range s.order {
		if v.UserID == userID {
			ids = append(ids, v.ID)
		}
	}
	return ids
}

func (s *Server) vehicle(id string) *vehicle {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.vehicles[id]
}

// VehicleState returns the current simulated state of vehicle id.
func (s *Server) VehicleState(id string) (State, bool) {
	v := s.vehicle(id)
	if v == nil {
		return State{}, false
	}
	now := s.clock()
	st := v.read(s.simSeconds(now))
	return v.state(&st, s.simTime(now)), true
}

func (v *vehicle) state(st *simState, at time.Time) State {
	out := State{
		Time:        at,
		Driving:     st.driving,
		Asleep:      st.asleep,
		OdometerKm:  v.odometer(st),
		Latitude:    st.pos[0],
		Longitude:   st.pos[1],
		PluggedIn:   st.plugged,
		ChargeState: chargeState(v.Kind, st),
		ChargeLimit: st.limit,
		Locked:      st.locked,
	}
	if v.Kind != ICE {
		out.BatteryPercent = st.soc
		out.BatteryRangeKm = v.batteryRange(st)
	}
	if v.Kind != BEV {
		out.FuelPercent = st.fuel
		out.FuelLitres = st.fuel * v.h.tank
		out.FuelRangeKm = v.fuelRange(st)
	}
	if st.hasDest {
		out.Destination = []float64{st.destination[0], st.destination[1]}
	}
	return out
}

func (v *vehicle) odometer(st *simState) float64 { return v.odo0 + st.dist }

func (v *vehicle) batteryRange(st *simState) float64 {
	return st.soc * v.h.capacity / v.h.elecCons
}

func (v *vehicle) fuelRange(st *simState) float64 {
	return st.fuel * v.h.tank / v.h.fuelCons
}

// SetPlugged plugs an EV in (it charges at once, below its limit, whatever
// its charge timer says) or unplugs it, until it next drives away. It
// reports false for an unknown vehicle, an ICE vehicle or one that is
// driving.
func (s *Server) SetPlugged(id string, plugged bool) bool {
	v := s.vehicle(id)
	if v == nil || v.Kind == ICE {
		return false
	}
	ok := true
	_ = v.change(s.simSeconds(s.clock()), func(st *simState) *apiError {
		if st.driving {
			ok = false
			return errNoChange
		}
		st.plugged, st.chargeStopped, st.forceCharge, st.plugAt = plugged, false, plugged, inf
		return nil
	})
	return ok
}

// errNoChange makes change keep the state as it was.
var errNoChange = newError("VEHICLE_STATE", "")

// kinds is a set of powertrains.
type kinds uint8

func kindBit(k Kind) kinds {
	switch k {
	case BEV:
		return 1
	case PHEV:
		return 2
	case ICE:
		return 4
	}
	return 0
}

var (
	electric = kindBit(BEV) | kindBit(PHEV)
	burning  = kindBit(ICE) | kindBit(PHEV)
)

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
