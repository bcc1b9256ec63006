package events

import (
	"encoding/json"
	"time"
)

// Data is implemented by every normalized data type; New uses it to check
// that the data matches the event's signal.
type Data interface {
	Signal() Signal
}

// InfoData is the vehicle's attributes (Smartcar path "/").
type InfoData struct {
	Make  string `json:"make"`
	Model string `json:"model"`
	Year  int    `json:"year"`
}

// VINData is the vehicle identification number ("/vin").
type VINData struct {
	VIN string `json:"vin"`
}

// OdometerData is the distance driven ("/odometer").
type OdometerData struct {
	DistanceKm float64 `json:"distance_km"`
}

// LocationData is the vehicle's position in degrees ("/location").
type LocationData struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

// BatteryData is the state of an EV battery ("/battery"). PercentRemaining
// is a fraction in 0..1, not a percentage (Smartcar's name is kept).
type BatteryData struct {
	PercentRemaining float64 `json:"percent_remaining"`
	RangeKm          float64 `json:"range_km"`
}

// BatteryCapacityData covers both capacity paths: "/battery/capacity" sets
// CapacityKWh, "/battery/nominal_capacity" sets NominalKWh and Source (both
// nil/empty while the capacity is undetermined) and Available. Smartcar's
// selection URL carries a token and is never copied here.
type BatteryCapacityData struct {
	CapacityKWh *float64         `json:"capacity_kwh,omitempty"`
	NominalKWh  *float64         `json:"nominal_kwh,omitempty"`
	Source      string           `json:"source,omitempty"` // SMARTCAR or USER_SELECTED
	Available   []CapacityOption `json:"available,omitempty"`
}

// CapacityOption is one battery capacity the owner may select.
type CapacityOption struct {
	CapacityKWh float64 `json:"capacity_kwh"`
	Description string  `json:"description,omitempty"` // ENGINE_TYPE:TRIM
}

// Charge states of ChargeData.State.
const (
	ChargeStateCharging     = "CHARGING"
	ChargeStateFullyCharged = "FULLY_CHARGED"
	ChargeStateNotCharging  = "NOT_CHARGING"
)

// ChargeData is the charging state ("/charge").
type ChargeData struct {
	IsPluggedIn bool   `json:"is_plugged_in"`
	State       string `json:"state"`
}

// ChargeLimitData is the charge limit as a fraction in 0..1 ("/charge/limit").
type ChargeLimitData struct {
	Limit float64 `json:"limit"`
}

// FuelData is the fuel tank state ("/fuel"). PercentRemaining is a fraction
// in 0..1.
type FuelData struct {
	AmountRemainingL float64 `json:"amount_remaining_l"`
	PercentRemaining float64 `json:"percent_remaining"`
	RangeKm          float64 `json:"range_km"`
}

// TirePressureData is the pressure of each tire in kPa ("/tires/pressure").
type TirePressureData struct {
	FrontLeftKPa  float64 `json:"front_left_kpa"`
	FrontRightKPa float64 `json:"front_right_kpa"`
	BackLeftKPa   float64 `json:"back_left_kpa"`
	BackRightKPa  float64 `json:"back_right_kpa"`
}

// EngineOilData is the remaining oil life as a fraction in 0..1 ("/engine/oil").
type EngineOilData struct {
	LifeRemaining float64 `json:"life_remaining"`
}

// Opening statuses of LockStatusData items.
const (
	OpeningOpen     = "OPEN"
	OpeningClosed   = "CLOSED"
	OpeningLocked   = "LOCKED"
	OpeningUnlocked = "UNLOCKED"
	OpeningUnknown  = "UNKNOWN"
)

// LockStatusData is the lock state ("/security"). The lists may be empty
// when the vehicle reports only part of it.
type LockStatusData struct {
	IsLocked     bool      `json:"is_locked"`
	Doors        []Opening `json:"doors,omitempty"`
	Windows      []Opening `json:"windows,omitempty"`
	Sunroof      []Opening `json:"sunroof,omitempty"`
	Storage      []Opening `json:"storage,omitempty"`
	ChargingPort []Opening `json:"charging_port,omitempty"`
}

// Opening is one door, window, sunroof, storage or charging port, e.g.
// {frontLeft, LOCKED}.
type Opening struct {
	Type   string `json:"type"`
	Status string `json:"status"`
}

// DiagnosticsData covers both diagnostics paths:
// "/diagnostics/system_status" sets Systems, "/diagnostics/dtcs" ActiveCodes.
// A nil list is omitted; an empty one is kept ("active_codes": [] says the
// vehicle has no trouble codes, and the schema needs one of the two lists).
type DiagnosticsData struct {
	Systems     []DiagnosticSystem `json:"systems,omitzero"`
	ActiveCodes []TroubleCode      `json:"active_codes,omitzero"`
}

// DiagnosticSystem is the status (OK or ALERT) of one vehicle system.
type DiagnosticSystem struct {
	SystemID    string `json:"system_id"`
	Status      string `json:"status"`
	Description string `json:"description,omitempty"`
}

// TroubleCode is one active diagnostic trouble code.
type TroubleCode struct {
	Code      string     `json:"code"`
	Timestamp *time.Time `json:"timestamp,omitempty"`
}

// ConnectivityData is whether the vehicle is online (it can be reached) and,
// when it says, whether it is asleep (Smartcar API v3 connectivity status).
type ConnectivityData struct {
	IsOnline bool  `json:"is_online"`
	IsAsleep *bool `json:"is_asleep,omitempty"`
}

