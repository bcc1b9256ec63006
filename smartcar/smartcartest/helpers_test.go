package smartcartest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newServer(t testing.TB, opts ...smartcartest.Option) *smartcartest.Server {
	t.Helper()
	s := smartcartest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorKind returns TYPE:CODE (or TYPE) of a v2.0 error body.
func (r response) errorKind(t testing.TB) string {
	t.Helper()
	var e struct {
		Type       string  `json:"type"`
		Code       *string `json:"code"`
		StatusCode int     `json:"statusCode"`
		RequestID  string  `json:"requestId"`
	}
	r.decode(t, &e)
	if e.StatusCode != r.status {
		t.Errorf("body statusCode = %d, HTTP status %d", e.StatusCode, r.status)
	}
	if e.RequestID == "" || e.RequestID != r.header.Get("SC-Request-Id") {
		t.Errorf("body requestId %q, header SC-Request-Id %q", e.RequestID, r.header.Get("SC-Request-Id"))
	}
	if e.Code == nil {
		return e.Type
	}
	return e.Type + ":" + *e.Code
}

// do sends a request; body is JSON-encoded unless it is url.Values (form)
// or nil. hdr holds header name/value pairs.
func do(t testing.TB, client *http.Client, method, u string, body any, hdr ...string) response {
	t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ctype = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd, ctype = strings.NewReader(b), "application/json"
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd, ctype = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

// api calls /v2.0<path> with a bearer token.
func api(t testing.TB, s *smartcartest.Server, method, token, path string, body any, hdr ...string) response {
	t.Helper()
	return do(t, nil, method, s.URL+"/v2.0"+path, body, append([]string{"Authorization", "Bearer " + token}, hdr...)...)
}

func get(t testing.TB, s *smartcartest.Server, token, path string, hdr ...string) response {
	t.Helper()
	return api(t, s, http.MethodGet, token, path, nil, hdr...)
}

// tokenCall posts a form to /oauth/token with the server's client credentials.
func tokenCall(t testing.TB, s *smartcartest.Server, form url.Values) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.ClientID, s.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("token call: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: raw}
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

type oauthErr struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func refresh(t testing.TB, s *smartcartest.Server, token string) response {
	t.Helper()
	return tokenCall(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
}

func vehiclePath(id, sub string) string { return "/vehicles/" + id + sub }

// firstOfKind returns the first vehicle of kind.
func firstOfKind(t testing.TB, s *smartcartest.Server, kind smartcartest.Kind) smartcartest.Vehicle {
	t.Helper()
	for _, v := range s.Vehicles() {
		if v.Kind == kind {
			return v
		}
	}
	t.Fatalf("no %s vehicle", kind)
	return smartcartest.Vehicle{}
}
