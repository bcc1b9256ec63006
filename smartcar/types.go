package smartcar

import (
	"encoding/json"
	"time"
)

// UnitSystem selects the units of a response: metric (the default) or imperial.
type UnitSystem string

// The unit systems Smartcar accepts in the SC-Unit-System header.
const (
	Metric   UnitSystem = "metric"
	Imperial UnitSystem = "imperial"
)

// Meta is the response metadata Smartcar sends as headers
// (https://smartcar.com/docs/api-reference/headers).
// Zero values mean the header was absent.
type Meta struct {
	RequestID  string
	DataAge    time.Time // SC-Data-Age: when the vehicle recorded the data
	FetchedAt  time.Time // SC-Fetched-At: when Smartcar fetched it from the OEM
	UnitSystem UnitSystem
}

// Paging selects a page of a list endpoint.
type Paging struct {
	Limit  int
	Offset int
}

// PageInfo is the paging block of a list response; Count is the total across pages.
type PageInfo struct {
	Count  int `json:"count"`
	Offset int `json:"offset"`
}

// Vehicles is the response of GET /vehicles.
type Vehicles struct {
	Paging   PageInfo `json:"paging"`
	Vehicles []string `json:"vehicles"`
	Meta     Meta     `json:"-"`
}

// User is the response of GET /user.
type User struct {
	ID   string `json:"id"`
	Meta Meta   `json:"-"`
}

// Info is a vehicle's attributes (GET /vehicles/{id}).
type Info struct {
	ID    string `json:"id"`
	Make  string `json:"make"`
	Model string `json:"model"`
	Year  int    `json:"year"`
	Meta  Meta   `json:"-"`
}

// VIN is the response of GET /vin.
type VIN struct {
	VIN  string `json:"vin"`
	Meta Meta   `json:"-"`
}

// Odometer is the response of GET /odometer; Distance is in km (metric) or miles.
type Odometer struct {
	Distance float64 `json:"distance"`
	Meta     Meta    `json:"-"`
}

// Location is the response of GET /location, in degrees.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Meta      Meta    `json:"-"`
}

// Battery is the response of GET /battery: PercentRemaining is a fraction
// (0-1), Range is in km or miles.
type Battery struct {
	PercentRemaining float64 `json:"percentRemaining"`
	Range            float64 `json:"range"`
	Meta             Meta    `json:"-"`
}

// BatteryCapacity is the response of GET /battery/capacity, in kWh.
type BatteryCapacity struct {
	Capacity float64 `json:"capacity"`
	Meta     Meta    `json:"-"`
}

// AvailableCapacity is one candidate of NominalCapacity.AvailableCapacities.
type AvailableCapacity struct {
	Capacity    float64 `json:"capacity"`
	Description *string `json:"description"`
}

// NominalCapacityValue is the chosen nominal capacity in kWh and its source
// (SMARTCAR or USER_SELECTED).
type NominalCapacityValue struct {
	Nominal float64 `json:"nominal"`
	Source  string  `json:"source"`
}

// NominalCapacity is the response of GET /battery/nominal_capacity. Capacity
// is nil when undetermined; URL then lets the owner choose.
type NominalCapacity struct {
	AvailableCapacities []AvailableCapacity   `json:"availableCapacities"`
	Capacity            *NominalCapacityValue `json:"capacity"`
	URL                 *string               `json:"url"`
	Meta                Meta                  `json:"-"`
}

// Charge states reported by GET /charge.
const (
	ChargeStateCharging     = "CHARGING"
	ChargeStateFullyCharged = "FULLY_CHARGED"
	ChargeStateNotCharging  = "NOT_CHARGING"
)

// Charge is the response of GET /charge.
type Charge struct {
	IsPluggedIn bool   `json:"isPluggedIn"`
	State       string `json:"state"`
	Meta        Meta   `json:"-"`
}

// ChargeLimit is the response of GET /charge/limit; Limit is a fraction (0-1).
type ChargeLimit struct {
	Limit float64 `json:"limit"`
	Meta  Meta    `json:"-"`
}

// Fuel is the response of GET /fuel: AmountRemaining in litres or US gallons,
// PercentRemaining a fraction, Range in km or miles.
type Fuel struct {
	AmountRemaining  float64 `json:"amountRemaining"`
	PercentRemaining float64 `json:"percentRemaining"`
	Range            float64 `json:"range"`
	Meta             Meta    `json:"-"`
}

// TirePressure is the response of GET /tires/pressure, in kPa or psi.
type TirePressure struct {
	FrontLeft  float64 `json:"frontLeft"`
	FrontRight float64 `json:"frontRight"`
	BackLeft   float64 `json:"backLeft"`
	BackRight  float64 `json:"backRight"`
	Meta       Meta    `json:"-"`
}

// EngineOil is the response of GET /engine/oil; LifeRemaining is a fraction.
type EngineOil struct {
	LifeRemaining float64 `json:"lifeRemaining"`
	Meta          Meta    `json:"-"`
}

// OpenStatus is the state of one door, window, sunroof, storage or charging port.
type OpenStatus struct {
	Type   string `json:"type"`
	Status string `json:"status"` // OPEN, CLOSED, UNKNOWN (LOCKED seen for doors)
}

