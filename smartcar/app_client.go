package smartcar

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// AppClientOptions configures NewAppClient. Every empty field takes its
// default from the environment, then from the Default* constants. Its String
// and LogValue methods never show the client secret.
type AppClientOptions struct {
	// ClientID and ClientSecret are the application's client credentials
	// (default SMARTCAR_CLIENT_ID and SMARTCAR_CLIENT_SECRET).
	ClientID     string
	ClientSecret string
	// IAMOrigin is the origin of the token service; a value that already
	// ends in /oauth2/token is accepted as the full token URL (default
	// SMARTCAR_IAM_ORIGIN, else DefaultIAMOrigin).
	IAMOrigin string
	// APIOrigin is the origin of the vehicle API v3 (default
	// SMARTCAR_API_V3_ORIGIN, else SMARTCAR_VEHICLE_API_V3_ORIGIN, else
	// DefaultAPIV3Origin).
	APIOrigin string
	// ManagementOrigin is the origin of the Management API v3 (default
	// SMARTCAR_MANAGEMENT_API_V3_ORIGIN, else DefaultManagementV3Origin).
	ManagementOrigin string
	// HTTPClient sends every request (default: one with DefaultTimeout).
	HTTPClient *http.Client
	// UserAgent replaces the default User-Agent header.
	UserAgent string
	// MaxResponseBytes bounds how much of a response body is read
	// (default DefaultMaxResponseBytes).
	MaxResponseBytes int64
	// BeforeRetry, when set, is called before a request answered 401 is
	// sent again with a new application token, for instance to wait for a
	// rate limiter's next slot: the retry is a call of its own. An error
	// it returns is returned instead of the retry's answer.
	BeforeRetry func(ctx context.Context) error
}

// String shows the options without the client secret.
func (o AppClientOptions) String() string {
	return fmt.Sprintf("smartcar.AppClientOptions{client_id:%s client_secret:%s iam:%s api:%s management:%s}",
		o.ClientID, redactedIfSet(o.ClientSecret), o.IAMOrigin, o.APIOrigin, o.ManagementOrigin)
}

// GoString shows the options without the client secret (for %#v).
func (o AppClientOptions) GoString() string { return o.String() }

// LogValue makes slog print the options without the client secret.
func (o AppClientOptions) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", o.ClientID), slog.String("client_secret", redactedIfSet(o.ClientSecret)),
		slog.String("iam", o.IAMOrigin), slog.String("api", o.APIOrigin), slog.String("management", o.ManagementOrigin))
}

func redactedIfSet(s string) string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// withDefaults returns the options with every empty field taken from the
// environment or the defaults: the one place NewAppClient reads the
// environment.
func (o AppClientOptions) withDefaults() AppClientOptions {
	o.ClientID = orEnv(o.ClientID, EnvClientID)
	o.ClientSecret = orEnv(o.ClientSecret, EnvClientSecret)
	o.IAMOrigin = cmp.Or(trimOrigin(o.IAMOrigin), trimOrigin(envOr(EnvIAMOrigin, DefaultIAMOrigin)))
	o.APIOrigin = cmp.Or(trimOrigin(o.APIOrigin), trimOrigin(envAPIV3Origin()))
	o.ManagementOrigin = cmp.Or(trimOrigin(o.ManagementOrigin), trimOrigin(envOr(EnvManagementV3Origin, DefaultManagementV3Origin)))
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultTimeout}
	}
	o.UserAgent = cmp.Or(o.UserAgent, defaultUserAgent())
	if o.MaxResponseBytes <= 0 {
		o.MaxResponseBytes = DefaultMaxResponseBytes
	}
	return o
}

// AppClient speaks Smartcar API v3 as the application: it holds the client
// credentials, keeps one application token (renewed before it expires, one
// token request in flight however many goroutines ask) and authorizes
// vehicle, connection and Management API calls with it. A v3 call answered
// 401 fetches a new token and is retried once. Create one per process and
// share it; it is safe for concurrent use. Neither the client secret nor the
// token ever appears in an error, and String, GoString and LogValue redact
// them.
type AppClient struct {
	clientID   string
	secret     string
	client     *Client // transport: HTTP client, User-Agent, body limit, v3 API origin
	tokenURL   string
	mgmtOrigin string
	tokenForm  []byte // the client_credentials form (holds the secret)
	tokens     tokenSource
	now        func() time.Time
	// beforeRetry runs before a 401's retry (AppClientOptions.BeforeRetry).
	beforeRetry func(ctx context.Context) error
}

// NewAppClient returns an AppClient configured by opts (nil for all
// defaults; see AppClientOptions). A missing client id or secret is an error
// that wraps ErrMissingCredentials and names the variables to set.
func NewAppClient(opts *AppClientOptions) (*AppClient, error) {
	var o AppClientOptions
	if opts != nil {
		o = *opts
	}
	o = o.withDefaults()
	if err := missing(envValue{EnvClientID, o.ClientID}, envValue{EnvClientSecret, o.ClientSecret}); err != nil {
		return nil, fmt.Errorf("new app client: %w", err)
	}
	a := &AppClient{
		clientID: o.ClientID,
		secret:   o.ClientSecret,
		client: &Client{
			apiV3Origin: o.APIOrigin,
			httpClient:  o.HTTPClient,
			maxBody:     o.MaxResponseBytes,
			userAgent:   []string{o.UserAgent},
		},
		tokenURL:   strings.TrimSuffix(o.IAMOrigin, iamTokenPath) + iamTokenPath,
		mgmtOrigin: o.ManagementOrigin,
		tokenForm: []byte(url.Values{"grant_type": {"client_credentials"},
			"client_id": {o.ClientID}, "client_secret": {o.ClientSecret}}.Encode()),
		now:         time.Now,
		beforeRetry: o.BeforeRetry,
	}
	a.tokens = tokenSource{fetch: a.fetchToken, now: func() time.Time { return a.now() }}
	return a, nil
}

