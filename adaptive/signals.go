package adaptive

import (
	"errors"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// FromSignals reads an Observation at at from API v3 signals: the items of
// a poll (smartcar.Signals.Items) or of a VEHICLE_STATE webhook
// (smartcar.WebhookEvent.Signals). A signal that failed with
// VEHICLE_STATE:ASLEEP or UNREACHABLE makes the observation Unreachable;
// other failed signals, and bodies that do not decode, are left out.
func FromSignals(signals []smartcar.Signal, at time.Time) Observation {
	o := Observation{At: at}
	for i := range signals {
		s := &signals[i]
		if s.Err != nil {
			if s.Err.Type == smartcar.TypeVehicleState && (s.Err.Code == "ASLEEP" || s.Err.Code == "UNREACHABLE") {
				o.Unreachable = true
			}
			continue
		}
		if !read(&o, s) {
			continue
		}
		if s.OEMUpdatedAt.After(o.OEMUpdatedAt) {
			o.OEMUpdatedAt = s.OEMUpdatedAt
		}
		switch s.Code {
		case "odometer-traveleddistance":
			o.MovedAt = s.OEMUpdatedAt
		case "location-preciselocation":
			if o.MovedAt.IsZero() {
				o.MovedAt = s.OEMUpdatedAt
			}
		}
	}
	return o
}

// FromError reads an Observation at at from a poll that failed: a
// VEHICLE_STATE:ASLEEP or UNREACHABLE answer is an Unreachable vehicle
// (reported true); any other error says nothing of the vehicle (false).
func FromError(err error, at time.Time) (Observation, bool) {
	var e *smartcar.Error
	if errors.As(err, &e) && e.Type == smartcar.TypeVehicleState && (e.Code == "ASLEEP" || e.Code == "UNREACHABLE") {
		return Observation{At: at, Unreachable: true}, true
	}
	return Observation{At: at}, false
}

// read sets the field of o that s carries and reports whether it did.
func read(o *Observation, s *smartcar.Signal) bool {
	scalar := func(conv func(smartcar.ScalarBody) (float64, error)) (float64, bool) {
		b, err := s.Scalar()
		if err != nil {
			return 0, false
		}
		if conv == nil {
			return b.Value, true
		}
		v, err := conv(b)
		return v, err == nil
	}
	flag := func(f Field, dst *bool) bool {
		v, err := s.Bool()
		if err != nil {
			return false
		}
		*dst, o.Has = v, o.Has|f
		return true
	}
	number := func(f Field, dst *float64, conv func(smartcar.ScalarBody) (float64, error)) bool {
		v, ok := scalar(conv)
		if ok {
			*dst, o.Has = v, o.Has|f
		}
		return ok
	}
	switch s.Code {
	case "odometer-traveleddistance":
		return number(HasOdometer, &o.OdometerKm, smartcar.ScalarBody.Kilometers)
	case "location-preciselocation":
		var b smartcar.LocationBody
		if s.Decode(&b) != nil {
			return false
		}
		o.Latitude, o.Longitude, o.Has = b.Latitude, b.Longitude, o.Has|HasLocation
		return true
	case "transmission-gearstate":
		g, err := s.Text()
		if err != nil {
			return false
		}
		o.Gear, o.Has = g, o.Has|HasGear
		return true
	case "charge-ischarging":
		return flag(HasCharging, &o.Charging)
	case "charge-detailedchargingstatus":
		st, err := s.Text()
		if err != nil {
			return false
		}
		o.Charging, o.Has = st == "CHARGING", o.Has|HasCharging
		return true
	case "charge-ischargingcableconnected":
		return flag(HasPluggedIn, &o.PluggedIn)
	case "connectivitystatus-isasleep":
		return flag(HasAsleep, &o.Asleep)
	case "connectivitystatus-isonline":
		return flag(HasOnline, &o.Online)
	case "tractionbattery-stateofcharge":
		return number(HasStateOfCharge, &o.StateOfCharge, smartcar.ScalarBody.Fraction)
	case "tractionbattery-nominalcapacity":
		return number(HasCapacity, &o.CapacityKWh, nil)
	case "charge-chargerate":
		return number(HasChargeRate, &o.ChargeRateKW, nil)
	case "charge-chargelimits":
		var b smartcar.ChargeLimitsBody
		if s.Decode(&b) != nil {
			return false
		}
		f, err := b.Fraction()
		if err != nil {
			return false
		}
		o.ChargeLimit, o.Has = f, o.Has|HasChargeLimit
		return true
	case "charge-timetocomplete":
		b, err := s.Scalar()
		if err != nil {
			return false
		}
		mult := time.Minute
		switch b.Unit {
		case "hours":
			mult = time.Hour
		case "seconds":
			mult = time.Second
		}
		o.TimeToComplete, o.Has = time.Duration(b.Value*float64(mult)), o.Has|HasTimeToComplete
		return true
	}
	// Signals the policy does not read still say how fresh the data is.
	return true
}
