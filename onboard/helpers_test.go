package onboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/rediscredentials"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/inbox"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/marks"
	"github.com/smartcar-poller/smartcar-poller/onboard"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// rig is the daemon's onboarding endpoints on a test HTTP server, wired to
// the simulator, the shared Redis (token store) and the shared NATS (events
// and the webhook inbox, whose deliveries a consumer the rig runs hands to
// ProcessWebhook, as the daemon does).
type rig struct {
	sim    *smartcartest.Server
	srv    *httptest.Server
	h      *onboard.Handler
	store  *redisregistry.Store
	grants *rediscredentials.Store
	js     jetstream.JetStream
	pub    *events.Publisher
	inbox  *inbox.Inbox
	prefix string

	mu        sync.Mutex
	lastBody  []byte // the last webhook body received
	lastSig   string
	processed map[string]int           // eventId -> ProcessWebhook calls that succeeded
	waiting   map[string]chan struct{} // closed when the eventId is processed
	gate      chan struct{}            // while set, processing waits for it to close
}

func newRig(t *testing.T, simOpts ...smartcartest.Option) *rig {
	t.Helper()
	return newRigConfig(t, onboard.Config{}, simOpts...)
}

// newRigConfig is newRig with the handler's config (its scopes and
// management token are the rig's).
func newRigConfig(t *testing.T, cfg onboard.Config, simOpts ...smartcartest.Option) *rig {
	t.Helper()
	rdb := testserver.Redis(t)
	nc := testserver.NATS(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{js: js, prefix: testserver.Unique("onb"), processed: map[string]int{}, waiting: map[string]chan struct{}{}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	keyPrefix := r.prefix + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		keys, _ := rdb.Keys(ctx, keyPrefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		_ = js.DeleteStream(ctx, events.StreamName(r.prefix))
		_ = js.DeleteKeyValue(ctx, events.LatestBucket(r.prefix))
		_ = js.DeleteStream(ctx, inbox.StreamName(r.prefix))
	})
	if err := events.EnsureStream(ctx, js, events.StreamConfig{Prefix: r.prefix, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	pub, err := events.NewPublisher(js, events.PublisherConfig{Prefix: r.prefix})
	if err != nil {
		t.Fatal(err)
	}
	r.pub = pub
	if r.inbox, err = inbox.New(ctx, js, inbox.Config{Prefix: r.prefix, Storage: jetstream.MemoryStorage,
		FetchWait: 200 * time.Millisecond, Backoff: func(int) time.Duration { return 100 * time.Millisecond },
		Logger: testserver.Logger(t)}); err != nil {
		t.Fatal(err)
	}

	mux := http.NewServeMux()
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == onboard.PathWebhook {
			body, _ := io.ReadAll(req.Body)
			r.mu.Lock()
			r.lastBody, r.lastSig = body, req.Header.Get("SC-Signature")
			r.mu.Unlock()
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		mux.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.sim = smartcartest.NewServer(append([]smartcartest.Option{
		smartcartest.WithSeed(7), smartcartest.WithVehicles(3), smartcartest.WithoutLimits(),
		smartcartest.WithRedirectURI(r.srv.URL + onboard.PathCallback),
	}, simOpts...)...)
	t.Cleanup(r.sim.Close)

	o := r.sim.Origins()
	api := smartcar.NewClient(smartcar.WithAPIOrigin(o.API), smartcar.WithAuthOrigin(o.Auth),
		smartcar.WithConnectOrigin(o.Connect), smartcar.WithManagementOrigin(o.Management))
	auth, err := smartcar.NewAuthClient(smartcar.WithClientID(r.sim.ClientID), smartcar.WithClientSecret(r.sim.ClientSecret),
		smartcar.WithRedirectURI(r.sim.RedirectURI), smartcar.WithMode("live"), smartcar.WithClient(api))
	if err != nil {
		t.Fatal(err)
	}
	r.store = redisregistry.New(rdb, keyPrefix)
	r.grants = rediscredentials.New(rdb, keyPrefix, nil)
	mgr := credentials.NewManager(r.grants, auth, credentials.ManagerConfig{}, nil)
	cfg.Scopes = []string{"read_vehicle_info", "read_odometer", "read_location", "read_battery", "read_fuel"}
	cfg.ManagementToken = r.sim.ManagementToken
	r.h, err = onboard.New(cfg, testserver.Logger(t), onboard.Deps{Auth: auth, API: api, Grants: mgr, Registry: r.store,
		Marks: marks.NewRedis(rdb, keyPrefix), Publisher: pub, Latest: pub, Inbox: r.inbox})
	if err != nil {
		t.Fatal(err)
	}
	r.h.Routes(mux, true, true)
	r.consume(t, r.inbox)
	return r
}

// consume runs a consumer of b, as the daemon does, until the test ends:
// each delivery goes to ProcessWebhook once the gate (if any) opens, and
// its success is recorded.
func (r *rig) consume(t *testing.T, b *inbox.Inbox) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- b.Consume(ctx, 4, func(ctx context.Context, d inbox.Delivery) error {
			r.mu.Lock()
			gate := r.gate
			r.mu.Unlock()
			if gate != nil {
				select {
				case <-gate:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if err := r.h.ProcessWebhook(ctx, d.Body, d.Received); err != nil {
				return err
			}
			r.mu.Lock()
			r.processed[d.ID]++
			if c, ok := r.waiting[d.ID]; ok {
				close(c)
				delete(r.waiting, d.ID)
			}
			r.mu.Unlock()
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("consume the inbox: %v", err)
		}
	})
}

// waitProcessed waits until the delivery eventID was processed.
func (r *rig) waitProcessed(t *testing.T, eventID string) {
	t.Helper()
	r.mu.Lock()
	if r.processed[eventID] > 0 {
		r.mu.Unlock()
		return
	}
	c, ok := r.waiting[eventID]
	if !ok {
		c = make(chan struct{})
		r.waiting[eventID] = c
	}
	r.mu.Unlock()
	select {
	case <-c:
	case <-time.After(30 * time.Second):
		t.Fatalf("delivery %s not processed within 30s", eventID)
	}
}

// send has the simulator deliver a webhook event about vehicleID and waits
// until it is processed; it returns the body.
func (r *rig) send(t *testing.T, eventType, vehicleID string) []byte {
	t.Helper()
	if err := r.sim.SendWebhook(ctxT(t), r.webhookURL(), eventType, vehicleID); err != nil {
		t.Fatal(err)
	}
	body, _ := r.last()
	r.waitProcessed(t, eventIDOf(t, body))
	return body
}

// eventIDOf returns a delivery's eventId.
func eventIDOf(t *testing.T, body []byte) string {
	t.Helper()
	var wh struct {
		EventID string `json:"eventId"`
	}
	if err := json.Unmarshal(body, &wh); err != nil || wh.EventID == "" {
		t.Fatalf("delivery %s: no eventId (%v)", body, err)
	}
	return wh.EventID
}

func (r *rig) webhookURL() string { return r.srv.URL + onboard.PathWebhook }

// browser is an HTTP client with cookies that records the redirects it follows.
type browser struct {
	*http.Client
	mu        sync.Mutex
	redirects []string
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{}
	b.Client = &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		b.mu.Lock()
		b.redirects = append(b.redirects, req.URL.String())
		b.mu.Unlock()
		return nil
	}}
	return b
}

// get fetches url and returns the status and body.
func (b *browser) get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := b.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// callbackURL is the last redirect to /callback the browser followed.
func (b *browser) callbackURL(t *testing.T) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.redirects) - 1; i >= 0; i-- {
		if strings.Contains(b.redirects[i], onboard.PathCallback) {
			return b.redirects[i]
		}
	}
	t.Fatalf("no redirect to %s in %v", onboard.PathCallback, b.redirects)
	return ""
}

// events returns every event in the rig's stream, each checked against its
// JSON Schema.
func (r *rig) events(t *testing.T) []events.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := r.js.Stream(ctx, events.StreamName(r.prefix))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Event
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		if err := events.Validate(m.Data); err != nil {
			t.Errorf("event %d fails its schema: %v\n%s", seq, err, m.Data)
		}
		ev, err := events.Parse(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// register adds the simulator's vehicles to the registry, as a Connect would.
func (r *rig) register(t *testing.T, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := r.store.PutVehicle(context.Background(), registry.Vehicle{ID: id, GrantID: "g", Status: events.StatusConnected}); err != nil {
			t.Fatal(err)
		}
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// Transport returns the browser's transport (the default one).
func (b *browser) Transport(t *testing.T) http.RoundTripper {
	if b.Client.Transport != nil {
		return b.Client.Transport
	}
	return http.DefaultTransport
}

func mustRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
