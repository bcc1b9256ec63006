package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// signalsCalls counts the simulator's /signals calls per vehicle.
func signalsCalls(sim *smartcartest.Server) map[string]int {
	n := map[string]int{}
	for _, r := range sim.Requests() {
		if r.Route == "/v3/signals" {
			n[r.VehicleID]++
		}
	}
	return n
}

// waitFor checks cond on the daemon's events until it holds, failing the
// test after 30 s.
func waitFor(t *testing.T, a *App, prefix, what string, cond func([]events.Event) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond(allEvents(t, a, prefix)) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s in 30 s", what)
		}
		select {
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// statusOf reports whether evs hold a status event st of vehicle id.
func statusOf(evs []events.Event, id string, st events.Status) bool {
	for _, ev := range evs {
		if sig, _ := ev.Signal(); sig != events.SignalStatus || ev.Subject != id {
			continue
		}
		var d events.StatusData
		if ev.DecodeData(&d) == nil && d.Status == st {
			return true
		}
	}
	return false
}

// polledAt reports whether evs hold an odometer event of vehicle id from a
// job later than after.
func polledAt(evs []events.Event, id string, after time.Time) bool {
	for _, ev := range evs {
		if sig, _ := ev.Signal(); sig == events.SignalOdometer && ev.Subject == id && ev.Tick.After(after) {
			return true
		}
	}
	return false
}

// TestDaemon_Adaptive runs the daemon in this process with an adaptive
// schedule on the simulator (a quota of one call per vehicle and month),
// Redis and NATS: every vehicle is polled once at start; a vehicle that
// charges is planned at its charging floor; the call past the quota gives
// quota_exhausted, a plan at the next month and no further call; a restart
// keeps every due time, since plans live in the registry: on Redis and on
// the embedded store (JetStream KV).
func TestDaemon_Adaptive(t *testing.T) {
	for _, store := range []string{"redis", "embedded"} {
		t.Run(store, func(t *testing.T) { testDaemonAdaptive(t, store) })
	}
}

func testDaemonAdaptive(t *testing.T, store string) {
	sim := smartcartest.NewServer(smartcartest.WithSeed(7), smartcartest.WithVehicles(3), smartcartest.WithMonthlyQuota(1))
	defer sim.Close()
	cfg := testConfig(t, sim)
	if store == "embedded" {
		cfg.Redis.URL = "" // the registry in JetStream KV
	}
	const chargingFloor = 13 * time.Hour // above the policy's longest gap: the floor decides
	cfg.Schedules = []config.Schedule{{Name: "live", Signals: []string{"odometer", "location", "battery", "charge"},
		Vehicles: config.Vehicles{All: true}, Emit: config.EmitAlways,
		Adaptive: &config.Adaptive{
			Budget: config.AdaptiveBudget{CallsPerVehiclePerMonth: 500, Reserve: 0.1},
			Intervals: config.AdaptiveIntervals{Driving: time.Second, Charging: chargingFloor, PluggedIn: time.Second,
				Parked: time.Second, Asleep: time.Second},
		}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	prefix := cfg.NATS.SubjectPrefix
	ctx := t.Context()
	app, err := open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	cleanupNames(t, app, prefix)
	closeApp := sync.OnceFunc(app.Close)
	defer closeApp()
	tok, ok := sim.ConnectUser(sim.Users()[0], nil, nil)
	if !ok {
		t.Fatal("connect")
	}
	access, err := app.Auth().ExchangeRefreshToken(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := app.connectGrant(ctx, access, nil)
	if err != nil || len(ids) < 2 {
		t.Fatalf("connect grant: %v, %v", ids, err)
	}
	// Connecting enters the vehicles in the schedule's due index at once,
	// before the scheduler reads the vehicle list.
	for _, id := range ids {
		if p, err := app.Registry().GetPlan(ctx, "live", id); err != nil || p.Due.After(time.Now()) {
			t.Errorf("plan of %s after connecting: %+v, %v; want one due now", id, p, err)
		}
	}
	charging := ""
	for _, v := range sim.Vehicles() {
		if v.Kind == smartcartest.BEV && sim.SetPlugged(v.ID, true) {
			charging = v.ID
			break
		}
	}
	if charging == "" {
		t.Fatal("no BEV to plug in")
	}
	spent := ids[0]
	if spent == charging {
		spent = ids[1]
	}

	run := func(a *App) (stop func()) {
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(runCtx) }()
		return func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	}
	start := time.Now().Add(-time.Second)
	stop := run(app)
	waitFor(t, app, prefix, "first poll of every vehicle", func(evs []events.Event) bool {
		for _, id := range ids {
			if !polledAt(evs, id, start) {
				return false
			}
		}
		return true
	})
	plan := func(a *App, id string) registry.Plan {
		t.Helper()
		p, err := a.Registry().GetPlan(ctx, "live", id)
		if err != nil {
			t.Fatalf("plan of %s: %v", id, err)
		}
		return p
	}
	// Every plan is written by the worker after the job's events: wait for them.
	deadline := time.Now().Add(30 * time.Second)
	for _, id := range ids {
		for {
			p := plan(app, id)
			if len(p.State) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("vehicle %s has no plan state after its poll", id)
			}
			time.Sleep(20 * time.Millisecond) // the plan is written right after the events
		}
	}
	var v adaptive.Vehicle
	p := plan(app, charging)
	if err := v.UnmarshalBinary(p.State); err != nil {
		t.Fatal(err)
	}
	if polled := time.Unix(v.Polled, 0); v.State != adaptive.Charging || !p.Due.Equal(polled.Add(chargingFloor)) {
		t.Errorf("charging vehicle: state %s, due %v; want charging, due at its poll %v + the charging floor %v",
			v.State, p.Due, polled, chargingFloor)
	}
	if n, err := app.Registry().Calls(ctx, charging, time.Now()); err != nil || n != 1 {
		t.Errorf("billed calls of %s = %d, %v; want 1", charging, n, err)
	}
	w := httptest.NewRecorder()
	app.metricsHandler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	m := parseExposition(t, w.Body.String())
	if v, ok := m.get("smartcar_poller_billed_calls_total"); !ok || v != float64(len(ids)) {
		t.Errorf("billed_calls_total = %v, %v; want %d", v, ok, len(ids))
	}
	if v, ok := m.get("smartcar_poller_budget_burn_rate"); !ok || v <= 0 {
		t.Errorf("budget_burn_rate = %v, %v; want > 0", v, ok)
	}

	// Make spent due now: its second call is past the quota.
	p = plan(app, spent)
	if err := app.Registry().SetPlan(ctx, "live", spent, registry.Plan{State: p.State, Due: time.Now()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, app, prefix, "quota_exhausted status", func(evs []events.Event) bool { return statusOf(evs, spent, events.StatusQuotaExhausted) })
	now := time.Now().UTC()
	nextMonth := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	for deadline := time.Now().Add(30 * time.Second); !plan(app, spent).Due.Equal(nextMonth); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("plan of %s due %v after the 430, want %v", spent, plan(app, spent).Due, nextMonth)
		}
	}
	stop()
	drainQueue(t, app)
	before := map[string]time.Time{}
	for _, id := range ids {
		before[id] = plan(app, id).Due
	}
	callsBefore := signalsCalls(sim)

	// A restart: the same configuration, another process.
	closeApp()
	app2, err := open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	defer app2.Close()
	restarted := time.Now()
	other := ""
	for _, id := range ids {
		if id != spent && id != charging {
			other = id
		}
	}
	if other == "" {
		t.Fatal("no third vehicle")
	}
	stop = sync.OnceFunc(run(app2))
	defer stop()
	// spent is made due now, then other: spent's job comes first, finds the
	// hold and calls nothing; its plan goes back to the hold's end.
	for _, id := range []string{spent, other} {
		pl := plan(app2, id)
		if err := app2.Registry().SetPlan(ctx, "live", id, registry.Plan{State: pl.State, Due: restarted}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, app2, prefix, "a poll after the restart", func(evs []events.Event) bool {
		return polledAt(evs, other, restarted.Add(-time.Second)) ||
			statusOf(evs, other, events.StatusQuotaExhausted)
	})
	for deadline := time.Now().Add(30 * time.Second); !plan(app2, spent).Due.Equal(nextMonth); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after the restart %s is due %v, want %v (its hold's end)", spent, plan(app2, spent).Due, nextMonth)
		}
	}
	if got := plan(app2, charging).Due; !got.Equal(before[charging]) {
		t.Errorf("after the restart %s is due %v, want %v as before", charging, got, before[charging])
	}
	calls := signalsCalls(sim)
	if calls[spent] != callsBefore[spent] || calls[spent] != 2 {
		t.Errorf("/signals calls of %s: %d before the restart, %d after; want 2 and no more (held until %v)",
			spent, callsBefore[spent], calls[spent], nextMonth)
	}
	if h, err := app2.Registry().Hold(ctx, spent); err != nil || !h.Equal(nextMonth) {
		t.Errorf("hold of %s = %v, %v; want %v", spent, h, err, nextMonth)
	}
	if _, err := app2.Registry().GetPlan(ctx, "cron", spent); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetPlan of an unknown schedule = %v, want ErrNotFound", err)
	}

	// vehicles list: calls used and left this month, and the next poll.
	stop()
	app2.Close()
	path := filepath.Join(t.TempDir(), "poller.yaml")
	writeFile(t, path, fmt.Sprintf(`nats: { url: %q, subject_prefix: %s }
redis: { url: %q, key_prefix: %q }
tokens: { encryption_key_file: %q }
data_dir: %q
schedules:
  - name: live
    adaptive: { budget: { calls_per_vehicle_per_month: 500 } }
    signals: [odometer]
    vehicles: all
`, cfg.NATS.URL, prefix, cfg.Redis.URL, cfg.Redis.KeyPrefix, cfg.Tokens.EncryptionKeyFile, cfg.DataDir))
	var out, errOut strings.Builder
	if err := cmdVehicles(ctx, []string{"list", "--config", path}, &out, &errOut); err != nil {
		t.Fatalf("vehicles list: %v\n%s", err, errOut.String())
	}
	lines := strings.Split(out.String(), "\n")
	if !strings.Contains(lines[0], "CALLS USED  CALLS LEFT  NEXT POLL") {
		t.Errorf("vehicles list header: %q", lines[0])
	}
	row := ""
	for _, l := range lines {
		if strings.HasPrefix(l, spent) {
			row = l
		}
	}
	if f := strings.Fields(row); len(f) < 3 || f[len(f)-3] != "1" || f[len(f)-2] != "499" || f[len(f)-1] != nextMonth.Format(time.RFC3339) {
		t.Errorf("vehicles list row of %s: %q; want 1 call used, 499 left, next poll %s\n%s", spent, row,
			nextMonth.Format(time.RFC3339), out.String())
	}
}

