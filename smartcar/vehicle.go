package smartcar

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Flags are Smartcar feature flags, sent as the query parameter
// flags=name:value name:value (booleans as true/false).
type Flags map[string]any

// String renders the flags sorted by name: "country:DE color:00819D".
func (f Flags) String() string {
	names := make([]string, 0, len(f))
	for name := range f {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, name := range names {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(name)
		b.WriteByte(':')
		switch v := f[name].(type) {
		case string:
			b.WriteString(v)
		case bool:
			b.WriteString(strconv.FormatBool(v))
		default:
			fmt.Fprint(&b, v)
		}
	}
	return b.String()
}

// query is "flags=..." or "" for no flags.
func (f Flags) query() string {
	if len(f) == 0 {
		return ""
	}
	return "flags=" + url.QueryEscape(f.String())
}

// Vehicle is one vehicle seen through one access token. It is safe for
// concurrent use. Every method returns a *Error when the request fails.
type Vehicle struct {
	id         string
	client     *Client
	version    string
	unitSystem UnitSystem

	base    string   // {api}/v{version}/vehicles/{id}
	query   string   // flags query or ""
	auth    []string // shared Authorization header value
	unit    []string // shared SC-Unit-System header value
	secrets secrets
	err     *Error // invalid version or unit system
}

type vehicleConfig struct {
	client  *Client
	version string
	unit    UnitSystem
	flags   Flags
}

// VehicleOption configures a Vehicle.
type VehicleOption func(*vehicleConfig)

// WithVehicleClient makes the vehicle use c (origins, HTTP client, version,
// unit system). Default: NewClient(), configured from the environment.
func WithVehicleClient(c *Client) VehicleOption {
	return func(cfg *vehicleConfig) { cfg.client = c }
}

// WithVehicleVersion overrides the client's API version for this vehicle.
func WithVehicleVersion(version string) VehicleOption {
	return func(cfg *vehicleConfig) { cfg.version = version }
}

// WithVehicleUnitSystem overrides the client's unit system for this vehicle.
func WithVehicleUnitSystem(u UnitSystem) VehicleOption {
	return func(cfg *vehicleConfig) { cfg.unit = u }
}

// WithVehicleFlags sends feature flags with every request of this vehicle.
func WithVehicleFlags(f Flags) VehicleOption {
	return func(cfg *vehicleConfig) { cfg.flags = f }
}

// NewVehicle returns the vehicle id seen through accessToken. Without
// WithVehicleClient it uses a client configured from the environment.
func NewVehicle(id, accessToken string, opts ...VehicleOption) *Vehicle {
	var cfg vehicleConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	c := cfg.client
	if c == nil {
		c = NewClient()
	}
	v := &Vehicle{
		id:         id,
		client:     c,
		version:    cmp.Or(cfg.version, c.version),
		unitSystem: cmp.Or(cfg.unit, c.unitSystem),
		query:      cfg.flags.query(),
		auth:       []string{"Bearer " + accessToken},
		secrets:    secrets{accessToken},
	}
	v.base = c.apiOrigin + "/v" + v.version + "/vehicles/" + url.PathEscape(id)
	v.unit = []string{string(v.unitSystem)}
	v.err = validate(v.version, v.unitSystem)
	return v
}

// Vehicle returns the vehicle id seen through accessToken, using c.
func (c *Client) Vehicle(id, accessToken string, opts ...VehicleOption) *Vehicle {
	return NewVehicle(id, accessToken, append([]VehicleOption{WithVehicleClient(c)}, opts...)...)
}

// ID returns the Smartcar vehicle id.
func (v *Vehicle) ID() string { return v.id }

// Version returns the API version this vehicle calls.
func (v *Vehicle) Version() string { return v.version }

// UnitSystem returns the unit system of this vehicle's responses.
func (v *Vehicle) UnitSystem() UnitSystem { return v.unitSystem }

// url builds base+path, then the query and the flags.
func (v *Vehicle) url(path, query string) string {
	switch {
	case query == "" && v.query == "":
		return v.base + path
	case query == "":
		return v.base + path + "?" + v.query
	case v.query == "":
		return v.base + path + "?" + query
	}
	return v.base + path + "?" + query + "&" + v.query
}

func (v *Vehicle) request(method, path, query string, body []byte) request {
	r := request{method: method, url: v.url(path, query), auth: v.auth, unit: v.unit, secrets: v.secrets}
	if body != nil {
		r.body, r.ctype = body, jsonContentType
	}
	return r
}

// get fetches path into a new T and attaches the response metadata.
func get[T any, PT interface {
	*T
	metaSetter
}](ctx context.Context, v *Vehicle, path, query string) (PT, error) {
	if v.err != nil {
		return nil, v.err
	}
	r := v.request(http.MethodGet, path, query, nil)
	return fetch[T, PT](ctx, v.client, &r)
}

// Info returns the vehicle's attributes: id, make, model, year (GET /).
func (v *Vehicle) Info(ctx context.Context) (*Info, error) { return get[Info](ctx, v, "", "") }

// VIN returns the vehicle identification number.
func (v *Vehicle) VIN(ctx context.Context) (*VIN, error) { return get[VIN](ctx, v, PathVIN, "") }

// Odometer returns the odometer reading.
func (v *Vehicle) Odometer(ctx context.Context) (*Odometer, error) {
	return get[Odometer](ctx, v, PathOdometer, "")
}

// Location returns the vehicle's position.
func (v *Vehicle) Location(ctx context.Context) (*Location, error) {
	return get[Location](ctx, v, PathLocation, "")
}

// Battery returns the state of charge and range of an EV or PHEV.
func (v *Vehicle) Battery(ctx context.Context) (*Battery, error) {
	return get[Battery](ctx, v, PathBattery, "")
}

// BatteryCapacity returns the battery capacity in kWh.
func (v *Vehicle) BatteryCapacity(ctx context.Context) (*BatteryCapacity, error) {
	return get[BatteryCapacity](ctx, v, PathBatteryCapacity, "")
}

// NominalCapacity returns the nominal battery capacity and its candidates.
func (v *Vehicle) NominalCapacity(ctx context.Context) (*NominalCapacity, error) {
	return get[NominalCapacity](ctx, v, PathNominalCapacity, "")
}

// Charge returns whether the vehicle is plugged in and its charging state.
func (v *Vehicle) Charge(ctx context.Context) (*Charge, error) {
	return get[Charge](ctx, v, PathCharge, "")
}

// ChargeLimit returns the charge limit as a fraction.
func (v *Vehicle) ChargeLimit(ctx context.Context) (*ChargeLimit, error) {
	return get[ChargeLimit](ctx, v, PathChargeLimit, "")
}

// Fuel returns the fuel tank level and range.
func (v *Vehicle) Fuel(ctx context.Context) (*Fuel, error) { return get[Fuel](ctx, v, PathFuel, "") }

// TirePressure returns the pressure of each tire.
func (v *Vehicle) TirePressure(ctx context.Context) (*TirePressure, error) {
	return get[TirePressure](ctx, v, PathTirePressure, "")
}

// EngineOil returns the remaining engine oil life.
func (v *Vehicle) EngineOil(ctx context.Context) (*EngineOil, error) {
	return get[EngineOil](ctx, v, PathEngineOil, "")
}

// LockStatus returns the lock state and the open state of doors, windows,
// sunroof, storage and charging port (GET /security).
func (v *Vehicle) LockStatus(ctx context.Context) (*LockStatus, error) {
	return get[LockStatus](ctx, v, PathLockStatus, "")
}

// DiagnosticSystemStatus returns the status of the vehicle's systems.
func (v *Vehicle) DiagnosticSystemStatus(ctx context.Context) (*DiagnosticSystemStatus, error) {
	return get[DiagnosticSystemStatus](ctx, v, PathDiagnosticSystemStatus, "")
}

// DiagnosticTroubleCodes returns the active diagnostic trouble codes.
func (v *Vehicle) DiagnosticTroubleCodes(ctx context.Context) (*DiagnosticTroubleCodes, error) {
	return get[DiagnosticTroubleCodes](ctx, v, PathDiagnosticTroubleCodes, "")
}

// Permissions returns the permissions granted for this vehicle; paging may be nil.
func (v *Vehicle) Permissions(ctx context.Context, paging *Paging) (*Permissions, error) {
	return get[Permissions](ctx, v, "/permissions", paging.query())
}

// ServiceHistoryOptions limits ServiceHistory to a date range. Empty dates
// are not sent; with neither, Smartcar returns the last 12 months.
type ServiceHistoryOptions struct {
	StartDate, EndDate string // YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS.SSSZ
}

// ServiceHistory returns the vehicle's service records; opts may be nil.
func (v *Vehicle) ServiceHistory(ctx context.Context, opts *ServiceHistoryOptions) (*ServiceHistory, error) {
	q := url.Values{}
	if opts != nil {
		if opts.StartDate != "" {
			q.Set("startDate", opts.StartDate)
		}
		if opts.EndDate != "" {
			q.Set("endDate", opts.EndDate)
		}
	}
	return get[ServiceHistory](ctx, v, "/service/history", q.Encode())
}

// Request sends a request to a path below this vehicle ("/tesla/speedometer",
// "permissions?limit=5"; "" or "/" is the vehicle itself) and returns the raw
// response. body is sent as JSON: nil sends nothing, []byte and
// json.RawMessage are sent as they are, anything else is marshalled. A
// non-2xx status is a *Error.
func (v *Vehicle) Request(ctx context.Context, method, path string, body any) (*Response, error) {
	if v.err != nil {
		return nil, v.err
	}
	p, q, _ := strings.Cut(path, "?")
	p = NormalizePath(p)
	if p == PathAttributes {
		p = ""
	}
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	case json.RawMessage:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return nil, &Error{Type: TypeValidation, Code: "BODY", Description: "encode request body: " + err.Error(), Err: err}
		}
	}
	r := v.request(strings.ToUpper(method), p, q, raw)
	return v.client.doRaw(ctx, &r)
}

// query renders limit and offset; a nil Paging sends nothing.
func (p *Paging) query() string {
	if p == nil {
		return ""
	}
	q := "offset=" + strconv.Itoa(p.Offset)
	if p.Limit > 0 {
		q = "limit=" + strconv.Itoa(p.Limit) + "&" + q
	}
	return q
}