// LockStatus is the response of GET /security.
type LockStatus struct {
	IsLocked     bool         `json:"isLocked"`
	Doors        []OpenStatus `json:"doors"`
	Windows      []OpenStatus `json:"windows"`
	Sunroof      []OpenStatus `json:"sunroof"`
	Storage      []OpenStatus `json:"storage"`
	ChargingPort []OpenStatus `json:"chargingPort"`
	Meta         Meta         `json:"-"`
}

// DiagnosticSystem is one system of DiagnosticSystemStatus.
type DiagnosticSystem struct {
	SystemID    string  `json:"systemId"`
	Status      string  `json:"status"` // OK or ALERT
	Description *string `json:"description"`
}

// DiagnosticSystemStatus is the response of GET /diagnostics/system_status.
type DiagnosticSystemStatus struct {
	Systems []DiagnosticSystem `json:"systems"`
	Meta    Meta               `json:"-"`
}

// TroubleCode is one active diagnostic trouble code.
type TroubleCode struct {
	Code      string     `json:"code"`
	Timestamp *time.Time `json:"timestamp"`
}

// DiagnosticTroubleCodes is the response of GET /diagnostics/dtcs.
type DiagnosticTroubleCodes struct {
	ActiveCodes []TroubleCode `json:"activeCodes"`
	Meta        Meta          `json:"-"`
}

// ActionResponse is the response of a command (lock, unlock, charge start or
// stop, set charge limit, send destination) and of disconnect and unsubscribe.
type ActionResponse struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Meta    Meta   `json:"-"`
}

// Permissions is the response of GET /permissions.
type Permissions struct {
	Permissions []string `json:"permissions"`
	Paging      PageInfo `json:"paging"`
	Meta        Meta     `json:"-"`
}

// ServiceTask is one task of a service record.
type ServiceTask struct {
	TaskID          FlexString `json:"taskId"` // a number or a string
	TaskDescription *string    `json:"taskDescription"`
}

// ServiceCost is the cost of a service record.
type ServiceCost struct {
	TotalCost *float64 `json:"totalCost"`
	Currency  *string  `json:"currency"`
}

// ServiceRecord is one entry of GET /service/history. Nearly every field may
// be null; ServiceDetails is kept raw because its shape varies (an object in
// some responses, a list of {type, value} in others).
type ServiceRecord struct {
	ServiceID        FlexString      `json:"serviceId"`
	ServiceDate      *time.Time      `json:"serviceDate"`
	OdometerDistance *float64        `json:"odometerDistance"`
	ServiceTasks     []ServiceTask   `json:"serviceTasks"`
	ServiceDetails   json.RawMessage `json:"serviceDetails"`
	ServiceCost      *ServiceCost    `json:"serviceCost"`
}

// ServiceHistory is the response of GET /service/history, a JSON array.
type ServiceHistory struct {
	Records []ServiceRecord
	Meta    Meta
}

// UnmarshalJSON decodes the top-level array of records.
func (s *ServiceHistory) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &s.Records) }

// WebhookSubscription is the response of POST /vehicles/{id}/webhooks/{webhookId}.
type WebhookSubscription struct {
	WebhookID string `json:"webhookId"`
	VehicleID string `json:"vehicleId"`
	Meta      Meta   `json:"-"`
}

// Capability is whether a vehicle supports one permission of a compatibility request.
type Capability struct {
	Permission string  `json:"permission"`
	Endpoint   string  `json:"endpoint"`
	Capable    bool    `json:"capable"`
	Reason     *string `json:"reason"` // VEHICLE_NOT_CAPABLE, SMARTCAR_NOT_CAPABLE
}

// Compatibility is the response of GET /compatibility. Outside the US only
// Compatible is meaningful; API v1.0 sends nothing else.
type Compatibility struct {
	Compatible   bool         `json:"compatible"`
	Reason       *string      `json:"reason"` // VEHICLE_NOT_COMPATIBLE, MAKE_NOT_COMPATIBLE
	Capabilities []Capability `json:"capabilities"`
	Meta         Meta         `json:"-"`
}

// Connection is one user-vehicle connection of the management API (v2) or
// of the v3 connections API, which also reports the vehicle's Mode (live,
// test or simulated).
type Connection struct {
	VehicleID   string    `json:"vehicleId"`
	UserID      string    `json:"userId"`
	Mode        string    `json:"mode,omitempty"`
	ConnectedAt time.Time `json:"connectedAt"`
}

// ConnectionsPaging is the paging block of GetConnections: pass Cursor back
// for the next page.
type ConnectionsPaging struct {
	Cursor string `json:"cursor"`
	Count  int    `json:"count"`
}

// Connections is the response of GET /management/connections.
type Connections struct {
	Connections []Connection      `json:"connections"`
	Paging      ConnectionsPaging `json:"paging"`
	Meta        Meta              `json:"-"`
}

// DeletedConnections is the response of DELETE /management/connections.
type DeletedConnections struct {
	Connections []Connection `json:"connections"`
	Meta        Meta         `json:"-"`
}
