package events

import "strings"

// Signal names one kind of vehicle telemetry, e.g. odometer. It is the last
// token of an event subject and part of the event type.
type Signal string

// The signals an event can carry.
const (
	SignalInfo            Signal = "info"
	SignalVIN             Signal = "vin"
	SignalOdometer        Signal = "odometer"
	SignalLocation        Signal = "location"
	SignalBattery         Signal = "battery"
	SignalBatteryCapacity Signal = "battery_capacity"
	SignalCharge          Signal = "charge"
	SignalChargeLimit     Signal = "charge_limit"
	SignalFuel            Signal = "fuel"
	SignalTirePressure    Signal = "tire_pressure"
	SignalEngineOil       Signal = "engine_oil"
	SignalLockStatus      Signal = "lock_status"
	SignalDiagnostics     Signal = "diagnostics"
	// SignalConnectivity is whether the vehicle is online and asleep (API v3).
	SignalConnectivity Signal = "connectivity"
	// SignalDoors and SignalWindows are the open and lock state of each door
	// and window (API v3).
	SignalDoors   Signal = "doors"
	SignalWindows Signal = "windows"
	// SignalGeneric carries any API v3 signal without a normalized type
	// (smartcar.vehicle.signal.v1), as Smartcar sent it. Its events go to
	// <prefix>.vehicles.<vehicle_id>.signals.<code>: see GenericSubject.
	SignalGeneric Signal = "signal"
	// SignalError reports a path that failed.
	SignalError Signal = "error"
	// SignalStatus reports a change of the vehicle's polling status.
	SignalStatus Signal = "status"
)

var allSignals = []Signal{
	SignalInfo, SignalVIN, SignalOdometer, SignalLocation, SignalBattery,
	SignalBatteryCapacity, SignalCharge, SignalChargeLimit, SignalFuel,
	SignalTirePressure, SignalEngineOil, SignalLockStatus, SignalDiagnostics,
	SignalConnectivity, SignalDoors, SignalWindows, SignalGeneric,
	SignalError, SignalStatus,
}

// Signals returns every known signal, in a stable order.
func Signals() []Signal {
	return append([]Signal(nil), allSignals...)
}

// Valid reports whether s is a known signal.
func (s Signal) Valid() bool {
	for _, k := range allSignals {
		if s == k {
			return true
		}
	}
	return false
}

const (
	typePrefix = "smartcar.vehicle."
	typeSuffix = ".v1"
)

// Type returns the CloudEvents type of s: smartcar.vehicle.<signal>.v1.
func (s Signal) Type() string { return typePrefix + string(s) + typeSuffix }

// SignalFromType returns the signal of a CloudEvents type made by Type.
func SignalFromType(typ string) (Signal, bool) {
	rest, ok := strings.CutPrefix(typ, typePrefix)
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, typeSuffix)
	if !ok {
		return "", false
	}
	s := Signal(name)
	return s, s.Valid()
}
