package worker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/rediscredentials"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

var fuzzJob = queue.PollJob{ID: "s/veh-1/1700000000", Schedule: "s", VehicleID: "veh-1",
	Tick: time.Unix(1700000000, 0).UTC(), Emit: "always"}

// hostileSetup wires a Worker to real parts (Redis token store, JetStream
// events stream and queue, the simulator for tokens) with its Smartcar API
// origin pointing at handler.
func hostileSetup(t *testing.T, handler http.Handler) (*Worker, jetstream.JetStream, string, string) {
	t.Helper()
	ctx := t.Context()
	rdb := testserver.Redis(t)
	js, err := jetstream.New(testserver.NATS(t))
	if err != nil {
		t.Fatal(err)
	}
	prefix := testserver.Unique("wkfz")
	if err := events.EnsureStream(ctx, js, events.StreamConfig{Prefix: prefix, MaxAge: time.Hour, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	q, err := queue.New(ctx, js, queue.Config{Prefix: prefix, Storage: jetstream.MemoryStorage})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c := context.Background()
		_ = js.DeleteStream(c, events.StreamName(prefix))
		_ = js.DeleteKeyValue(c, events.LatestBucket(prefix))
		_ = js.DeleteStream(c, q.Stream())
		_ = js.DeleteKeyValue(c, queue.FailuresBucket(prefix))
		if keys, _ := rdb.Keys(c, prefix+":*").Result(); len(keys) > 0 {
			rdb.Del(c, keys...)
		}
	})
	pub, err := events.NewPublisher(js, events.PublisherConfig{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	store := redisregistry.New(rdb, prefix+":")
	sim := smartcartest.NewServer(smartcartest.WithSeed(11), smartcartest.WithVehicles(1))
	t.Cleanup(sim.Close)
	api := httptest.NewServer(handler)
	t.Cleanup(api.Close)
	client := smartcar.NewClient(smartcar.WithAPIOrigin(api.URL), smartcar.WithAuthOrigin(sim.Origins().Auth),
		smartcar.WithMaxResponseBytes(64<<10))
	auth, err := smartcar.NewAuthClient(smartcar.WithClientID(sim.ClientID), smartcar.WithClientSecret(sim.ClientSecret),
		smartcar.WithRedirectURI(sim.RedirectURI), smartcar.WithClient(client))
	if err != nil {
		t.Fatal(err)
	}
	mgr := credentials.NewManager(rediscredentials.New(rdb, prefix+":", nil), auth, credentials.ManagerConfig{}, nil)
	grant := sim.Connect(nil, nil)
	access, err := auth.ExchangeRefreshToken(ctx, grant.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	vehicle := sim.Vehicles()[0].ID
	if err := mgr.Connect(ctx, grant.UserID, access); err != nil {
		t.Fatal(err)
	}
	if err := store.PutVehicle(ctx, registry.Vehicle{ID: vehicle, GrantID: grant.UserID, UserID: grant.UserID}); err != nil {
		t.Fatal(err)
	}
	// MaxAttempts 1: every failure is reported at once as an error event.
	w, err := New(Config{MaxAttempts: 1}, nil, Deps{Tokens: mgr, API: client, Registry: store, Publisher: pub,
		Enqueuer: q, Limiter: rate.NewLimiter(rate.Inf, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return w, js, prefix, vehicle
}

// storedEvents returns every event of the stream, each checked against its schema.
func storedEvents(t *testing.T, js jetstream.JetStream, prefix string) []events.Event {
	t.Helper()
	ctx := t.Context()
	s, err := js.Stream(ctx, events.StreamName(prefix))
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
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := events.Validate(m.Data); err != nil {
			t.Errorf("stored event fails its schema: %v\n%s", err, m.Data)
		}
		ev, err := events.Parse(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// outcome is what a stored event says about one path: the signal, or the
// error type:code.
func outcome(t *testing.T, ev events.Event) (string, string) {
	t.Helper()
	s, _ := ev.Signal()
	if s != events.SignalError {
		return "", string(s)
	}
	var d events.ErrorData
	if err := ev.DecodeData(&d); err != nil {
		t.Fatal(err)
	}
	return d.Path, d.Type + ":" + d.Code
}

func TestHandle_hostileItems(t *testing.T) {
	body := `{"responses":[
		{"path":"/odometer","code":200,"body":{"distance":"far"}},
		{"path":"/location","code":200,"body":[1,2]},
		{"path":"/vin","code":200,"body":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `},
		{"path":"/battery","code":200,"body":{"percentRemaining":5,"range":10}},
		{"path":"/charge","code":700,"body":{}},
		{"path":"/security","code":200,"body":{"isLocked":true,"doors":[{"type":"frontLeft","status":"AJAR"}]}},
		{"path":"/diagnostics/dtcs","code":200,"body":{"activeCodes":[]}}]}`
	w, js, prefix, vehicle := hostileSetup(t, http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(rw, body)
	}))
	paths := []string{"/odometer", "/location", "/vin", "/battery", "/charge", "/security", "/diagnostics/dtcs"}
	j := fuzzJob
	j.VehicleID, j.Paths = vehicle, paths
	if err := w.Handle(t.Context(), j, queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	got := map[string]string{}
	for _, ev := range storedEvents(t, js, prefix) {
		path, what := outcome(t, ev)
		got[path] = what
	}
	want := map[string]string{
		"/odometer": "SDK_ERROR:NORMALIZE", "/location": "SDK_ERROR:NORMALIZE", "/vin": "SDK_ERROR:NORMALIZE",
		"/battery": "SDK_ERROR:NORMALIZE", "/charge": "SDK_ERROR:INVALID_RESPONSE", "/security": "SDK_ERROR:NORMALIZE",
		"": "diagnostics",
	}
	if !mapsEqual(got, want) {
		t.Errorf("stored outcomes = %v, want %v", got, want)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestHandle_hostileResponses(t *testing.T) {
	deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantCode string
	}{
		{"endless body", func(rw http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(rw, `{"responses":[{"path":"/odometer","code":200,"body":"`)
			for r.Context().Err() == nil {
				if _, err := io.WriteString(rw, strings.Repeat("x", 1024)); err != nil {
					return
				}
			}
		}, "RESPONSE_TOO_LARGE"},
		{"deep nesting", func(rw http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(rw, `{"responses":`+deep+`}`)
		}, "INVALID_RESPONSE"},
		{"wrong types", func(rw http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(rw, `{"responses":[{"path":"/odometer","code":"200","body":{}}]}`)
		}, "INVALID_RESPONSE"},
		{"truncated", func(rw http.ResponseWriter, _ *http.Request) {
			rw.Header().Set("Content-Length", "1000")
			_, _ = io.WriteString(rw, `{"responses":[{"path":"/odo`)
		}, "INVALID_RESPONSE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, js, prefix, vehicle := hostileSetup(t, tt.handler)
			j := fuzzJob
			j.VehicleID, j.Paths = vehicle, []string{"/odometer", "/location"}
			err := w.Handle(t.Context(), j, queue.Delivery{Deliveries: 1})
			if err != nil && !queue.IsDrop(err) {
				t.Fatalf("Handle = %v, want the job done (nil or dropped) after its last attempt", err)
			}
			var got []string
			for _, ev := range storedEvents(t, js, prefix) {
				path, what := outcome(t, ev)
				got = append(got, path+" "+what)
			}
			slices.Sort(got)
			want := []string{"/location SDK_ERROR:" + tt.wantCode, "/odometer SDK_ERROR:" + tt.wantCode}
			if !slices.Equal(got, want) {
				t.Errorf("stored events = %q, want %q", got, want)
			}
		})
	}
}
