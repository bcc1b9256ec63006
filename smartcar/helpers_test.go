package smartcar_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// reply is what the fake Smartcar answers.
type reply struct {
	status int
	header map[string]string
	body   string
	// hang, when set, makes the handler wait until the client goes away or
	// hang is closed, before answering.
	hang chan struct{}
}

// recorded is one request the fake Smartcar received.
type recorded struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     string
}

// fake is an httptest server that records requests and answers with one
// canned reply.
type fake struct {
	*httptest.Server
	mu   sync.Mutex
	got  []recorded
	resp reply
}

func serve(t *testing.T, r reply) *fake {
	t.Helper()
	f := &fake{resp: r}
	f.Server = httptest.NewServer(http.HandlerFunc(f.handle))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.got = append(f.got, recorded{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)})
	resp := f.resp
	f.mu.Unlock()
	if resp.hang != nil {
		select {
		case <-r.Context().Done():
		case <-resp.hang:
		}
		return
	}
	for k, v := range resp.header {
		w.Header().Set(k, v)
	}
	if resp.status == 0 {
		resp.status = http.StatusOK
	}
	w.WriteHeader(resp.status)
	_, _ = io.WriteString(w, resp.body)
}

// requests returns what the server received so far.
func (f *fake) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.got...)
}

// last returns the only request the server received.
func (f *fake) last(t *testing.T) recorded {
	t.Helper()
	got := f.requests()
	if len(got) != 1 {
		t.Fatalf("server received %d requests, want 1", len(got))
	}
	return got[0]
}

// client returns a Client whose every origin is the fake server.
func (f *fake) client(opts ...smartcar.ClientOption) *smartcar.Client {
	base := []smartcar.ClientOption{
		smartcar.WithAPIOrigin(f.URL),
		smartcar.WithAuthOrigin(f.URL),
		smartcar.WithConnectOrigin(f.URL),
		smartcar.WithManagementOrigin(f.URL),
		smartcar.WithHTTPClient(f.Client()),
	}
	return smartcar.NewClient(append(base, opts...)...)
}

// Response metadata headers used by most replies, and the Meta they give.
var (
	metaHeaders = map[string]string{
		"Content-Type":   "application/json",
		"SC-Request-Id":  "req-1",
		"SC-Data-Age":    "2018-06-20T01:33:37.078Z",
		"SC-Fetched-At":  "2018-06-20T01:34:00Z",
		"SC-Unit-System": "imperial",
	}
	wantMeta = smartcar.Meta{
		RequestID:  "req-1",
		DataAge:    time.Date(2018, 6, 20, 1, 33, 37, 78e6, time.UTC),
		FetchedAt:  time.Date(2018, 6, 20, 1, 34, 0, 0, time.UTC),
		UnitSystem: smartcar.Imperial,
	}
)

func ptr[T any](v T) *T { return &v }

// clearEnv empties every SMARTCAR_* variable for the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, name := range []string{
		smartcar.EnvAPIOrigin, smartcar.EnvAuthOrigin, smartcar.EnvConnectOrigin, smartcar.EnvManagementOrigin,
		smartcar.EnvClientID, smartcar.EnvClientSecret, smartcar.EnvRedirectURI,
	} {
		t.Setenv(name, "")
	}
}
