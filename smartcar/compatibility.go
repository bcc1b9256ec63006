package smartcar

import (
	"cmp"
	"context"
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
