package main

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestDaemon_WebhookEventsEqualPolled: with the simulator's clock standing
// still, the daemon's events for a vehicle's state are the same (type and
// data) whether a v4 webhook delivered it (the simulator's FIRST_DELIVERY,
// every signal, through /webhooks/smartcar, the inbox and ProcessWebhook)
// or the worker polled it on v2 (one batch of every path), for every
// normalized signal both wires have, on every powertrain. The vehicles are
// subscribed with the webhooks subscribe command's code.
func TestDaemon_WebhookEventsEqualPolled(t *testing.T) {
	var (
		mu    sync.Mutex
		clock = time.Date(2026, 5, 4, 9, 40, 0, 0, time.UTC)
	)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	addr := freeAddr(t)
	sim := smartcartest.NewServer(smartcartest.WithSeed(12), smartcartest.WithVehicles(3), smartcartest.WithoutLimits(),
		smartcartest.WithClock(now), smartcartest.WithWebhookCheckInterval(time.Hour),
		smartcartest.WithAccessTokenLifetime(1000*time.Hour), smartcartest.WithAppTokenLifetime(1000*time.Hour))
	defer sim.Close()
	cfg := testConfig(t, sim)
	cfg.Smartcar.API = config.APIV2 // the polled side is a v2 batch, with the user's token pair
	cfg.HTTP.Listen = addr
	cfg.Webhooks.Enabled = true
	cfg.Webhooks.ManagementToken = config.Secret(sim.ManagementToken)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	app, err := open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	cleanupNames(t, app, cfg.NATS.SubjectPrefix)
	defer app.Close()
	defer serveHTTP(t, app)()
	processed := consumeWebhooks(t, app)
	defer processed.stop()

	var ids []string
	for _, u := range sim.Users() {
		tok, ok := sim.ConnectUser(u, nil, nil)
		if !ok {
			t.Fatalf("connect %s", u)
		}
		access, err := app.Auth().ExchangeRefreshToken(ctx, tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		got, err := app.connectGrant(ctx, access, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got...)
	}
	if len(ids) != 3 {
		t.Fatalf("%d vehicles connected, want 3", len(ids))
	}

	// The webhook: every signal, to the daemon; subscribing sends each
	// vehicle's FIRST_DELIVERY at the simulator's (still) clock.
	o := sim.Origins()
	mgmt, err := smartcar.NewAppClient(&smartcar.AppClientOptions{ClientID: sim.ClientID, ClientSecret: sim.ClientSecret,
		IAMOrigin: o.IAM, APIOrigin: o.APIV3, ManagementOrigin: o.ManagementV3})
	if err != nil {
		t.Fatal(err)
	}
	hook := sim.AddWebhook(smartcartest.Webhook{URL: "http://" + addr + "/webhooks/smartcar"})
	if err := subscribeWebhook(ctx, mgmt, hook.ID, ids, 0, defaultSubscribeBatch, io.Discard); err != nil {
		t.Fatal(err)
	}
	for range ids {
		processed.next(t)
	}

	// The poll: one v2 batch of every path per vehicle, at the same instant.
	paths := normalize.Paths()
	jobs := map[string]queue.PollJob{}
	for _, id := range ids {
		job := queue.PollJob{ID: queue.JobID("same", id, now()), Schedule: "same", VehicleID: id, Paths: paths,
			Tick: now(), Emit: string(config.EmitAlways)}
		if err := app.Worker().Handle(ctx, job, queue.Delivery{Deliveries: 1, MaxPanics: 3, Enqueued: time.Now()}); err != nil {
			t.Fatalf("poll %s: %v", id, err)
		}
		jobs[id] = job
	}

	// Sort the events: the webhook's by vehicle and signal, the poll's by
	// vehicle and path (their ids derive from the job id and the path).
	hooked := map[string]map[events.Signal]events.Event{}
	polled := map[string]map[string]events.Event{}
	for _, id := range ids {
		hooked[id], polled[id] = map[events.Signal]events.Event{}, map[string]events.Event{}
	}
	byID := map[string]string{} // poll event id -> path
	for _, id := range ids {
		for _, p := range paths {
			byID[events.EventID(jobs[id].ID, p)] = p
		}
	}
	for _, ev := range allEvents(t, app, cfg.NATS.SubjectPrefix) {
		s, _ := ev.Signal()
		switch {
		case s == events.SignalStatus || s == events.SignalError || s == events.SignalGeneric:
		case ev.Schedule == "same":
			p, ok := byID[ev.ID]
			if !ok {
				t.Fatalf("poll event %s (%s) of no path of the job", ev.ID, ev.Type)
			}
			polled[ev.VehicleID()][p] = ev
		default:
			if _, twice := hooked[ev.VehicleID()][s]; twice {
				t.Errorf("vehicle %s: two %s events from the webhook", ev.VehicleID(), s)
			}
			hooked[ev.VehicleID()][s] = ev
		}
	}

	// Compare every normalized signal that has a v2 path and v3 codes.
	kinds := map[string]smartcartest.Kind{}
	for _, v := range sim.Vehicles() {
		kinds[v.ID] = v.Kind
	}
	compared := map[smartcartest.Kind][]events.Signal{}
	for _, src := range normalize.Table() {
		if len(src.Paths) == 0 || len(src.Codes) == 0 {
			continue // one wire only: connectivity, doors, windows (v3); info, diagnostics (v2)
		}
		for _, id := range ids {
			hev, inHook := hooked[id][src.Signal]
			pev, inPoll := polled[id][src.Paths[0]]
			switch {
			case !inHook && !inPoll:
				continue // the powertrain has neither
			case !inHook:
				t.Errorf("%s %s: polled %s %s, the webhook gave none", kinds[id], id, pev.Type, pev.Data)
				continue
			case !inPoll:
				t.Errorf("%s %s: the webhook gave %s %s, the poll none", kinds[id], id, hev.Type, hev.Data)
				continue
			}
			if hev.Type != pev.Type {
				t.Errorf("%s %s: webhook %s, poll %s", kinds[id], id, hev.Type, pev.Type)
			}
			want := v2Only(t, src.Signal, pev.Data)
			if diff := cmp.Diff(jsonValue(t, want), jsonValue(t, hev.Data)); diff != "" {
				t.Errorf("%s %s: %s data differs (-poll +webhook):\n%s", kinds[id], id, src.Signal, diff)
			}
			compared[kinds[id]] = append(compared[kinds[id]], src.Signal)
		}
	}
	common := []events.Signal{events.SignalVIN, events.SignalOdometer, events.SignalLocation,
		events.SignalTirePressure, events.SignalLockStatus}
	electric := []events.Signal{events.SignalBattery, events.SignalBatteryCapacity, events.SignalCharge, events.SignalChargeLimit}
	burning := []events.Signal{events.SignalFuel, events.SignalEngineOil}
	for kind, want := range map[smartcartest.Kind][]events.Signal{
		smartcartest.BEV:  slices.Concat(common, electric),
		smartcartest.ICE:  slices.Concat(common, burning),
		smartcartest.PHEV: slices.Concat(common, electric, burning),
	} {
		for _, s := range want {
			if !slices.Contains(compared[kind], s) {
				t.Errorf("%s: %s not compared (compared %v)", kind, s, compared[kind])
			}
		}
	}
}

// v2Only removes from a polled event's data what API v2 has and v3 (so a
// webhook) does not, as package normalize documents it: the battery
// capacity's source, the lock status's sunroof, storage and charging port.
func v2Only(t *testing.T, s events.Signal, data json.RawMessage) json.RawMessage {
	t.Helper()
	var drop []string
	switch s {
	case events.SignalBatteryCapacity:
		drop = []string{"source"}
	case events.SignalLockStatus:
		drop = []string{"sunroof", "storage", "charging_port"}
	default:
		return data
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range drop {
		delete(m, k)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func jsonValue(t *testing.T, raw json.RawMessage) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("data %s: %v", raw, err)
	}
	return v
}
