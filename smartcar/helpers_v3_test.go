package smartcar_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Credentials of the fake application.
const (
	appClientID     = "client_01j9v3"
	appClientSecret = "csec-7d1f0a9b-2c3e-4f5a-8b6c-9d0e1f2a3b4c"
)

// v3fake is an httptest server standing in for Smartcar's IAM, vehicle API
// v3 and Management API v3 hosts. The token endpoint issues app-tok-1,
// app-tok-2, ... (or what tokenReply says); every other request is recorded
// and answered from routes ("GET /v3/vehicles/vid"): replies are used in
// order and the last one repeats; $ORIGIN in a reply body is the server's URL. With accept set, a bearer token it
// rejects gets 401 before the route is consulted.
type v3fake struct {
	*httptest.Server
	mu         sync.Mutex
	got        []recorded
	tokenForms []url.Values
	routes     map[string][]reply
	// tokenReply, when set, answers the n-th token request (1-based).
	tokenReply func(n int) reply
	// tokenGate, when set, holds every token request until it is closed;
	// tokenArrived then receives one value per held request.
	tokenGate    chan struct{}
	tokenArrived chan struct{}
	accept       func(token string) bool
}

func newV3Fake(t testing.TB, routes map[string][]reply) *v3fake {
	t.Helper()
	f := &v3fake{routes: routes}
	f.Server = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.Close)
	return f
}

func (f *v3fake) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method == http.MethodPost && r.URL.Path == "/oauth2/token" {
		f.token(w, r, body)
		return
	}
	f.mu.Lock()
	f.got = append(f.got, recorded{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)})
	key := r.Method + " " + r.URL.Path
	replies := f.routes[key]
	var resp reply
	switch len(replies) {
	case 0:
		resp = reply{status: 404, body: `{"type":"RESOURCE_NOT_FOUND","code":"PATH","description":"no route ` + key + `"}`}
	case 1:
		resp = replies[0]
	default:
		resp = replies[0]
		f.routes[key] = replies[1:]
	}
	accept := f.accept
	f.mu.Unlock()
	if accept != nil && !accept(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")) {
		resp = reply{status: 401, body: `{"type":"AUTHENTICATION","code":null,"description":"The provided token is invalid.","statusCode":401}`}
	}
	resp.body = strings.ReplaceAll(resp.body, "$ORIGIN", f.URL)
	write(w, resp)
}

func (f *v3fake) token(w http.ResponseWriter, r *http.Request, body []byte) {
	form, _ := url.ParseQuery(string(body))
	f.mu.Lock()
	f.tokenForms = append(f.tokenForms, form)
	n := len(f.tokenForms)
	gate, arrived, tokenReply := f.tokenGate, f.tokenArrived, f.tokenReply
	f.mu.Unlock()
	if gate != nil {
		arrived <- struct{}{}
		<-gate
	}
	var resp reply
	switch {
	case tokenReply != nil:
		resp = tokenReply(n)
	case form.Get("grant_type") != "client_credentials":
		resp = reply{status: 400, body: `{"error":"invalid_request","error_description":"grant_type must be client_credentials"}`}
	case form.Get("client_id") != appClientID || form.Get("client_secret") != appClientSecret:
		resp = reply{status: 401, body: `{"error":"invalid_client","error_description":"Client authentication failed."}`}
	default:
		resp = reply{body: fmt.Sprintf(`{"access_token":"app-tok-%d","token_type":"Bearer","expires_in":3600}`, n)}
	}
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		resp = reply{status: 400, body: `{"error":"invalid_request","error_description":"form expected"}`}
	}
	write(w, resp)
}

func write(w http.ResponseWriter, resp reply) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("SC-Request-Id", "req-v3")
	for k, v := range resp.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(max(resp.status, http.StatusOK))
	_, _ = io.WriteString(w, resp.body)
}

// gateTokens holds token requests until the returned release is called (at
// the latest when the test ends, before the server closes); tokenArrived
// receives one value per held request, with room for n.
func (f *v3fake) gateTokens(t testing.TB, n int) (release func()) {
	f.mu.Lock()
	f.tokenGate, f.tokenArrived = make(chan struct{}), make(chan struct{}, n)
	gate := f.tokenGate
	f.mu.Unlock()
	release = sync.OnceFunc(func() { close(gate) })
	t.Cleanup(release)
	return release
}

// requests returns what the server received so far, token requests aside.
func (f *v3fake) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.got...)
}

// tokenRequests returns how many token requests the server received.
func (f *v3fake) tokenRequests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tokenForms)
}

// app returns an AppClient whose every origin is the fake.
func (f *v3fake) app(t testing.TB) *smartcar.AppClient {
	t.Helper()
	a, err := smartcar.NewAppClient(&smartcar.AppClientOptions{
		ClientID: appClientID, ClientSecret: appClientSecret,
		IAMOrigin: f.URL, APIOrigin: f.URL, ManagementOrigin: f.URL, HTTPClient: f.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// client returns a v2 Client whose every origin, v3 included, is the fake.
func (f *v3fake) client() *smartcar.Client {
	return smartcar.NewClient(smartcar.WithAPIOrigin(f.URL), smartcar.WithAPIV3Origin(f.URL),
		smartcar.WithAuthOrigin(f.URL), smartcar.WithHTTPClient(f.Client()))
}

// signalJSON is a signal resource with a {unit, value} body.
func signalJSON(code, name, group, body string) string {
	return `{"id":"` + code + `","type":"signal","attributes":{"code":"` + code + `","name":"` + name + `","group":"` + group +
		`","status":{"value":"SUCCESS"},"body":` + body + `},"meta":{"retrievedAt":1752104218549,"oemUpdatedAt":1752104118549},` +
		`"links":{"self":"/vehicles/vid/signals/` + code + `"}}`
}
