package adaptive

import "time"

// Field says which of an Observation's values were in the data.
type Field uint16

// The fields of an Observation.
const (
	HasOdometer Field = 1 << iota
	HasLocation
	HasGear
	HasCharging
	HasPluggedIn
	HasAsleep
	HasOnline
	HasStateOfCharge
	HasChargeLimit
	HasChargeRate
	HasCapacity
	HasTimeToComplete
)

// chargeFields are the fields of a charge: a webhook that carries them
// tells the policy about charges, so it need not poll for them.
const chargeFields = HasCharging | HasPluggedIn

// Observation is what one poll or webhook showed of a vehicle. Only the
// fields in Has are read.
type Observation struct {
	// At is when the data was fetched (the poll's or the webhook's time).
	At time.Time
	// OEMUpdatedAt is the newest time the manufacturer updated any of the
	// values (zero: unknown).
	OEMUpdatedAt time.Time
	// MovedAt is when the odometer (else the location) last changed, by
	// its oemUpdatedAt: the end of the latest trip (zero: unknown).
	MovedAt time.Time
	// Unreachable is set when the vehicle answered VEHICLE_STATE:ASLEEP or
	// UNREACHABLE instead of data.
	Unreachable bool

	Has                 Field
	OdometerKm          float64
	Latitude, Longitude float64
	Gear                string // P, R, N or D
	Charging            bool
	PluggedIn           bool
	Asleep              bool // the vehicle says it sleeps
	Online              bool
	StateOfCharge       float64 // 0 to 1
	ChargeLimit         float64 // 0 to 1
	ChargeRateKW        float64
	CapacityKWh         float64
	TimeToComplete      time.Duration
}

// has reports whether every field of f is in the observation.
func (o *Observation) has(f Field) bool { return o.Has&f == f }