// TestBurn: the burn rate is the month's calls over the budget pro rata of
// the month elapsed, per vehicle tracked; a new month starts afresh.
func TestBurn(t *testing.T) {
	var b burn
	mid := time.Date(2026, 6, 16, 0, 0, 0, 0, time.UTC) // half of June
	if r := b.rate(mid, 500); r != 0 {
		t.Errorf("rate with nothing tracked = %v, want 0", r)
	}
	b.observe("a", mid, 250)
	b.observe("b", mid, 100)
	b.observe("b", mid, 50) // an older total: the higher stays
	if r := b.rate(mid, 500); math.Abs(r-0.7) > 1e-9 {
		t.Errorf("rate = %v, want 0.7 (350 calls of 2 x 250 due by mid-month)", r)
	}
	if r := b.rate(mid, 0); r != 0 {
		t.Errorf("rate with an unknown budget = %v, want 0", r)
	}
	july := time.Date(2026, 7, 1, 6, 0, 0, 0, time.UTC)
	if r := b.rate(july, 500); r != 0 {
		t.Errorf("rate in a month nothing was observed = %v, want 0", r)
	}
	b.observe("a", july, 3)
	b.observe("b", mid, 400) // June's, late: ignored
	if b.used["a"] != 3 || len(b.used) != 1 {
		t.Errorf("July's counts = %v, want a: 3 only", b.used)
	}
}
