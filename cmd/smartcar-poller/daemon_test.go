package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// testConfig is a daemon configuration on the machine's Redis and NATS with
// names no other test uses.
func testConfig(t *testing.T, sim *smartcartest.Server) *config.Config {
	t.Helper()
	testserver.Redis(t) // skip or fail early when Redis is not there
	testserver.NATS(t)
	cfg := config.Default()
	cfg.NATS.URL = testserver.NATSURL()
	cfg.NATS.SubjectPrefix = testserver.Unique("d")
	cfg.Redis.URL = "redis://" + testserver.RedisAddr()
	cfg.Redis.KeyPrefix = cfg.NATS.SubjectPrefix + ":"
	cfg.Tokens.EncryptionKeyFile = testKeyFile(t) // Redis needs one
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = ""
	cfg.Smartcar.ClientID = sim.ClientID
	cfg.Smartcar.ClientSecret = config.Secret(sim.ClientSecret)
	cfg.Smartcar.RedirectURI = sim.RedirectURI
	cfg.Smartcar.RateLimit.RequestsPerMinute = 6000
	cfg.Smartcar.RateLimit.Burst = 100
	cfg.Workers.Concurrency = 8
	cfg.Workers.ShutdownGrace = 5 * time.Second
	return cfg
}

func simOptions(sim *smartcartest.Server) openOptions {
	o := sim.Origins()
	return openOptions{ClientOpts: []smartcar.ClientOption{
		smartcar.WithAPIOrigin(o.API), smartcar.WithAuthOrigin(o.Auth),
		smartcar.WithConnectOrigin(o.Connect), smartcar.WithManagementOrigin(o.Management),
	}, AppOrigins: smartcar.AppClientOptions{IAMOrigin: o.IAM, APIOrigin: o.APIV3, ManagementOrigin: o.ManagementV3}}
}

