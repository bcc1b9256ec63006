package smartcar

import (
	"net/http"
	"os"
	"runtime"
	"strings"
	"time"
)

// SDKVersion is the version of this package, sent in the User-Agent header.
const SDKVersion = "0.1.0"

// Defaults used when neither an option nor an environment variable sets a value.
const (
	DefaultAPIOrigin        = "https://api.smartcar.com"
	DefaultAuthOrigin       = "https://auth.smartcar.com"
	DefaultConnectOrigin    = "https://connect.smartcar.com"
	DefaultManagementOrigin = "https://management.smartcar.com"
	DefaultVersion          = "2.0"
	// API v3 origins: the vehicle API, the Management API v3 and the IAM
	// service that issues application tokens.
	DefaultAPIV3Origin        = "https://vehicle.api.smartcar.com"
	DefaultManagementV3Origin = "https://management.api.smartcar.com"
	DefaultIAMOrigin          = "https://iam.smartcar.com"
	// DefaultTimeout is the HTTP timeout of the default HTTP client: Smartcar
	// may take up to 300 s to answer a vehicle request.
	DefaultTimeout = 310 * time.Second
	// DefaultMaxResponseBytes bounds how much of a response body is read.
	DefaultMaxResponseBytes = 8 << 20
)

// Environment variables read by NewClient and NewAuthClient.
const (
	EnvAPIOrigin        = "SMARTCAR_API_ORIGIN"
	EnvAuthOrigin       = "SMARTCAR_AUTH_ORIGIN"
	EnvConnectOrigin    = "SMARTCAR_CONNECT_ORIGIN"
	EnvManagementOrigin = "SMARTCAR_MANAGEMENT_API_ORIGIN"
	EnvClientID         = "SMARTCAR_CLIENT_ID"
	EnvClientSecret     = "SMARTCAR_CLIENT_SECRET"
	EnvRedirectURI      = "SMARTCAR_REDIRECT_URI"
)

// Environment variables of API v3, read by NewClient (the vehicle API origin)
// and NewAppClient (all of them). EnvVehicleAPIV3Origin is the name the
// Python SDK reads; EnvAPIV3Origin (node, Java) wins when both are set.
const (
	EnvAPIV3Origin        = "SMARTCAR_API_V3_ORIGIN"
	EnvVehicleAPIV3Origin = "SMARTCAR_VEHICLE_API_V3_ORIGIN"
	EnvManagementV3Origin = "SMARTCAR_MANAGEMENT_API_V3_ORIGIN"
	EnvIAMOrigin          = "SMARTCAR_IAM_ORIGIN"
)

const tokenPath = "/oauth/token"

