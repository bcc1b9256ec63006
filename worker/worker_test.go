package worker_test

import (
	"context"
	"errors"
	"math"
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
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// fixture wires a Worker to real parts: the simulator, JetStream on the
// shared NATS server, the Redis registry and credentials and the SDK.
type fixture struct {
	sim    *smartcartest.Server
	js     jetstream.JetStream
	prefix string
	q      *queue.Queue
	pub    *events.Publisher
	store  *redisregistry.Store
	grants *rediscredentials.Store
	mgr    *credentials.Manager
	client *smartcar.Client
	app    *smartcar.AppClient // API v3 as the application
	w      *worker.Worker
	user   string
	bev    string // a battery-electric vehicle of the grant
	ice    string // a combustion vehicle of the grant
}

// fixedClock makes the simulated vehicles stand still, so values can be compared exactly.
var fixedClock = smartcartest.WithClock(func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) })

func setup(t *testing.T, cfg worker.Config, simOpts ...smartcartest.Option) *fixture {
	t.Helper()
	ctx := t.Context()
	rdb := testserver.Redis(t)
	nc := testserver.NATS(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{js: js, prefix: testserver.Unique("wk")}
	f.sim = smartcartest.NewServer(append([]smartcartest.Option{smartcartest.WithSeed(7), smartcartest.WithVehicles(3)}, simOpts...)...)
	t.Cleanup(f.sim.Close)

	if err := events.EnsureStream(ctx, js, events.StreamConfig{Prefix: f.prefix, MaxAge: time.Hour, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	if f.q, err = queue.New(ctx, js, queue.Config{Prefix: f.prefix, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c := context.Background()
		_ = js.DeleteStream(c, events.StreamName(f.prefix))
		_ = js.DeleteKeyValue(c, events.LatestBucket(f.prefix))
		_ = js.DeleteStream(c, f.q.Stream())
		_ = js.DeleteKeyValue(c, queue.FailuresBucket(f.prefix))
	})
	if f.pub, err = events.NewPublisher(js, events.PublisherConfig{Prefix: f.prefix}); err != nil {
		t.Fatal(err)
	}
	f.store = redisregistry.New(rdb, f.prefix+":")
	f.grants = rediscredentials.New(rdb, f.prefix+":", nil)
	t.Cleanup(func() {
		c := context.Background()
		keys, _ := rdb.Keys(c, f.prefix+":*").Result()
		if len(keys) > 0 {
			rdb.Del(c, keys...)
		}
	})
	o := f.sim.Origins()
	f.client = smartcar.NewClient(smartcar.WithAPIOrigin(o.API), smartcar.WithAuthOrigin(o.Auth),
		smartcar.WithUnitSystem(cmpUnit(cfg.UnitSystem)))
	auth, err := smartcar.NewAuthClient(smartcar.WithClientID(f.sim.ClientID), smartcar.WithClientSecret(f.sim.ClientSecret),
		smartcar.WithRedirectURI(f.sim.RedirectURI), smartcar.WithClient(f.client))
	if err != nil {
		t.Fatal(err)
	}
	// As cmd wires it: a rejected grant's vehicles become needs_reauth.
	f.mgr = credentials.NewManager(f.grants, auth, credentials.ManagerConfig{
		OnReauth: func(ctx context.Context, grantID, reason string) error {
			_, err := registry.SetGrantStatus(ctx, f.store, grantID, events.StatusNeedsReauth, reason)
			return err
		},
	}, nil)

	// Connect the first user's grant the way cmd does: spend the refresh token, store the new pair.
	grant := f.sim.Connect(nil, nil)
	access, err := auth.ExchangeRefreshToken(ctx, grant.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	f.user = grant.UserID
	var vs []registry.Vehicle
	for _, v := range f.sim.Vehicles() {
		if v.UserID != grant.UserID {
			continue
		}
		vs = append(vs, registry.Vehicle{ID: v.ID, GrantID: grant.UserID, UserID: grant.UserID})
		switch {
		case v.Kind == smartcartest.BEV && f.bev == "":
			f.bev = v.ID
		case v.Kind == smartcartest.ICE && f.ice == "":
			f.ice = v.ID
		}
	}
	if f.bev == "" || f.ice == "" {
		t.Fatalf("simulator grant lacks a BEV and an ICE vehicle: %+v", f.sim.Vehicles())
	}
	if err := f.mgr.Connect(ctx, grant.UserID, access); err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if err := f.store.PutVehicle(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	if f.app, err = smartcar.NewAppClient(&smartcar.AppClientOptions{ClientID: f.sim.ClientID, ClientSecret: f.sim.ClientSecret,
		IAMOrigin: o.IAM, APIOrigin: o.APIV3, ManagementOrigin: o.ManagementV3}); err != nil {
		t.Fatal(err)
	}
	f.w, err = worker.New(cfg, nil, worker.Deps{
		Tokens: f.mgr, API: f.client, V3: appAPI{f.app}, Latest: f.pub, Registry: f.store, Publisher: f.pub, Changes: f.pub,
		Enqueuer: f.q, Limiter: rate.NewLimiter(rate.Inf, 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// appAPI is worker.SignalsAPI on the application client, as cmd adapts it.
type appAPI struct{ app *smartcar.AppClient }

func (a appAPI) Signals(ctx context.Context, vehicleID, userID string) (*smartcar.Signals, error) {
	return a.app.Vehicle(vehicleID, userID).Signals(ctx)
}

func (a appAPI) UserOf(ctx context.Context, vehicleID string) (string, error) {
	for c, err := range a.app.Connections(ctx, &smartcar.ConnectionsFilter{VehicleID: vehicleID}) {
		if err != nil {
			return "", err
		}
		return c.UserID, nil
	}
	return "", worker.ErrNoConnection
}

func cmpUnit(u smartcar.UnitSystem) smartcar.UnitSystem {
	if u == "" {
		return smartcar.Metric
	}
	return u
}

var tick0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func job(vehicle string, tick time.Time, emit string, paths ...string) queue.PollJob {
	return queue.PollJob{ID: queue.JobID("t", vehicle, tick), Schedule: "t", VehicleID: vehicle, Paths: paths, Tick: tick, Emit: emit}
}

// stored returns every event in the events stream, each checked against its JSON Schema.
func (f *fixture) stored(t *testing.T) []events.Event {
	t.Helper()
	return readStream(t, f.js, events.StreamName(f.prefix), func(data []byte) events.Event {
		if err := events.Validate(data); err != nil {
			t.Errorf("stored event fails its schema: %v\n%s", err, data)
		}
		ev, err := events.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		return ev
	})
}

// queued returns the jobs waiting in the work queue (follow-ups the worker enqueued).
func (f *fixture) queued(t *testing.T) []string {
	t.Helper()
	return readStream(t, f.js, f.q.Stream(), func(data []byte) string { return string(data) })
}

func readStream[T any](t *testing.T, js jetstream.JetStream, name string, conv func([]byte) T) []T {
	t.Helper()
	ctx := t.Context()
	s, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, conv(m.Data))
	}
	return out
}

func bySignal(evs []events.Event) map[events.Signal][]events.Event {
	m := map[events.Signal][]events.Event{}
	for _, ev := range evs {
		s, _ := ev.Signal()
		m[s] = append(m[s], ev)
	}
	return m
}

func TestHandle_PublishesOneEventPerPath(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	j := job(f.bev, tick0, "always", "/odometer", "/location", "/battery")
	if err := f.w.Handle(t.Context(), j, queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	// A redelivered job (e.g. after a crash before the ack) must not duplicate events.
	if err := f.w.Handle(t.Context(), j, queue.Delivery{Deliveries: 2}); err != nil {
		t.Fatalf("Handle again: %v", err)
	}
	evs := f.stored(t)
	if len(evs) != 3 {
		t.Fatalf("stored %d events, want 3: %+v", len(evs), evs)
	}
	st, ok := f.sim.VehicleState(f.bev)
	if !ok {
		t.Fatal("no simulator state")
	}
	got := bySignal(evs)
	var odo events.OdometerData
	if err := got[events.SignalOdometer][0].DecodeData(&odo); err != nil {
		t.Fatal(err)
	}
	if !within(odo.DistanceKm, st.OdometerKm, 0.01) {
		t.Errorf("distance_km = %v, want the simulator's %v", odo.DistanceKm, st.OdometerKm)
	}
	var loc events.LocationData
	if err := got[events.SignalLocation][0].DecodeData(&loc); err != nil {
		t.Fatal(err)
	}
	if !within(loc.Latitude, st.Latitude, 1e-6) || !within(loc.Longitude, st.Longitude, 1e-6) {
		t.Errorf("location = %+v, want %v,%v", loc, st.Latitude, st.Longitude)
	}
	var bat events.BatteryData
	if err := got[events.SignalBattery][0].DecodeData(&bat); err != nil {
		t.Fatal(err)
	}
	if !within(bat.PercentRemaining, st.BatteryPercent, 1e-4) {
		t.Errorf("percent_remaining = %v, want %v", bat.PercentRemaining, st.BatteryPercent)
	}
	for _, ev := range evs {
		if ev.Subject != f.bev || ev.Schedule != "t" || !ev.Tick.Equal(tick0) || ev.RequestID == "" || ev.Time.IsZero() {
			t.Errorf("event envelope incomplete: %+v", ev)
		}
	}
	if ev := got[events.SignalOdometer][0]; ev.ID != events.EventID(j.ID, "/odometer") {
		t.Errorf("odometer event id = %s, want EventID(job, path)", ev.ID)
	}
	v, err := f.store.GetVehicle(t.Context(), f.bev)
	if err != nil || v.LastPoll.IsZero() {
		t.Errorf("last poll not recorded: %+v, %v", v, err)
	}
}

func TestHandle_OnChangeSkipsUnchangedValues(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	paths := []string{"/odometer", "/location"}
	for i := range 3 {
		if err := f.w.Handle(t.Context(), job(f.bev, tick0.Add(time.Duration(i)*time.Minute), "on_change", paths...), queue.Delivery{Deliveries: 1}); err != nil {
			t.Fatalf("Handle %d: %v", i, err)
		}
	}
	if n := len(f.stored(t)); n != 2 {
		t.Errorf("stored %d events for 3 polls of unchanged data, want 2 (the first poll's)", n)
	}
	if got := f.w.Stats().Snapshot().Unchanged; got != 4 {
		t.Errorf("unchanged = %d, want 4", got)
	}
}

func TestHandle_OnChangeEmitsMovingValues(t *testing.T) {
	// A real clock at 600x: the vehicle moves between polls.
	f := setup(t, worker.Config{}, smartcartest.WithTimeScale(600))
	f.sim.SetPlugged(f.bev, false)
	var distances []float64
	for i := range 3 {
		if err := f.w.Handle(t.Context(), job(f.bev, tick0.Add(time.Duration(i)*time.Minute), "on_change", "/odometer"), queue.Delivery{Deliveries: 1}); err != nil {
			t.Fatalf("Handle %d: %v", i, err)
		}
		for _, ev := range f.stored(t)[len(distances):] {
			var d events.OdometerData
			if err := ev.DecodeData(&d); err != nil {
				t.Fatal(err)
			}
			distances = append(distances, d.DistanceKm)
		}
		time.Sleep(20 * time.Millisecond) // lets simulated time (and the data's age) advance
	}
	if len(distances) != 3 {
		t.Fatalf("got %d odometer events over 3 polls of advancing data, want 3", len(distances))
	}
	if !slices.IsSorted(distances) {
		t.Errorf("odometer went backwards: %v", distances)
	}
}

func TestHandle_ImperialIsNormalizedToMetric(t *testing.T) {
	f := setup(t, worker.Config{UnitSystem: smartcar.Imperial}, fixedClock)
	if err := f.w.Handle(t.Context(), job(f.ice, tick0, "always", "/odometer", "/fuel"), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatal(err)
	}
	st, _ := f.sim.VehicleState(f.ice)
	got := bySignal(f.stored(t))
	var odo events.OdometerData
	var fuel events.FuelData
	if err := got[events.SignalOdometer][0].DecodeData(&odo); err != nil {
		t.Fatal(err)
	}
	if err := got[events.SignalFuel][0].DecodeData(&fuel); err != nil {
		t.Fatal(err)
	}
	if !near(odo.DistanceKm, st.OdometerKm) {
		t.Errorf("distance_km = %v from miles, want %v", odo.DistanceKm, st.OdometerKm)
	}
	if !near(fuel.AmountRemainingL, st.FuelLitres) || !near(fuel.RangeKm, st.FuelRangeKm) {
		t.Errorf("fuel = %+v, want %v l and %v km", fuel, st.FuelLitres, st.FuelRangeKm)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-3*math.Max(1, math.Abs(b)) }

// within allows for the simulator rounding its answers (2 decimals for km, 6 for degrees).
func within(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestHandle_ItemRetryAfterHoldsVehicleAndRetriesOnlyThatPath(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	f.sim.SetFault(f.bev, "/odometer", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 40 * time.Second, Times: 1})
	j := job(f.bev, tick0, "always", "/odometer", "/location")
	before := time.Now()
	if err := f.w.Handle(t.Context(), j, queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	got := bySignal(f.stored(t))
	if len(got[events.SignalLocation]) != 1 || len(got[events.SignalOdometer]) != 0 {
		t.Errorf("events = %v, want the location only", got)
	}
	if st := got[events.SignalStatus]; len(st) != 1 || !strings.Contains(string(st[0].Data), "rate_limited") {
		t.Errorf("status events = %v, want one rate_limited", st)
	}
	until, err := f.store.Hold(t.Context(), f.bev)
	if err != nil {
		t.Fatal(err)
	}
	if d := until.Sub(before); d < 39*time.Second || d > 42*time.Second {
		t.Errorf("hold = %v from now, want about 40s", d)
	}
	jobs := f.queued(t)
	if len(jobs) != 1 || !strings.Contains(jobs[0], `"/odometer"`) || strings.Contains(jobs[0], `"/location"`) {
		t.Fatalf("follow-up jobs = %v, want one for /odometer only", jobs)
	}
	// The follow-up (and any other job for the vehicle) waits for the hold without calling Smartcar.
	calls := f.sim.Stats().Requests
	follow := j
	follow.ID, follow.Paths = j.ID+"|1", []string{"/odometer"}
	err = f.w.Handle(t.Context(), follow, queue.Delivery{Deliveries: 1})
	d, ok := queue.SnoozeDelay(err)
	if !ok || d < 38*time.Second || d > 41*time.Second {
		t.Errorf("follow-up during the hold: %v (snooze %v), want a snooze of about 40s", err, d)
	}
	if s := f.sim.Stats(); s.Requests != calls || s.RetryAfterViolations != 0 {
		t.Errorf("simulator saw %d new requests and %d Retry-After violations, want 0 and 0", s.Requests-calls, s.RetryAfterViolations)
	}
}

func TestHandle_BatchRetryAfterSnoozesJob(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	f.sim.SetFault(f.bev, "/batch", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 20 * time.Second, Times: 1})
	err := f.w.Handle(t.Context(), job(f.bev, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1})
	if d, ok := queue.SnoozeDelay(err); !ok || d != 20*time.Second {
		t.Fatalf("Handle = %v, want a 20s snooze", err)
	}
	if until, _ := f.store.Hold(t.Context(), f.bev); time.Until(until) < 15*time.Second {
		t.Errorf("hold until %v, want about 20s from now", until)
	}
	// Another vehicle is not held.
	if err := f.w.Handle(t.Context(), job(f.ice, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1}); err != nil {
		t.Errorf("other vehicle: %v", err)
	}
}

func TestHandle_RevokedGrantMarksNeedsReauth(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	if n := f.sim.RevokeGrant(f.user); n == 0 {
		t.Fatal("RevokeGrant revoked nothing")
	}
	err := f.w.Handle(t.Context(), job(f.bev, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1})
	if !queue.IsDrop(err) {
		t.Fatalf("Handle = %v, want a drop", err)
	}
	v, err := f.store.GetVehicle(t.Context(), f.bev)
	if err != nil || string(v.Status) != string(events.StatusNeedsReauth) {
		t.Errorf("vehicle = %+v, %v; want status needs_reauth", v, err)
	}
	st := bySignal(f.stored(t))[events.SignalStatus]
	if len(st) != 1 || !strings.Contains(string(st[0].Data), `"needs_reauth"`) {
		t.Errorf("status events = %v, want one needs_reauth", st)
	}
	if s := f.sim.Stats(); s.SpentRefreshReuse != 0 {
		t.Errorf("spent refresh token reused %d times", s.SpentRefreshReuse)
	}
}

func TestHandle_PermanentItemErrorBecomesErrorEvent(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	// A BEV has no fuel tank: COMPATIBILITY, permanent.
	if err := f.w.Handle(t.Context(), job(f.bev, tick0, "always", "/fuel", "/odometer"), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatal(err)
	}
	got := bySignal(f.stored(t))
	var e events.ErrorData
	if len(got[events.SignalError]) != 1 {
		t.Fatalf("error events = %v, want 1", got[events.SignalError])
	}
	if err := got[events.SignalError][0].DecodeData(&e); err != nil {
		t.Fatal(err)
	}
	if e.Path != "/fuel" || e.Type != smartcar.TypeCompatibility {
		t.Errorf("error event = %+v, want /fuel COMPATIBILITY", e)
	}
	if len(got[events.SignalOdometer]) != 1 {
		t.Errorf("odometer events = %d, want 1", len(got[events.SignalOdometer]))
	}
	if jobs := f.queued(t); len(jobs) != 0 {
		t.Errorf("a permanent error was retried: %v", jobs)
	}
}

func TestHandle_RetryableItemErrorGivesUpAfterMaxAttempts(t *testing.T) {
	f := setup(t, worker.Config{MaxAttempts: 3}, fixedClock)
	f.sim.SetFault(f.bev, "/location", smartcartest.Fault{Type: "UPSTREAM", Code: "NO_RESPONSE", Status: 502})
	j := job(f.bev, tick0, "always", "/location")
	for gen := range 3 {
		jj := j
		if gen > 0 {
			jj.ID = j.ID + "|" + string(rune('0'+gen))
		}
		if err := f.w.Handle(t.Context(), jj, queue.Delivery{Deliveries: 1}); err != nil {
			t.Fatalf("generation %d: %v", gen, err)
		}
	}
	// Generations 0 and 1 enqueue follow-ups; generation 2 is the last and reports the error.
	if jobs := f.queued(t); len(jobs) != 2 {
		t.Errorf("follow-up jobs = %d, want 2", len(jobs))
	}
	errs := bySignal(f.stored(t))[events.SignalError]
	if len(errs) != 1 || !strings.Contains(string(errs[0].Data), "UPSTREAM") {
		t.Errorf("error events = %v, want one UPSTREAM", errs)
	}
}

func TestHandle_HTMLBadGatewayRetriesThenReports(t *testing.T) {
	f := setup(t, worker.Config{MaxAttempts: 2}, fixedClock)
	f.sim.SetFault(f.bev, "/batch", smartcartest.Fault{HTML502: true})
	j := job(f.bev, tick0, "always", "/odometer", "/location")
	err := f.w.Handle(t.Context(), j, queue.Delivery{Deliveries: 1})
	var se *smartcar.Error
	if err == nil || queue.IsDrop(err) || !errors.As(err, &se) || se.StatusCode != 502 {
		t.Fatalf("attempt 1 = %v, want a plain retryable error carrying the 502", err)
	}
	if err := f.w.Handle(t.Context(), j, queue.Delivery{Deliveries: 2, Failures: 1}); !queue.IsDrop(err) {
		t.Fatalf("last attempt = %v, want a drop", err)
	}
	if errs := bySignal(f.stored(t))[events.SignalError]; len(errs) != 2 {
		t.Errorf("error events = %d, want one per path (2)", len(errs))
	}
}

func TestHandle_AppRateLimitPausesAllCalls(t *testing.T) {
	f := setup(t, worker.Config{AppBackoff: time.Minute}, fixedClock, smartcartest.WithAppRateLimit(3, 0.001))
	// setup spent requests on the token exchange; drain the app bucket.
	var err error
	for range 5 {
		if err = f.w.Handle(t.Context(), job(f.bev, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1}); err != nil {
			break
		}
	}
	if d, ok := queue.SnoozeDelay(err); !ok || d != time.Minute {
		t.Fatalf("Handle after the bucket ran dry = %v, want a 1m snooze", err)
	}
	calls := f.sim.Stats().Requests
	err = f.w.Handle(t.Context(), job(f.ice, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1})
	if _, ok := queue.SnoozeDelay(err); !ok {
		t.Errorf("another vehicle during the pause = %v, want a snooze", err)
	}
	if n := f.sim.Stats().Requests - calls; n != 0 {
		t.Errorf("%d calls during the pause, want 0", n)
	}
}

func TestHandle_RefreshesExpiringTokensWithoutReuse(t *testing.T) {
	f := setup(t, worker.Config{}, smartcartest.WithAccessTokenLifetime(time.Second), smartcartest.WithRefreshGrace(100*time.Millisecond))
	for i := range 6 {
		if err := f.w.Handle(t.Context(), job(f.bev, tick0.Add(time.Duration(i)*time.Minute), "always", "/odometer"), queue.Delivery{Deliveries: 1}); err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
		time.Sleep(400 * time.Millisecond) // lets the 1s access token age
	}
	s := f.sim.Stats()
	if s.Refreshes < 3 {
		t.Errorf("refreshes = %d over ~2.4s of 1s tokens, want >= 3", s.Refreshes)
	}
	if s.SpentRefreshReuse != 0 || s.ExpiredTokenUses != 0 {
		t.Errorf("spent refresh reuse = %d, expired token uses = %d; want 0", s.SpentRefreshReuse, s.ExpiredTokenUses)
	}
	if n := len(f.stored(t)); n != 6 {
		t.Errorf("events = %d, want 6", n)
	}
}

func TestNew_RequiresDependencies(t *testing.T) {
	if _, err := worker.New(worker.Config{}, nil, worker.Deps{}); err == nil {
		t.Error("New with no dependencies succeeded")
	}
}

func TestHandle_SameVehicleJobsDoNotOverlap(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	// The first call is slow and answered with Retry-After; a second job for
	// the same vehicle must not be sent while it is under way.
	f.sim.SetFault(f.bev, "/batch", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 10 * time.Second,
		Latency: 300 * time.Millisecond, Times: 1})
	before := f.sim.Stats().Paths["/batch"]
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			errs <- f.w.Handle(t.Context(), job(f.bev, tick0.Add(time.Duration(i)*time.Minute), "always", "/odometer"), queue.Delivery{Deliveries: 1})
		}()
	}
	for range 2 {
		err := <-errs
		if d, ok := queue.SnoozeDelay(err); !ok || d < 9*time.Second {
			t.Errorf("Handle = %v, want a snooze of about 10s", err)
		}
	}
	s := f.sim.Stats()
	if n := s.Paths["/batch"] - before; n != 1 {
		t.Errorf("batch calls = %d, want 1", n)
	}
	if s.RetryAfterViolations != 0 {
		t.Errorf("Retry-After violations = %d, want 0", s.RetryAfterViolations)
	}
}