// simEnv are the SMARTCAR_* origin variables (as NAME=value) that point
// every client of a process at sim: API v2, auth, Connect, Management, and
// API v3's IAM, vehicle API and Management API. A process started without
// them would call Smartcar itself.
func simEnv(sim *smartcartest.Server) []string {
	o := sim.Origins()
	return []string{
		smartcar.EnvAPIOrigin + "=" + o.API, smartcar.EnvAuthOrigin + "=" + o.Auth,
		smartcar.EnvConnectOrigin + "=" + o.Connect, smartcar.EnvManagementOrigin + "=" + o.Management,
		smartcar.EnvIAMOrigin + "=" + o.IAM, smartcar.EnvAPIV3Origin + "=" + o.APIV3,
		smartcar.EnvManagementV3Origin + "=" + o.ManagementV3,
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// cleanupNames removes the streams, buckets and keys a daemon under test created.
func cleanupNames(t testing.TB, a *App, prefix string) {
	t.Cleanup(func() {
		ctx := context.Background()
		rdb := testserver.Redis(t)
		if keys, _ := rdb.Keys(ctx, prefix+":*").Result(); len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
		nc := testserver.NATS(t)
		js, err := jetstream.New(nc)
		if err != nil {
			return
		}
		for name := range js.StreamNames(ctx).Name() {
			if strings.HasPrefix(name, strings.ToUpper(prefix)) || strings.HasPrefix(name, "KV_"+strings.ToUpper(prefix)) {
				_ = js.DeleteStream(ctx, name)
			}
		}
	})
}

// allEvents reads the events stream, checking every event against its schema.
func allEvents(t *testing.T, a *App, prefix string) []events.Event {
	t.Helper()
	ctx := t.Context()
	s, err := a.JetStream().Stream(ctx, events.StreamName(prefix))
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
		if err != nil {
			t.Fatal(err)
		}
		if err := events.Validate(m.Data); err != nil {
			t.Errorf("event fails its schema: %v\n%s", err, m.Data)
		}
		ev, err := events.Parse(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if m.Header.Get("Nats-Msg-Id") != ev.ID {
			t.Errorf("Nats-Msg-Id %q != event id %q", m.Header.Get("Nats-Msg-Id"), ev.ID)
		}
		out = append(out, ev)
	}
	return out
}

// TestDaemon_PollsEveryVehicleTickAndPathOnce runs the wired daemon against
// the simulator, the machine's Redis and NATS: fast schedules, access tokens
// that expire every two seconds, a vehicle rate limit answered with
// Retry-After, and one grant revoked half-way.
// TestDaemon_PollsEveryVehicleTickAndPathOnce runs the daemon in this
// process on each API for a few seconds of a 1 s schedule while one
// vehicle is answered Retry-After twice and one user revokes access: every
// vehicle still connected has exactly one event per tick and signal, the
// held vehicle is not called inside its Retry-After, and the revoked
// vehicles stop (v2: needs_reauth, as their grant cannot be refreshed; v3:
// disconnected, as the application has no connection to them any more). On
// v2 access tokens live 2 s and are refreshed; on v3 the process fetches
// one application token, refreshes nothing and sends sc-user-id on every
// call.
func TestDaemon_PollsEveryVehicleTickAndPathOnce(t *testing.T) {
	for _, api := range []string{config.APIV3, config.APIV2} {
		t.Run(api, func(t *testing.T) { testDaemonPolls(t, api) })
	}
}

func testDaemonPolls(t *testing.T, api string) {
	sim := smartcartest.NewServer(smartcartest.WithSeed(3), smartcartest.WithUsers(2), smartcartest.WithVehicles(6),
		smartcartest.WithAccessTokenLifetime(2*time.Second), smartcartest.WithRefreshGrace(500*time.Millisecond),
		smartcartest.WithVehicleRateLimit(1000, time.Millisecond), smartcartest.WithTimeScale(60))
	defer sim.Close()
	cfg := testConfig(t, sim)
	cfg.Smartcar.API = api
	cfg.Schedules = []config.Schedule{{Name: "fast", Cron: "@every 1s", Signals: []string{"odometer", "location", "lock_status"},
		Vehicles: config.Vehicles{All: true}, Emit: config.EmitAlways}}
	prefix := cfg.NATS.SubjectPrefix

	ctx := t.Context()
	app, err := open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	cleanupNames(t, app, prefix)
	defer app.Close()

	users := sim.Users()
	grantOf := map[string]string{}
	for _, u := range users {
		tok, ok := sim.ConnectUser(u, nil, nil)
		if !ok {
			t.Fatalf("connect %s", u)
		}
		access, err := app.Auth().ExchangeRefreshToken(ctx, tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := app.connectGrant(ctx, access, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			grantOf[id] = u
		}
	}
	revoked := users[1]
	held := ""
	for id, u := range grantOf {
		if u == users[0] {
			held = id
			break
		}
	}
	// Two Retry-After answers for one vehicle (v2: one path of its batch):
	// its follow-ups (v2) or its job (v3) must wait.
	faultPath := "/v3/vehicles/x/signals"
	if api == config.APIV2 {
		faultPath = "/location"
	}
	sim.SetFault(held, faultPath, smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 2 * time.Second, Times: 2})

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(runCtx) }()
	time.Sleep(3500 * time.Millisecond)
	sim.RevokeGrant(revoked)
	time.Sleep(4 * time.Second)
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	// Hand-backs and follow-ups left in the queue are finished by a second
	// run of the workers alone, as another replica would.
	drainQueue(t, app)

	evs := allEvents(t, app, prefix)
	type key struct {
		vehicle string
		signal  events.Signal
		tick    time.Time
	}
	seen := map[key]int{}
	ticks := map[time.Time]bool{}
	stopped := map[string]bool{} // status events of the revoked vehicles
	wantStop := events.StatusDisconnected
	if api == config.APIV2 {
		wantStop = events.StatusNeedsReauth
	}
	for _, ev := range evs {
		sig, _ := ev.Signal()
		switch sig {
		case events.SignalStatus:
			var st events.StatusData
			_ = ev.DecodeData(&st)
			if st.Status == wantStop {
				stopped[ev.Subject] = true
			}
			continue
		case events.SignalError:
			t.Errorf("unexpected error event: %s", ev.Data)
			continue
		}
		seen[key{ev.Subject, sig, ev.Tick}]++
		ticks[ev.Tick] = true
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%d events for vehicle %s, %s, tick %s; want exactly 1", n, k.vehicle, k.signal, k.tick)
		}
	}
	if len(ticks) < 5 {
		t.Fatalf("only %d ticks produced events in 7.5s of a 1s schedule", len(ticks))
	}
	// Every vehicle of the grant that stayed connected has every path of every tick.
	signals := []events.Signal{events.SignalOdometer, events.SignalLocation, events.SignalLockStatus}
	var missing []string
	for id, u := range grantOf {
		if u == revoked {
			continue
		}
		for tk := range ticks {
			for _, s := range signals {
				if seen[key{id, s, tk}] != 1 {
					missing = append(missing, id[:8]+"/"+string(s)+"@"+tk.Format("05"))
				}
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("missing events (vehicle/signal@second): %v", missing)
	}
	// The revoked grant's vehicles were reported, and are no longer polled.
	for id, u := range grantOf {
		if u != revoked {
			continue
		}
		if !stopped[id] {
			t.Errorf("vehicle %s of the revoked grant has no %s status event", id, wantStop)
		}
		v, err := app.Registry().GetVehicle(ctx, id)
		if err != nil || v.Status != wantStop {
			t.Errorf("vehicle %s = %+v, %v; want status %s", id, v, err, wantStop)
		}
	}
	st := sim.Stats()
	switch api {
	case config.APIV2:
		if st.Refreshes < 3 {
			t.Errorf("refreshes = %d over 7.5s with 2s tokens, want >= 3", st.Refreshes)
		}
	case config.APIV3:
		// One application token; the refresh tokens were spent at connect
		// time only (one exchange per user), never to poll.
		if st.AppTokens != 1 || st.Refreshes != int64(len(users)) || st.MissingUserID != 0 || st.Paths["/batch"] != 0 {
			t.Errorf("application tokens %d, refreshes %d, calls without sc-user-id %d, batch calls %d; want 1, %d, 0, 0",
				st.AppTokens, st.Refreshes, st.MissingUserID, st.Paths["/batch"], len(users))
		}
		for _, r := range sim.Requests() {
			if r.Route == "/v3/signals" && r.UserID != grantOf[r.VehicleID] {
				t.Errorf("/signals call for %s acted for %q, want its user %q", r.VehicleID, r.UserID, grantOf[r.VehicleID])
				break
			}
		}
	}
	// The v3 metric series: calls under /signals, data ages by signal.
	if api == config.APIV3 {
		w := httptest.NewRecorder()
		app.metricsHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		m := parseExposition(t, w.Body.String())
		for _, c := range []struct {
			name string
			kv   []string
		}{
			{"smartcar_poller_smartcar_call_duration_seconds_count", []string{"path", "/signals", "outcome", "ok"}},
			{"smartcar_poller_smartcar_call_duration_seconds_count", []string{"path", "/signals", "outcome", "rate_limit"}},
			{"smartcar_poller_data_age_seconds_count", []string{"path", "/odometer"}},
			{"smartcar_poller_data_age_seconds_count", []string{"path", "/security"}},
			{"smartcar_poller_smartcar_calls_total", nil},
		} {
			if v, ok := m.get(c.name, c.kv...); !ok || v <= 0 {
				t.Errorf("%s%v = %v, %v; want > 0", c.name, c.kv, v, ok)
			}
		}
	}
	if st.SpentRefreshReuse != 0 || st.RetryAfterViolations != 0 || st.ExpiredTokenUses != 0 {
		t.Errorf("rule breaks: spent refresh reuse %d, Retry-After violations %d, expired token uses %d; want 0",
			st.SpentRefreshReuse, st.RetryAfterViolations, st.ExpiredTokenUses)
	}
	if st.FaultsInjected != 2 {
		t.Errorf("faults injected = %d, want the 2 Retry-After answers", st.FaultsInjected)
	}
	if st.RetryAfterViolations != 0 {
		for _, r := range sim.Requests() {
			if r.VehicleID == held {
				t.Logf("DEBUG %s %s %s status=%d outcome=%s viol=%v items=%+v", r.Time.Format("05.000"), r.Method, r.Route, r.Status, r.Outcome, r.RetryAfterViolation, r.Items)
			}
		}
	}
	t.Logf("%d events, %d ticks, %d refreshes, %d requests", len(evs), len(ticks), st.Refreshes, st.Requests)
}

// drainQueue runs the workers alone until the queue is empty.
func drainQueue(t *testing.T, a *App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Queue().Consume(ctx, a.cfg.Workers.Concurrency, a.Worker().Handle) }()
	for {
		d, err := a.Queue().Depth(ctx)
		if err == nil && d.Pending == 0 && d.AckPending == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("queue not drained: %+v, %v", d, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Consume: %v", err)
	}
}
