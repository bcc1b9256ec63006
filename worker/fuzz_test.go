package worker

import (
	"bytes"
	"context"
	"encoding/json"
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

// fuzzPaths are every path normalize knows, plus one it does not.
var fuzzPaths = append(events.Paths(), "/tesla/charge/ammeter")

// memBatch answers every request in memory with a 200 and body, so a fuzzer
// can run the SDK's real batch parsing many times a second.
type memBatch []byte

func (m memBatch) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(m)), ContentLength: -1, Request: r}, nil
}

// rawOrString is b when it is valid JSON, else b as a JSON string.
func rawOrString(b []byte) json.RawMessage {
	if json.Valid(b) {
		return b
	}
	s, _ := json.Marshal(string(b))
	return s
}

// itemFor builds a batch response with one item (path, code, headers, body),
// parses it with a real smartcar.Client and returns the item, or the error
// of the whole batch.
func itemFor(t *testing.T, path string, code int, headers, body []byte, unit smartcar.UnitSystem) (smartcar.BatchItem, error) {
	t.Helper()
	item := map[string]any{"path": path, "code": code, "body": rawOrString(body)}
	if len(headers) > 0 {
		item["headers"] = rawOrString(headers)
	}
	batch, err := json.Marshal(map[string]any{"responses": []any{item}})
	if err != nil {
		t.Fatal(err)
	}
	c := smartcar.NewClient(smartcar.WithAPIOrigin("http://api.invalid"), smartcar.WithUnitSystem(unit),
		smartcar.WithHTTPClient(&http.Client{Transport: memBatch(batch)}))
	res, err := c.Batch(t.Context(), "tok", "veh-1", []string{path})
	if err != nil {
		return smartcar.BatchItem{}, err
	}
	return res.Items()[0], nil
}

var fuzzJob = queue.PollJob{ID: "s/veh-1/1700000000", Schedule: "s", VehicleID: "veh-1",
	Tick: time.Unix(1700000000, 0).UTC(), Emit: "always"}

// validEvent fails unless ev encodes to JSON that passes its schema.
func validEvent(t *testing.T, ev events.Event) {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("encode event %+v: %v", ev, err)
	}
	if err := events.Validate(b); err != nil {
		t.Fatalf("event fails its schema: %v\n%s", err, b)
	}
}

// eventsFor does what deliver does with one item: a data event for a
// success normalize accepts, else an error event. Every event must validate.
func eventsFor(t *testing.T, w *Worker, item smartcar.BatchItem) (events.Event, error) {
	t.Helper()
	if item.Err != nil {
		ev, err := w.errorEvent(fuzzJob, item.Path, item.Err)
		if err != nil {
			t.Fatalf("error event of %v: %v", item.Err, err)
		}
		validEvent(t, ev)
		return ev, item.Err
	}
	sig, data, nerr := normalize(item, w.cfg.UnitSystem)
	if nerr == nil {
		if want, _ := events.SignalForPath(item.Path); sig != want {
			t.Fatalf("normalize(%s) gave signal %s, want %s", item.Path, sig, want)
		}
		ev, err := events.New(sig, fuzzJob.VehicleID, data, events.Meta{
			ID: events.EventID(fuzzJob.ID, item.Path), Time: item.Meta.DataAge, RequestID: item.Meta.RequestID,
			FetchedAt: item.Meta.FetchedAt, Schedule: fuzzJob.Schedule, Tick: fuzzJob.Tick,
		})
		if err != nil {
			t.Fatalf("normalize(%s) accepted %q but events.New fails: %v", item.Path, item.Body, err)
		}
		validEvent(t, ev)
		return ev, nil
	}
	e := &smartcar.Error{StatusCode: item.StatusCode, Type: smartcar.TypeSDK, Code: "NORMALIZE",
		Description: nerr.Error(), RequestID: item.Meta.RequestID}
	ev, err := w.errorEvent(fuzzJob, item.Path, e)
	if err != nil {
		t.Fatalf("error event of %v: %v", e, err)
	}
	validEvent(t, ev)
	return ev, nerr
}