// Client holds what every request needs: origins, API version, unit system,
// HTTP client and User-Agent. It is safe for concurrent use and never changes
// after NewClient returns. It holds no token: tokens are passed per call or
// per Vehicle.
type Client struct {
	apiOrigin        string
	apiV3Origin      string
	tokenURL         string
	connectOrigin    string
	managementOrigin string
	version          string
	unitSystem       UnitSystem
	httpClient       *http.Client
	maxBody          int64

	userAgent []string // shared header value, never mutated
	unit      []string // shared header value, never mutated
	err       *Error   // invalid version or unit system, reported by every call
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithAPIOrigin sets the origin of the vehicle and user API
// (default SMARTCAR_API_ORIGIN, else DefaultAPIOrigin).
func WithAPIOrigin(origin string) ClientOption {
	return func(c *Client) { c.apiOrigin = trimOrigin(origin) }
}

// WithAPIV3Origin sets the origin of the vehicle API v3, used by
// Vehicle.Signals, Vehicle.Signal and Client.VehicleV3 (default
// SMARTCAR_API_V3_ORIGIN, else SMARTCAR_VEHICLE_API_V3_ORIGIN, else
// DefaultAPIV3Origin).
func WithAPIV3Origin(origin string) ClientOption {
	return func(c *Client) { c.apiV3Origin = trimOrigin(origin) }
}

// WithAuthOrigin sets the origin of the token endpoint. A value that already
// ends in /oauth/token is accepted as the full token URL (default
// SMARTCAR_AUTH_ORIGIN, else DefaultAuthOrigin).
func WithAuthOrigin(origin string) ClientOption {
	return func(c *Client) { c.tokenURL = tokenURL(origin) }
}

// WithConnectOrigin sets the origin of Smartcar Connect, used by AuthURL
// (default SMARTCAR_CONNECT_ORIGIN, else DefaultConnectOrigin).
func WithConnectOrigin(origin string) ClientOption {
	return func(c *Client) { c.connectOrigin = trimOrigin(origin) }
}

// WithManagementOrigin sets the origin of the management API (default
// SMARTCAR_MANAGEMENT_API_ORIGIN, else DefaultManagementOrigin).
func WithManagementOrigin(origin string) ClientOption {
	return func(c *Client) { c.managementOrigin = trimOrigin(origin) }
}

// WithHTTPClient sets the HTTP client (default: one with DefaultTimeout).
// A nil client is ignored.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *Client) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithVersion sets the API version, "N.N" (default DefaultVersion). A
// malformed version does not fail NewClient: every call made through the
// client then returns a *Error with Type VALIDATION and Code VERSION.
func WithVersion(version string) ClientOption {
	return func(c *Client) { c.version = version }
}

// WithUserAgent replaces the User-Agent header (default
// "Smartcar/<SDKVersion> (<GOOS>; <GOARCH>) Go <runtime version>").
func WithUserAgent(ua string) ClientOption {
	return func(c *Client) { c.userAgent = []string{ua} }
}

// WithUnitSystem sets the unit system of vehicle responses (default Metric).
// A value other than Metric or Imperial makes every vehicle call fail with a
// VALIDATION *Error.
func WithUnitSystem(u UnitSystem) ClientOption {
	return func(c *Client) { c.unitSystem = u }
}

// WithMaxResponseBytes bounds how much of a response body is read (default
// DefaultMaxResponseBytes); a longer body gives a SDK_ERROR *Error with Code
// RESPONSE_TOO_LARGE. Values <= 0 are ignored.
func WithMaxResponseBytes(n int64) ClientOption {
	return func(c *Client) {
		if n > 0 {
			c.maxBody = n
		}
	}
}

// NewClient returns a Client configured by opts, with defaults taken from the
// environment (SMARTCAR_API_ORIGIN, SMARTCAR_AUTH_ORIGIN,
// SMARTCAR_CONNECT_ORIGIN, SMARTCAR_MANAGEMENT_API_ORIGIN and, for the v3
// vehicle API, SMARTCAR_API_V3_ORIGIN or SMARTCAR_VEHICLE_API_V3_ORIGIN) and
// then from the Default* constants. Options win over the environment.
func NewClient(opts ...ClientOption) *Client {
	c := &Client{
		apiOrigin:        trimOrigin(envOr(EnvAPIOrigin, DefaultAPIOrigin)),
		apiV3Origin:      trimOrigin(envAPIV3Origin()),
		tokenURL:         tokenURL(envOr(EnvAuthOrigin, DefaultAuthOrigin)),
		connectOrigin:    trimOrigin(envOr(EnvConnectOrigin, DefaultConnectOrigin)),
		managementOrigin: trimOrigin(envOr(EnvManagementOrigin, DefaultManagementOrigin)),
		version:          DefaultVersion,
		unitSystem:       Metric,
		maxBody:          DefaultMaxResponseBytes,
		userAgent:        []string{defaultUserAgent()},
	}
	for _, opt := range opts {
		opt(c)
	}
	if c.httpClient == nil {
		c.httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	c.unit = []string{string(c.unitSystem)}
	c.err = validate(c.version, c.unitSystem)
	return c
}

// Version returns the API version the client calls, e.g. "2.0".
func (c *Client) Version() string { return c.version }

// UnitSystem returns the client's unit system.
func (c *Client) UnitSystem() UnitSystem { return c.unitSystem }

// UserAgent returns the User-Agent header the client sends.
func (c *Client) UserAgent() string { return c.userAgent[0] }

// HTTPClient returns the HTTP client used for every request.
func (c *Client) HTTPClient() *http.Client { return c.httpClient }

func defaultUserAgent() string {
	return "Smartcar/" + SDKVersion + " (" + runtime.GOOS + "; " + runtime.GOARCH + ") Go " + runtime.Version()
}

func envOr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// envAPIV3Origin is the v3 vehicle API origin from the environment: node's
// and Java's variable, then Python's, then the default.
func envAPIV3Origin() string {
	return envOr(EnvAPIV3Origin, envOr(EnvVehicleAPIV3Origin, DefaultAPIV3Origin))
}

func trimOrigin(origin string) string { return strings.TrimRight(strings.TrimSpace(origin), "/") }

// tokenURL accepts a bare origin or a full token URL (SMARTCAR_AUTH_ORIGIN is
// the former in node and Java, the latter in Python).
func tokenURL(origin string) string {
	return strings.TrimSuffix(trimOrigin(origin), tokenPath) + tokenPath
}

// validate checks a version ("N.N") and a unit system; it returns a
// VALIDATION *Error or nil.
func validate(version string, u UnitSystem) *Error {
	if !validVersion(version) {
		return validationError("VERSION", `version "`+version+`" must look like "2.0" (\d+\.\d+)`)
	}
	if u != Metric && u != Imperial {
		return validationError("UNIT_SYSTEM", `unit system "`+string(u)+`" must be "metric" or "imperial"`)
	}
	return nil
}

func validVersion(v string) bool {
	major, minor, ok := strings.Cut(v, ".")
	return ok && allDigits(major) && allDigits(minor)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validationError is a client-side programming error: Type VALIDATION,
// StatusCode 0, never retryable.
func validationError(code, description string) *Error {
	return &Error{Type: TypeValidation, Code: code, Description: description}
}
