package smartcar

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// CompatibilityOptions are the optional parameters of GetCompatibility.
type CompatibilityOptions struct {
	Country      string // ISO country code, default "US"
	ClientID     string // default SMARTCAR_CLIENT_ID
	ClientSecret string // default SMARTCAR_CLIENT_SECRET
	Flags        Flags
	// Mode is sent as mode when set ("test", "simulated").
	Mode string
	// TestModeCompatibilityLevel picks the answer of test mode; setting it
	// forces mode=test.
	TestModeCompatibilityLevel string
}

// GetCompatibility asks whether the vehicle with vin can grant scope. It is
// authorized with the application's client id and secret (from opts or the
// environment); if either is missing the error wraps ErrMissingCredentials.
// opts may be nil.
func (c *Client) GetCompatibility(ctx context.Context, vin string, scope []string, opts *CompatibilityOptions) (*Compatibility, error) {
	if opts == nil {
		opts = &CompatibilityOptions{}
	}
	id := orEnv(opts.ClientID, EnvClientID)
	secret := orEnv(opts.ClientSecret, EnvClientSecret)
	if err := missing(envValue{EnvClientID, id}, envValue{EnvClientSecret, secret}); err != nil {
		return nil, fmt.Errorf("get compatibility: %w", err)
	}
	if c.err != nil {
		return nil, c.err
	}
	var q queryBuilder
	q.add("vin", vin)
	q.add("scope", strings.Join(scope, " "))
	q.add("country", cmp.Or(opts.Country, "US"))
	if len(opts.Flags) > 0 {
		q.add("flags", opts.Flags.String())
	}
	switch {
	case opts.TestModeCompatibilityLevel != "":
		q.add("mode", ModeTest)
		q.add("test_mode_compatibility_level", opts.TestModeCompatibilityLevel)
	case opts.Mode != "":
		q.add("mode", opts.Mode)
	}
	r := request{method: http.MethodGet, url: c.apiOrigin + "/v" + c.version + "/compatibility?" + q.String(),
		auth: []string{basicAuth(id, secret)}, secrets: secrets{secret}}
	return fetch[Compatibility](ctx, c, &r)
}

// GetCompatibility calls Client.GetCompatibility on a client configured from
// the environment.
func GetCompatibility(ctx context.Context, vin string, scope []string, opts *CompatibilityOptions) (*Compatibility, error) {
	return NewClient().GetCompatibility(ctx, vin, scope, opts)
}

// CompatibilityMatrixOptions are the optional parameters of
// GetCompatibilityMatrix.
type CompatibilityMatrixOptions struct {
	ClientID     string   // default SMARTCAR_CLIENT_ID
	ClientSecret string   // default SMARTCAR_CLIENT_SECRET
	Scope        []string // permissions to filter by, e.g. read_battery
	Make         string   // a make to filter by, e.g. "TESLA"
	Type         string   // an engine type to filter by: ICE, HEV, PHEV or BEV
	Mode         string   // live, test or simulated
}

// CompatibilityMatrixEntry is one model of the compatibility matrix.
type CompatibilityMatrixEntry struct {
	Model       string   `json:"model"`
	StartYear   int      `json:"-"`
	EndYear     int      `json:"-"`
	Type        string   `json:"type"` // ICE, HEV, PHEV or BEV
	Endpoints   []string `json:"endpoints"`
	Permissions []string `json:"permissions"`
}

// UnmarshalJSON reads the years as numbers or strings.
func (c *CompatibilityMatrixEntry) UnmarshalJSON(b []byte) error {
	type plain CompatibilityMatrixEntry
	var w struct {
		plain
		StartYear flexInt `json:"startYear"`
		EndYear   flexInt `json:"endYear"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*c = CompatibilityMatrixEntry(w.plain)
	c.StartYear, c.EndYear = int(w.StartYear), int(w.EndYear)
	return nil
}

// CompatibilityMatrix is the response of GET /compatibility/matrix: the
// compatible models of each make ("NISSAN", "TESLA").
type CompatibilityMatrix struct {
	Makes map[string][]CompatibilityMatrixEntry
	Meta  Meta
}

// UnmarshalJSON decodes the top-level object of makes.
func (m *CompatibilityMatrix) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &m.Makes) }

func (m *CompatibilityMatrix) setMeta(meta Meta) { m.Meta = meta }

// GetCompatibilityMatrix returns the models Smartcar may support in region
// (US, CA or EUROPE; default US), filtered by opts (nil for none), like the
// official SDKs' getCompatibilityMatrix (GET /v{version}/compatibility/matrix,
// authorized with the client id and secret). If either credential is
// missing the error wraps ErrMissingCredentials.
func (c *Client) GetCompatibilityMatrix(ctx context.Context, region string, opts *CompatibilityMatrixOptions) (*CompatibilityMatrix, error) {
	if opts == nil {
		opts = &CompatibilityMatrixOptions{}
	}
	id := orEnv(opts.ClientID, EnvClientID)
	secret := orEnv(opts.ClientSecret, EnvClientSecret)
	if err := missing(envValue{EnvClientID, id}, envValue{EnvClientSecret, secret}); err != nil {
		return nil, fmt.Errorf("get compatibility matrix: %w", err)
	}
	if c.err != nil {
		return nil, c.err
	}
	var q queryBuilder
	q.add("region", cmp.Or(region, "US"))
	if len(opts.Scope) > 0 {
		q.add("scope", strings.Join(opts.Scope, " "))
	}
	if opts.Make != "" {
		q.add("make", opts.Make)
	}
	if opts.Type != "" {
		q.add("type", opts.Type)
	}
	if opts.Mode != "" {
		q.add("mode", opts.Mode)
	}
	r := request{method: http.MethodGet, url: c.apiOrigin + "/v" + c.version + "/compatibility/matrix?" + q.String(),
		auth: []string{basicAuth(id, secret)}, secrets: secrets{secret}}
	return fetch[CompatibilityMatrix](ctx, c, &r)
}

// GetCompatibilityMatrix calls Client.GetCompatibilityMatrix on a client
// configured from the environment.
func GetCompatibilityMatrix(ctx context.Context, region string, opts *CompatibilityMatrixOptions) (*CompatibilityMatrix, error) {
	return NewClient().GetCompatibilityMatrix(ctx, region, opts)
}