// FuzzNormalize runs any batch item (path, status code, headers, body, unit
// system) through the SDK's batch parsing and the worker's normalization.
// Nothing panics; a success gives an event that passes its JSON Schema, and
// anything else gives an error event that passes its schema.
func FuzzNormalize(f *testing.F) {
	bodies := map[string]string{
		"/":                          `{"id":"v","make":"TESLA","model":"Model 3","year":2020}`,
		"/vin":                       `{"vin":"5YJ3E1EA1KF000001"}`,
		"/odometer":                  `{"distance":1234.5}`,
		"/location":                  `{"latitude":51.5,"longitude":-0.12}`,
		"/battery":                   `{"percentRemaining":0.5,"range":300}`,
		"/battery/capacity":          `{"capacity":75}`,
		"/battery/nominal_capacity":  `{"availableCapacities":[{"capacity":75,"description":null}],"capacity":{"nominal":75,"source":"SMARTCAR"},"url":null}`,
		"/charge":                    `{"isPluggedIn":true,"state":"CHARGING"}`,
		"/charge/limit":              `{"limit":0.8}`,
		"/fuel":                      `{"amountRemaining":30,"percentRemaining":0.6,"range":500}`,
		"/tires/pressure":            `{"frontLeft":230,"frontRight":230,"backLeft":240,"backRight":240}`,
		"/engine/oil":                `{"lifeRemaining":0.7}`,
		"/security":                  `{"isLocked":false,"doors":[{"type":"frontLeft","status":"UNLOCKED"}],"chargingPort":[]}`,
		"/diagnostics/system_status": `{"systems":[{"systemId":"SYSTEM_TPMS","status":"ALERT","description":"low"}]}`,
		"/diagnostics/dtcs":          `{"activeCodes":[{"code":"P0300","timestamp":"2024-01-01T00:00:00.000Z"}]}`,
	}
	for i, p := range fuzzPaths {
		body := cmpOr(bodies[p], `{"amperage":7}`)
		f.Add(uint8(i), 200, []byte(`{"sc-unit-system":"imperial","sc-data-age":"2024-05-01T10:00:00Z","sc-request-id":"r"}`), []byte(body), false)
		f.Add(uint8(i), 200, []byte(nil), []byte(body), true)
		f.Add(uint8(i), 200, []byte(nil), []byte(`{}`), false)
		f.Add(uint8(i), 200, []byte(nil), []byte(`null`), false)
	}
	f.Add(pathIndex("/"), 200, []byte(nil), []byte(`{"make":"","model":"x","year":1800}`), false)
	f.Add(pathIndex("/odometer"), 200, []byte(nil), []byte(`{"distance":1.7e308}`), true)
	f.Add(pathIndex("/odometer"), 200, []byte(nil), []byte(`{"distance":-1}`), false)
	f.Add(pathIndex("/odometer"), 200, []byte(nil), []byte(`{"distance":"12"}`), false)
	f.Add(pathIndex("/odometer"), 200, []byte(`{"sc-data-age":"9999-12-31T23:59:59-23:59"}`), []byte(`{"distance":1}`), false)
	f.Add(pathIndex("/odometer"), 200, []byte(`{"sc-data-age":"0000-01-01T00:00:00+01:00"}`), []byte(`{"distance":1}`), false)
	f.Add(pathIndex("/location"), 200, []byte(nil), []byte(`[1,2]`), false)
	f.Add(pathIndex("/battery"), 200, []byte(nil), []byte(`{"percentRemaining":5,"range":1}`), false)
	f.Add(pathIndex("/diagnostics/dtcs"), 200, []byte(nil), []byte(`{"activeCodes":[]}`), false)
	f.Add(pathIndex("/diagnostics/dtcs"), 200, []byte(nil), []byte(`{"activeCodes":[{"code":"P1","timestamp":"0000-01-01T00:00:00+23:59"}]}`), false)
	f.Add(pathIndex("/diagnostics/system_status"), 200, []byte(nil), []byte(`{"systems":[{"systemId":"","status":"OK"}]}`), false)
	f.Add(pathIndex("/security"), 200, []byte(nil), []byte(`{"isLocked":true,"doors":[{"type":"d","status":"AJAR"}]}`), false)
	f.Add(pathIndex("/charge"), 700, []byte(nil), []byte(`{}`), false)
	f.Add(pathIndex("/charge"), 429, []byte(`{"retry-after":"1e9"}`), []byte(`{"type":"RATE_LIMIT","code":"VEHICLE"}`), false)
	f.Add(pathIndex("/charge"), 503, []byte(`{"retry-after":"-1"}`), []byte(`<html>`), false)
	f.Add(pathIndex("/vin"), 200, []byte(`["x"]`), []byte(`{"vin":"x"}`), false)
	f.Add(pathIndex("/vin"), 200, []byte(nil), []byte(`{"vin":"`+strings.Repeat("A", 18)+`"}`), false)
	f.Add(pathIndex("/vin"), 200, []byte(nil), []byte(strings.Repeat("[", 3000)+strings.Repeat("]", 3000)), false)
	f.Fuzz(func(t *testing.T, pathIdx uint8, code int, headers, body []byte, imperial bool) {
		unit := smartcar.Metric
		if imperial {
			unit = smartcar.Imperial
		}
		path := fuzzPaths[int(pathIdx)%len(fuzzPaths)]
		w := &Worker{cfg: Config{UnitSystem: unit}.withDefaults()}
		item, err := itemFor(t, path, code, headers, body, unit)
		if err != nil {
			e, ok := smartcar.AsError(err)
			if !ok {
				t.Fatalf("batch error %v is a %T, want *smartcar.Error", err, err)
			}
			ev, err := w.errorEvent(fuzzJob, path, e)
			if err != nil {
				t.Fatalf("error event of %v: %v", e, err)
			}
			validEvent(t, ev)
			return
		}
		eventsFor(t, w, item)
	})
}

