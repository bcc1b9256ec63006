package smartcar_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// Simulator settings of TestSimulator_V3: pages of 5 make the SDK follow
// links.next; the vehicle throttle and the monthly quota are small enough
// to reach.
const (
	e2ePageSize     = 5
	e2eBurst        = 20
	e2eRefill       = 3 * time.Second
	e2eQuota        = 100
	e2eSignalsPages = 5 // 23 signal codes, 5 a page
)

// sameSignals compares signals read by different requests: the request id
// of a signal's error is its response's.
var sameSignals = cmpopts.IgnoreFields(smartcar.Error{}, "RequestID")

// v3e2e is the state TestSimulator_V3's steps share: one simulator on a
// clock the test moves, two users (one connected live, one in test mode)
// with three vehicles each, and the application.
type v3e2e struct {
	sim   *smartcartest.Server
	clock *simClock
	app   *smartcar.AppClient

	users     [2]string
	access    [2]*smartcar.Access
	connected time.Time // when both users connected

	bev, phev, ice   smartcartest.Vehicle // user 0 (live)
	ice1, bev1, bev2 smartcartest.Vehicle // user 1 (test mode)
}

// TestSimulator_V3 drives the whole API v3 surface through the SDK against
// the simulator, configured from the SMARTCAR_* variables: the application
// token (one request however many callers, a revoked one renewed once per
// client), sc-user-id, vehicle info, signals over several pages, one
// signal, typed bodies against the v2 endpoints at the same instant,
// commands sync and async, connections, subscriptions and v4 webhook
// deliveries, rate limits, a JSON:API error, the monthly quota, billing and
// the user-token mode. The simulator's own counters and records are the
// witness of what went over the wire.
func TestSimulator_V3(t *testing.T) {
	clock := &simClock{t: time.Date(2026, 5, 10, 12, 0, 0, 0, time.UTC)}
	sim := smartcartest.NewServer(smartcartest.WithClock(clock.Now), smartcartest.WithSeed(11),
		smartcartest.WithVehicles(6), smartcartest.WithUsers(2), smartcartest.WithMaxPageSize(e2ePageSize),
		smartcartest.WithVehicleRateLimit(e2eBurst, e2eRefill), smartcartest.WithAppRateLimit(100_000, 6000),
		smartcartest.WithMonthlyQuota(e2eQuota))
	defer sim.Close()
	// Connections the clients dialed but never used would hold up the
	// simulator's graceful Close for net/http's 5 s grace of new connections.
	defer http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	setSimEnv(t, sim)
	w := &v3e2e{sim: sim, clock: clock}

	steps := []struct {
		name string
		run  func(*testing.T)
	}{
		{"connect", w.connect},
		{"app_token", w.appToken},
		{"user_id", w.userID},
		{"info_and_signals", w.infoAndSignals},
		{"signals_match_v2", w.signalsMatchV2},
		{"user_token_mode", w.userTokenMode},
		{"revoked_token", w.revokedToken},
		{"commands", w.commands},
		{"connections", w.connections},
		{"webhooks", w.webhooks},
		{"rate_limit", w.rateLimit},
		{"jsonapi_error", w.jsonAPIError},
		{"quota", w.quota},
		{"delete_connections", w.deleteConnections},
		{"audit", w.audit},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.run) {
			t.FailNow()
		}
	}
}

// refill moves the clock until every vehicle's throttle bucket is full.
func (w *v3e2e) refill() { w.clock.Advance(e2eBurst * e2eRefill) }