// DoorsData is the state of each door (Smartcar API v3 closure-doors): a
// grid of RowCount rows (row 0 is the front) and ColumnCount columns
// (column 0 is the driver's left).
type DoorsData struct {
	Doors       []Closure `json:"doors"`
	RowCount    int       `json:"row_count"`
	ColumnCount int       `json:"column_count"`
}

// WindowsData is the state of each window (Smartcar API v3
// closure-windows), laid out like DoorsData.
type WindowsData struct {
	Windows     []Closure `json:"windows"`
	RowCount    int       `json:"row_count"`
	ColumnCount int       `json:"column_count"`
}

// Closure is one door or window: its place in the grid, whether it is open
// and, for doors that report it, whether it is locked.
type Closure struct {
	Row      int   `json:"row"`
	Column   int   `json:"column"`
	IsOpen   bool  `json:"is_open"`
	IsLocked *bool `json:"is_locked,omitempty"`
}

// SignalData is an API v3 signal that has no normalized type, as Smartcar
// sent it: its code ("transmission-gearstate", also the last token of the
// event's subject), group and name, its body (any JSON, units as sent) and
// when Smartcar retrieved it and the manufacturer last updated it.
type SignalData struct {
	Code         string          `json:"code"`
	Group        string          `json:"group,omitempty"`
	Name         string          `json:"name,omitempty"`
	Body         json.RawMessage `json:"body"`
	RetrievedAt  time.Time       `json:"retrieved_at,omitzero"`
	OEMUpdatedAt time.Time       `json:"oem_updated_at,omitzero"`
}

// ErrorData reports a path that failed: an API v2 path, or for an API v3
// signal the v2 path of the daemon signal when it has one, else
// /signals/<signal or code> (/signals: the whole call of a job that asked
// for every signal). StatusCode is the HTTP status of the
// item, 0 when there was no response (e.g. a timeout); Type and Code are
// Smartcar's error type and code (Type is required: use e.g. SDK_ERROR when
// there was no Smartcar error body); RetryAfterS is Retry-After in seconds.
type ErrorData struct {
	Path        string `json:"path"`
	StatusCode  int    `json:"status_code"`
	Type        string `json:"type"`
	Code        string `json:"code,omitempty"`
	Description string `json:"description,omitempty"`
	RequestID   string `json:"request_id,omitempty"`
	RetryAfterS int    `json:"retry_after_s,omitempty"`
}

// Status is a vehicle's polling status.
type Status string

// The polling statuses.
const (
	StatusConnected    Status = "connected"
	StatusNeedsReauth  Status = "needs_reauth"
	StatusRateLimited  Status = "rate_limited"
	StatusDisabled     Status = "disabled"
	StatusDisconnected Status = "disconnected"
	// StatusQuotaExhausted: the vehicle's billed calls for the month are
	// spent (430 BILLING:VEHICLE_REQUEST_LIMIT); it is held, and not
	// called, until the next billing month.
	StatusQuotaExhausted Status = "quota_exhausted"
)

// Statuses returns every status, in a stable order.
func Statuses() []Status {
	return []Status{StatusConnected, StatusNeedsReauth, StatusRateLimited, StatusDisabled, StatusDisconnected, StatusQuotaExhausted}
}

// StatusData reports a change of a vehicle's polling status. Reason says why
// in a few words (e.g. a Smartcar error type:code); it never holds secrets.
type StatusData struct {
	Status   Status `json:"status"`
	Reason   string `json:"reason"`
	Previous Status `json:"previous,omitempty"`
}

// Signal returns SignalInfo.
func (InfoData) Signal() Signal { return SignalInfo }

// Signal returns SignalVIN.
func (VINData) Signal() Signal { return SignalVIN }

// Signal returns SignalOdometer.
func (OdometerData) Signal() Signal { return SignalOdometer }

// Signal returns SignalLocation.
func (LocationData) Signal() Signal { return SignalLocation }

// Signal returns SignalBattery.
func (BatteryData) Signal() Signal { return SignalBattery }

// Signal returns SignalBatteryCapacity.
func (BatteryCapacityData) Signal() Signal { return SignalBatteryCapacity }

// Signal returns SignalCharge.
func (ChargeData) Signal() Signal { return SignalCharge }

// Signal returns SignalChargeLimit.
func (ChargeLimitData) Signal() Signal { return SignalChargeLimit }

// Signal returns SignalFuel.
func (FuelData) Signal() Signal { return SignalFuel }

// Signal returns SignalTirePressure.
func (TirePressureData) Signal() Signal { return SignalTirePressure }

// Signal returns SignalEngineOil.
func (EngineOilData) Signal() Signal { return SignalEngineOil }

// Signal returns SignalLockStatus.
func (LockStatusData) Signal() Signal { return SignalLockStatus }

// Signal returns SignalDiagnostics.
func (DiagnosticsData) Signal() Signal { return SignalDiagnostics }

// Signal returns SignalConnectivity.
func (ConnectivityData) Signal() Signal { return SignalConnectivity }

// Signal returns SignalDoors.
func (DoorsData) Signal() Signal { return SignalDoors }

// Signal returns SignalWindows.
func (WindowsData) Signal() Signal { return SignalWindows }

// Signal returns SignalGeneric.
func (SignalData) Signal() Signal { return SignalGeneric }

// Signal returns SignalError.
func (ErrorData) Signal() Signal { return SignalError }

// Signal returns SignalStatus.
func (StatusData) Signal() Signal { return SignalStatus }
