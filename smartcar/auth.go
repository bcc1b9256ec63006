package smartcar

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrMissingCredentials is wrapped by the error NewAuthClient (and
// GetCompatibility) return when a client id, client secret or redirect URI
// is neither passed as an option nor set in the environment. It is the one
// failure that is not a *Error.
var ErrMissingCredentials = errors.New("smartcar: missing client credentials")

// Connect modes.
const (
	ModeLive      = "live"
	ModeTest      = "test"
	ModeSimulated = "simulated"
)

// AuthClient drives Smartcar Connect: it builds the authorization URL and
// exchanges codes and refresh tokens for an Access. It is safe for
// concurrent use. Its client secret never appears in an error or a log.
type AuthClient struct {
	clientID    string
	redirectURI string
	mode        string
	flags       Flags
	client      *Client
	basic       []string // Authorization: Basic base64(id:secret)
	secret      string
}

type authConfig struct {
	clientID, clientSecret, redirectURI string
	redirectOptional                    bool
	mode                                string
	flags                               Flags
	client                              *Client
	httpClient                          *http.Client
}

// AuthOption configures an AuthClient.
type AuthOption func(*authConfig)

// WithClientID sets the application's client id (default SMARTCAR_CLIENT_ID).
func WithClientID(id string) AuthOption { return func(c *authConfig) { c.clientID = id } }

// WithClientSecret sets the application's client secret (default SMARTCAR_CLIENT_SECRET).
func WithClientSecret(secret string) AuthOption {
	return func(c *authConfig) { c.clientSecret = secret }
}

// WithRedirectURI sets the redirect URI registered in the Dashboard (default
// SMARTCAR_REDIRECT_URI).
func WithRedirectURI(uri string) AuthOption { return func(c *authConfig) { c.redirectURI = uri } }

// WithoutRedirectURI lets NewAuthClient do without a redirect URI, for a
// program that only exchanges refresh tokens (a daemon keeping grants
// fresh). One passed with WithRedirectURI or set in SMARTCAR_REDIRECT_URI is
// still used; without one, ExchangeCode fails with ErrMissingCredentials and
// AuthURL must not be called.
func WithoutRedirectURI() AuthOption { return func(c *authConfig) { c.redirectOptional = true } }

// WithMode sets the Connect mode: ModeLive (default), ModeTest or
// ModeSimulated. Any other value makes NewAuthClient fail.
func WithMode(mode string) AuthOption { return func(c *authConfig) { c.mode = mode } }

// WithAuthFlags sends feature flags with the token requests.
func WithAuthFlags(f Flags) AuthOption { return func(c *authConfig) { c.flags = f } }

// WithClient makes the AuthClient use c's origins (auth and connect), HTTP
// client and User-Agent. Default: NewClient(), from the environment.
func WithClient(c *Client) AuthOption { return func(cfg *authConfig) { cfg.client = c } }

// WithAuthClient is another name for WithClient.
func WithAuthClient(c *Client) AuthOption { return WithClient(c) }

// WithAuthHTTPClient sets the HTTP client of the token requests, overriding
// the one of the Client given with WithClient.
func WithAuthHTTPClient(hc *http.Client) AuthOption {
	return func(c *authConfig) { c.httpClient = hc }
}

// NewAuthClient returns an AuthClient. The client id, secret and redirect URI
// come from the options or else from SMARTCAR_CLIENT_ID,
// SMARTCAR_CLIENT_SECRET and SMARTCAR_REDIRECT_URI; if any is missing the
// error wraps ErrMissingCredentials and names the missing variables. An
// unknown mode is an error too.
func NewAuthClient(opts ...AuthOption) (*AuthClient, error) {
	var cfg authConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	cfg.clientID = orEnv(cfg.clientID, EnvClientID)
	cfg.clientSecret = orEnv(cfg.clientSecret, EnvClientSecret)
	cfg.redirectURI = orEnv(cfg.redirectURI, EnvRedirectURI)
	required := []envValue{{EnvClientID, cfg.clientID}, {EnvClientSecret, cfg.clientSecret}}
	if !cfg.redirectOptional {
		required = append(required, envValue{EnvRedirectURI, cfg.redirectURI})
	}
	if err := missing(required...); err != nil {
		return nil, fmt.Errorf("new auth client: %w", err)
	}
	switch cfg.mode {
	case "":
		cfg.mode = ModeLive
	case ModeLive, ModeTest, ModeSimulated:
	default:
		return nil, fmt.Errorf("new auth client: mode %q is not one of live, test, simulated", cfg.mode)
	}
	c := cfg.client
	if c == nil {
		c = NewClient()
	}
	if cfg.httpClient != nil {
		cp := *c
		cp.httpClient = cfg.httpClient
		c = &cp
	}
	return &AuthClient{
		clientID:    cfg.clientID,
		redirectURI: cfg.redirectURI,
		mode:        cfg.mode,
		flags:       cfg.flags,
		client:      c,
		basic:       []string{basicAuth(cfg.clientID, cfg.clientSecret)},
		secret:      cfg.clientSecret,
	}, nil
}

// orEnv returns v, or else the trimmed value of the environment variable.
func orEnv(v, env string) string {
	if v != "" {
		return v
	}
	return strings.TrimSpace(os.Getenv(env))
}

// envValue is a setting and the environment variable it defaults to.
type envValue struct{ env, value string }

// missing names the environment variables of the empty values.
func missing(vals ...envValue) error {
	var names []string
	for _, v := range vals {
		if v.value == "" {
			names = append(names, v.env)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("%w: set %s or pass the matching option", ErrMissingCredentials, strings.Join(names, ", "))
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// ClientID returns the application's client id.
func (a *AuthClient) ClientID() string { return a.clientID }

// Mode returns the Connect mode.
func (a *AuthClient) Mode() string { return a.mode }

// SingleSelect limits Connect to one vehicle: any one (Enabled) or the one
// with VIN (which implies Enabled).
type SingleSelect struct {
	Enabled bool
	VIN     string
}

// AuthURLOptions are the optional parameters of AuthURL.
type AuthURLOptions struct {
	ForcePrompt  bool          // approval_prompt=force: always show the consent screen
	State        string        // echoed back on the redirect
	MakeBypass   string        // make: skip the brand picker, e.g. "TESLA"
	SingleSelect *SingleSelect // single_select and single_select_vin
	Flags        Flags         // flags
	User         string        // user: developer-chosen owner id for Connect analytics
}

// AuthURL returns the Smartcar Connect URL to send the user to, asking for
// scope (nil to use the Dashboard's configuration); opts may be nil. It
// needs a redirect URI (see WithoutRedirectURI).
func (a *AuthClient) AuthURL(scope []string, opts *AuthURLOptions) string {
	if opts == nil {
		opts = &AuthURLOptions{}
	}
	q := queryBuilder{}
	q.add("response_type", "code")
	q.add("client_id", a.clientID)
	q.add("redirect_uri", a.redirectURI)
	approval := "auto"
	if opts.ForcePrompt {
		approval = "force"
	}
	q.add("approval_prompt", approval)
	if len(scope) > 0 {
		q.add("scope", strings.Join(scope, " "))
	}
	q.add("mode", a.mode)
	if opts.State != "" {
		q.add("state", opts.State)
	}
	if opts.MakeBypass != "" {
		q.add("make", opts.MakeBypass)
	}
	if ss := opts.SingleSelect; ss != nil {
		q.add("single_select", strconv.FormatBool(ss.Enabled || ss.VIN != ""))
		if ss.VIN != "" {
			q.add("single_select_vin", ss.VIN)
		}
	}
	if len(opts.Flags) > 0 {
		q.add("flags", opts.Flags.String())
	}
	if opts.User != "" {
		q.add("user", opts.User)
	}
	return a.client.connectOrigin + "/oauth/authorize?" + q.String()
}

// queryBuilder keeps parameters in the order added and encodes spaces as %20.
type queryBuilder struct{ b strings.Builder }

func (q *queryBuilder) add(k, v string) {
	if q.b.Len() > 0 {
		q.b.WriteByte('&')
	}
	q.b.WriteString(url.QueryEscape(k))
	q.b.WriteByte('=')
	q.b.WriteString(strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
}

func (q *queryBuilder) String() string { return q.b.String() }

// ExchangeCode exchanges an authorization code from the Connect redirect for
// an Access. A rejected code is a *Error with Type OAUTH and Code
// "invalid_grant". Without a redirect URI (WithoutRedirectURI) it fails
// with ErrMissingCredentials.
func (a *AuthClient) ExchangeCode(ctx context.Context, code string) (*Access, error) {
	if a.redirectURI == "" {
		return nil, fmt.Errorf("exchange code: %w", missing(envValue{EnvRedirectURI, ""}))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.redirectURI}}
	return a.token(ctx, form, code)
}

// ExchangeRefreshToken exchanges a refresh token for a new Access. Refresh
// tokens are single use: store the returned pair before using it. A rejected
// refresh token is a *Error with Type OAUTH and Code "invalid_grant"
// (NeedsReauth reports true).
func (a *AuthClient) ExchangeRefreshToken(ctx context.Context, refreshToken string) (*Access, error) {
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	return a.token(ctx, form, refreshToken)
}

type tokenWire struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

func (a *AuthClient) token(ctx context.Context, form url.Values, grant string) (*Access, error) {
	u := a.client.tokenURL
	if q := a.flags.query(); q != "" {
		u += "?" + q
	}
	r := request{method: http.MethodPost, url: u, auth: a.basic, body: []byte(form.Encode()),
		ctype: formContentType, secrets: secrets{a.secret, grant, strings.TrimPrefix(a.basic[0], "Basic ")}}
	var w tokenWire
	if _, err := a.client.doJSON(ctx, &r, &w); err != nil {
		return nil, err
	}
	if w.AccessToken == "" {
		return nil, &Error{Type: TypeSDK, Code: "INVALID_RESPONSE", StatusCode: http.StatusOK,
			Description: "token response has no access_token"}
	}
	now := time.Now()
	return &Access{
		AccessToken:       w.AccessToken,
		TokenType:         w.TokenType,
		ExpiresIn:         w.ExpiresIn,
		Expiration:        now.Add(time.Duration(w.ExpiresIn) * time.Second),
		RefreshToken:      w.RefreshToken,
		RefreshExpiration: now.Add(RefreshTokenLifetime),
	}, nil
}