// connect runs Connect for both users and picks the vehicles; the BEV is
// parked (moving the clock if it is driving), so that it can be plugged in
// later.
func (w *v3e2e) connect(t *testing.T) {
	for i := 0; i < 100; i++ {
		st, _ := w.sim.VehicleState(w.sim.VehicleIDs()[0])
		if !st.Driving {
			break
		}
		w.clock.Advance(10 * time.Minute)
	}
	simUsers := w.sim.Users()
	w.connected = w.clock.Now()
	for i, mode := range []string{smartcar.ModeLive, smartcar.ModeTest} {
		var user string
		user, w.access[i] = connectUser(t, w.sim, simUsers[i], mode)
		if user != simUsers[i] {
			t.Fatalf("Connect redirect user_id %q, want %q", user, simUsers[i])
		}
		w.users[i] = user
	}
	// WithVehicles(6) cycles BEV, ICE, PHEV, BEV, ICE and deals them to the
	// users in turn.
	vs := w.sim.Vehicles()
	w.bev, w.ice1, w.phev, w.bev1, w.ice, w.bev2 = vs[0], vs[1], vs[2], vs[3], vs[4], vs[5]
	for _, c := range []struct {
		v    smartcartest.Vehicle
		kind smartcartest.Kind
		user string
	}{{w.bev, smartcartest.BEV, w.users[0]}, {w.phev, smartcartest.PHEV, w.users[0]}, {w.ice, smartcartest.ICE, w.users[0]},
		{w.ice1, smartcartest.ICE, w.users[1]}, {w.bev1, smartcartest.BEV, w.users[1]}, {w.bev2, smartcartest.BEV, w.users[1]}} {
		if c.v.Kind != c.kind || c.v.UserID != c.user {
			t.Fatalf("vehicle %s: %s of %s, want %s of %s", c.v.ID, c.v.Kind, c.v.UserID, c.kind, c.user)
		}
	}
	if st, _ := w.sim.VehicleState(w.bev.ID); st.Driving {
		t.Fatal("the BEV never parks")
	}
}

// appToken: 50 callers at once on a new AppClient make one token request;
// the others wait for it (the transport holds the request until they all
// wait).
func (w *v3e2e) appToken(t *testing.T) {
	const callers = 50
	hold := &holdTokens{release: make(chan struct{})}
	app, err := smartcar.NewAppClient(&smartcar.AppClientOptions{HTTPClient: &http.Client{Transport: hold}})
	if err != nil {
		t.Fatal(err)
	}
	smartcar.SetAppClientClock(app, w.clock.Now)
	var waiting atomic.Int32
	var once sync.Once
	smartcar.SetTokenWaitHook(app, func() {
		if waiting.Add(1) == callers-1 {
			once.Do(func() { close(hold.release) })
		}
	})
	// Should the callers never all wait, release the request anyway after a
	// while, so that the test fails instead of hanging.
	var gaveUp atomic.Bool
	deadline, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	stop := context.AfterFunc(deadline, func() { once.Do(func() { gaveUp.Store(true); close(hold.release) }) })
	defer stop()
	before := w.sim.Stats()
	var wg sync.WaitGroup
	errs := make([]error, callers)
	counts := make([]int, callers)
	for i := range callers {
		wg.Go(func() {
			conns, err := app.ListConnections(t.Context(), &smartcar.ConnectionsFilter{UserID: w.users[0]})
			errs[i], counts[i] = err, len(conns)
		})
	}
	wg.Wait()
	if gaveUp.Load() {
		t.Fatalf("only %d of %d callers waited for the token request in flight", waiting.Load(), callers-1)
	}
	for i := range callers {
		if errs[i] != nil || counts[i] != 3 {
			t.Fatalf("caller %d: %d connections, %v", i, counts[i], errs[i])
		}
	}
	after := w.sim.Stats()
	if n := after.AppTokens - before.AppTokens; n != 1 {
		t.Errorf("%d callers made %d token requests, want 1", callers, n)
	}
	if after.AppTokenRefusals != 0 || after.V3TokenErrors != 0 {
		t.Errorf("token refusals %d, v3 token errors %d, want none", after.AppTokenRefusals, after.V3TokenErrors)
	}
	if _, err := app.Token(t.Context()); err != nil || w.sim.Stats().AppTokens != after.AppTokens {
		t.Errorf("cached token: %v, %d token requests", err, w.sim.Stats().AppTokens-before.AppTokens)
	}
	w.app = app

	// A wrong secret: 401 invalid_client, and the secret stays out of the error.
	const wrong = "not-the-secret-5f1c"
	bad, err := smartcar.NewAppClient(&smartcar.AppClientOptions{ClientSecret: wrong})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Token(t.Context())
	if e := asError(t, err); e.StatusCode != http.StatusUnauthorized || e.Type != smartcar.TypeOAuth ||
		e.Code != "invalid_client" || strings.Contains(e.Error(), wrong) {
		t.Errorf("wrong client secret: %v", err)
	}
	if n := w.sim.Stats().AppTokenRefusals; n != 1 {
		t.Errorf("simulator refused %d token requests, want 1", n)
	}
}