// ClientID returns the application's client id.
func (a *AppClient) ClientID() string { return a.clientID }

// APIOrigin returns the origin of the vehicle API v3.
func (a *AppClient) APIOrigin() string { return a.client.apiV3Origin }

// ManagementOrigin returns the origin of the Management API v3.
func (a *AppClient) ManagementOrigin() string { return a.mgmtOrigin }

// String shows the client without its secret or token.
func (a *AppClient) String() string {
	return "smartcar.AppClient{client_id:" + a.clientID + " client_secret:REDACTED api:" + a.client.apiV3Origin +
		" management:" + a.mgmtOrigin + " token_url:" + a.tokenURL + "}"
}

// GoString shows the client without its secret or token (for %#v).
func (a *AppClient) GoString() string { return a.String() }

// LogValue makes slog print the client without its secret or token.
func (a *AppClient) LogValue() slog.Value {
	return slog.GroupValue(slog.String("client_id", a.clientID), slog.String("client_secret", "REDACTED"),
		slog.String("api", a.client.apiV3Origin), slog.String("management", a.mgmtOrigin))
}

// bearer authorizes v3 requests: with the application token of app (renewed
// and retried once on 401), or with a fixed user access token.
type bearer struct {
	app   *AppClient
	token string   // user-token mode
	auth  []string // user-token mode: "Bearer <token>"
}

// send performs r with the bearer's token and returns the 2xx response or a
// *Error. With an application token, a 401 drops the token, fetches a new
// one and sends r once more; a second 401 is returned.
func (b *bearer) send(ctx context.Context, c *Client, r *request) (*http.Response, error) {
	if b.app == nil {
		r.auth, r.secrets[0] = b.auth, b.token
		return c.send(ctx, r)
	}
	r.secrets[1] = b.app.secret
	tok, err := b.app.tokens.get(ctx)
	if err != nil {
		return nil, err
	}
	r.auth, r.secrets[0] = tok.header, tok.value
	resp, err := c.send(ctx, r)
	if e, ok := err.(*Error); !ok || e.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	b.app.tokens.invalidate(tok)
	if tok, err = b.app.tokens.get(ctx); err != nil {
		return nil, err
	}
	if b.app.beforeRetry != nil {
		if err := b.app.beforeRetry(ctx); err != nil {
			return nil, err
		}
	}
	r.auth, r.secrets[0] = tok.header, tok.value
	return c.send(ctx, r)
}

// fetchV3 performs r with b and decodes a 2xx body into out; an empty body
// is accepted when r.allowEmpty is set.
func fetchV3(ctx context.Context, c *Client, b *bearer, r *request, out any) (Meta, int, error) {
	resp, err := b.send(ctx, c, r)
	if err != nil {
		return Meta{}, 0, err
	}
	body := http.MaxBytesReader(nil, resp.Body, c.maxBody)
	defer closeBody(resp.Body, body)
	if err := decodeStream(body, out, r.allowEmpty); err != nil {
		return Meta{}, 0, responseError(resp, err, r.secrets)
	}
	return metaFrom(resp.Header, ""), resp.StatusCode, nil
}

// appBearer authorizes with the application token.
func (a *AppClient) appBearer() *bearer { return &bearer{app: a} }

// Vehicle returns vehicleID as seen by the application on behalf of userID
// (sent as sc-user-id on every call; Smartcar requires it for signals,
// commands and vehicle info).
func (a *AppClient) Vehicle(vehicleID, userID string) *VehicleV3 {
	return newVehicleV3(a.client, bearer{app: a}, vehicleID, userID)
}

// maxPooledBody bounds the read buffers bodies keeps for reuse.
const maxPooledBody = 1 << 20

// bodies recycles the buffers response bodies are read into before they are
// decoded: reading the whole (bounded) body and decoding it with
// json.Unmarshal costs less than a json.Decoder on the stream, which grows
// a buffer of its own for every response. Nothing decoded refers to the
// buffer (encoding/json copies strings and json.RawMessage values).
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// decodeStream reads r to its end and decodes the JSON value it holds into
// out; with allowEmpty an empty body leaves out as it is.
func decodeStream(r io.Reader, out any, allowEmpty bool) error {
	buf := bodies.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBody {
			bodies.Put(buf)
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(r); err != nil {
		return err
	}
	if allowEmpty && len(bytes.TrimSpace(buf.Bytes())) == 0 {
		return nil
	}
	return json.Unmarshal(buf.Bytes(), out)
}

// rawV3 performs r with b and returns the whole 2xx body.
func rawV3(ctx context.Context, c *Client, b *bearer, r *request) (*Response, error) {
	resp, err := b.send(ctx, c, r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(http.MaxBytesReader(nil, resp.Body, c.maxBody))
	if err != nil {
		return nil, responseError(resp, err, r.secrets)
	}
	return &Response{StatusCode: resp.StatusCode, Headers: resp.Header, Body: raw, Meta: metaFrom(resp.Header, "")}, nil
}