func pathIndex(p string) uint8 { return uint8(slices.Index(fuzzPaths, p)) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestNormalize_hostileBodies: items with the wrong shape or impossible
// values are rejected by normalize and reported as a valid error event.
func TestNormalize_hostileBodies(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 3000) + "1" + strings.Repeat("}", 3000)
	tests := []struct {
		path, body, want string
	}{
		{"/odometer", `{"distance":"12"}`, "decode /odometer"},
		{"/odometer", `[{"distance":12}]`, "decode /odometer"},
		{"/odometer", `{}`, `missing "distance"`},
		{"/odometer", `null`, "not a JSON object"},
		{"/odometer", `{"distance":null}`, `missing "distance"`},
		{"/odometer", `{"distance":-3}`, "distance -3 is negative"},
		{"/odometer", `{"distance":1e999}`, "decode /odometer"},
		{"/odometer", deep, `missing "distance"`},
		{"/location", `{"latitude":91,"longitude":0}`, "latitude 91 is outside"},
		{"/location", `{"latitude":"north","longitude":0}`, "decode /location"},
		{"/location", `{"longitude":0}`, `missing "latitude"`},
		{"/battery", `{"percentRemaining":50,"range":100}`, "percentRemaining 50 is outside"},
		{"/fuel", `{"amountRemaining":-1,"percentRemaining":0.5,"range":1}`, "amountRemaining -1"},
		{"/charge", `{"isPluggedIn":"yes","state":"CHARGING"}`, "decode /charge"},
		{"/charge", `{"isPluggedIn":true,"state":"SLEEPING"}`, `state "SLEEPING"`},
		{"/charge/limit", `{"limit":80}`, "limit 80 is outside"},
		{"/engine/oil", `{"lifeRemaining":-0.1}`, "lifeRemaining -0.1"},
		{"/tires/pressure", `{"frontLeft":1,"frontRight":1,"backLeft":1}`, `missing "backRight"`},
		{"/security", `{"isLocked":true,"doors":{"frontLeft":"OPEN"}}`, "decode /security"},
		{"/security", `{"isLocked":true,"doors":[{"type":"","status":"OPEN"}]}`, "opening type is empty"},
		{"/", `{"make":"TESLA","model":"3","year":"2020"}`, "decode /"},
		{"/", `{"make":"TESLA","model":"3","year":3000}`, "year 3000 is outside"},
		{"/vin", `{"vin":"not a vin!"}`, "is not 1-17 letters"},
		{"/battery/nominal_capacity", `{"capacity":{"nominal":75,"source":"GUESS"}}`, `source "GUESS"`},
		{"/diagnostics/system_status", `{"systems":[{"systemId":"X","status":"BROKEN"}]}`, `system status "BROKEN"`},
		{"/diagnostics/dtcs", `{"activeCodes":[{"code":""}]}`, "trouble code is empty"},
		{"/diagnostics/dtcs", `{"activeCodes":[{"code":"P1","timestamp":"yesterday"}]}`, "decode /diagnostics/dtcs"},
	}
	w := &Worker{cfg: Config{}.withDefaults()}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.body[:min(len(tt.body), 40)], func(t *testing.T) {
			item, err := itemFor(t, tt.path, 200, nil, []byte(tt.body), smartcar.Metric)
			if err != nil {
				t.Fatalf("batch: %v", err)
			}
			ev, err := eventsFor(t, w, item)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("normalize error = %v, want one containing %q", err, tt.want)
			}
			var data events.ErrorData
			if err := ev.DecodeData(&data); err != nil {
				t.Fatal(err)
			}
			if data.Code != "NORMALIZE" || data.Path != tt.path {
				t.Errorf("error event data = %+v, want code NORMALIZE for %s", data, tt.path)
			}
		})
	}
}

// TestNormalize_edgeValues: values at the edges of the schemas, and empty
// lists, are accepted.
func TestNormalize_edgeValues(t *testing.T) {
	tests := []struct{ path, body string }{
		{"/diagnostics/dtcs", `{"activeCodes":[]}`},
		{"/diagnostics/system_status", `{"systems":[]}`},
		{"/battery", `{"percentRemaining":1,"range":0}`},
		{"/location", `{"latitude":-90,"longitude":180}`},
		{"/battery/nominal_capacity", `{"availableCapacities":[],"capacity":null,"url":null}`},
		{"/", `{"make":"FORD","model":"F","year":1900}`},
	}
	w := &Worker{cfg: Config{}.withDefaults()}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			item, err := itemFor(t, tt.path, 200, nil, []byte(tt.body), smartcar.Metric)
			if err != nil {
				t.Fatalf("batch: %v", err)
			}
			ev, err := eventsFor(t, w, item)
			if err != nil {
				t.Fatalf("normalize(%s): %v", tt.body, err)
			}
			if s, _ := ev.Signal(); s == events.SignalError {
				t.Fatalf("got an error event for %s", tt.body)
			}
		})
	}
}

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