// userID: a vehicle call without sc-user-id is refused 400 "missing
// userId", and the simulator counts it (the audit step checks it stays the
// only one).
func (w *v3e2e) userID(t *testing.T) {
	_, err := w.app.Vehicle(w.bev.ID, "").Signals(t.Context())
	e := asError(t, err)
	if e.StatusCode != http.StatusBadRequest || e.Type != smartcar.TypeValidation || e.Code != "PARAMETER" ||
		e.Description != "missing userId" || e.RequestID == "" {
		t.Errorf("without sc-user-id: %+v", e)
	}
	if n := w.sim.Stats().MissingUserID; n != 1 {
		t.Errorf("simulator counted %d calls without sc-user-id, want 1", n)
	}
	// A user who did not connect the vehicle is refused.
	_, err = w.app.Vehicle(w.bev.ID, w.users[1]).Info(t.Context())
	if e := asError(t, err); e.StatusCode != http.StatusForbidden || e.Type != smartcar.TypePermission {
		t.Errorf("another user's vehicle: %v, want 403 PERMISSION", err)
	}
}

// revokedToken: after RevokeAppTokens, each client renews its token once
// and retries each refused call once, however many calls are refused.
func (w *v3e2e) revokedToken(t *testing.T) {
	ctx := t.Context()
	app2, err := smartcar.NewAppClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	smartcar.SetAppClientClock(app2, w.clock.Now)
	if _, err := app2.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if n := w.sim.RevokeAppTokens(); n != 2 {
		t.Fatalf("RevokeAppTokens revoked %d live tokens, want 2 (one per client)", n)
	}

	// One call: 401, a token request, the same call again.
	before, mark := w.sim.Stats(), len(w.sim.Requests())
	if _, err := w.app.Vehicle(w.bev.ID, w.users[0]).Info(ctx); err != nil {
		t.Fatalf("Info after the revocation: %v", err)
	}
	var got []string
	for _, r := range requestsSince(w.sim, mark) {
		got = append(got, r.Method+" "+r.Route+" "+http.StatusText(r.Status))
	}
	want := []string{"GET /v3/ Unauthorized", "POST /oauth2/token OK", "GET /v3/ OK"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests after the revocation (-want +got):\n%s", diff)
	}

	// Many calls at once on the other client: one renewal, one retry each.
	const callers = 20
	mark = len(w.sim.Requests())
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { _, errs[i] = app2.ListConnections(ctx, &smartcar.ConnectionsFilter{VehicleID: w.bev.ID}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
	}
	after := w.sim.Stats()
	if n := after.AppTokens - before.AppTokens; n != 2 {
		t.Errorf("%d token requests after the revocation, want 2 (one per client)", n)
	}
	refused := after.V3TokenErrors - before.V3TokenErrors
	r := routes(requestsSince(w.sim, mark))
	if refused < 2 || refused > callers+1 || int64(r["GET /v3/connections"]) != callers+refused-1 {
		t.Errorf("%d callers: %d refused 401 in all, %d connection requests; want each refused call retried once",
			callers, refused, r["GET /v3/connections"])
	}
}

// audit: what the simulator saw over the whole test.
func (w *v3e2e) audit(t *testing.T) {
	st := w.sim.Stats()
	if st.MissingUserID != 1 {
		t.Errorf("%d calls without sc-user-id, want the one deliberate", st.MissingUserID)
	}
	if st.RetryAfterViolations != 0 {
		t.Errorf("%d calls inside a Retry-After window", st.RetryAfterViolations)
	}
	if st.AppTokenRefusals != 1 {
		t.Errorf("%d token requests refused, want the one with a wrong secret", st.AppTokenRefusals)
	}
	if st.WebhookFailures != 1 {
		t.Errorf("%d failed webhook deliveries, want the one refused on purpose", st.WebhookFailures)
	}
	// Every v3 vehicle call the simulator let in (a 401 is refused before
	// it reads sc-user-id) acted for a user, but the deliberate one.
	var without []smartcartest.Request
	for _, r := range w.sim.Requests() {
		if r.VehicleID != "" && strings.HasPrefix(r.Route, "/v3") && r.Status != http.StatusUnauthorized && r.UserID == "" {
			without = append(without, r)
		}
	}
	if len(without) != 1 || without[0].Status != http.StatusBadRequest {
		t.Errorf("vehicle calls recorded without a user: %+v; want the one deliberate", without)
	}
}
