package normalize_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// threeWires asks the simulator for the state of its vehicles over API v2
// (one batch of every path), API v3 (GET /signals) and a v4 webhook
// (VEHICLE_STATE with every signal) at one instant of its clock.
type threeWires struct {
	t     *testing.T
	sim   *smartcartest.Server
	v2    *smartcar.Client
	app   *smartcar.AppClient
	hook  smartcartest.Webhook
	mu    sync.Mutex
	clock time.Time
}

func newThreeWires(t *testing.T) *threeWires {
	w := &threeWires{t: t, clock: time.Date(2026, 5, 4, 6, 0, 0, 0, time.UTC)}
	w.sim = smartcartest.NewServer(smartcartest.WithSeed(12), smartcartest.WithVehicles(3), smartcartest.WithoutLimits(),
		smartcartest.WithClock(w.now), smartcartest.WithWebhookCheckInterval(time.Hour),
		smartcartest.WithAccessTokenLifetime(1000*time.Hour), smartcartest.WithAppTokenLifetime(1000*time.Hour))
	t.Cleanup(w.sim.Close)
	o := w.sim.Origins()
	w.v2 = smartcar.NewClient(smartcar.WithAPIOrigin(o.API), smartcar.WithAuthOrigin(o.Auth))
	app, err := smartcar.NewAppClient(&smartcar.AppClientOptions{ClientID: w.sim.ClientID, ClientSecret: w.sim.ClientSecret,
		IAMOrigin: o.IAM, APIOrigin: o.APIV3, ManagementOrigin: o.ManagementV3})
	if err != nil {
		t.Fatal(err)
	}
	w.app = app
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(receiver.Close)
	w.hook = w.sim.AddWebhook(smartcartest.Webhook{URL: receiver.URL}) // every signal
	return w
}

func (w *threeWires) now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clock
}

func (w *threeWires) advance(d time.Duration) {
	w.mu.Lock()
	w.clock = w.clock.Add(d)
	w.mu.Unlock()
}

// wires is one vehicle's normalized items from each wire.
type wires struct {
	v2   map[events.Signal][]normalize.Item // by signal, in path order
	v3   normalize.Result
	hook normalize.Result
}

func (w *threeWires) read(ctx context.Context, v smartcartest.Vehicle, first bool) wires {
	t := w.t
	t.Helper()
	var out wires
	tok, ok := w.sim.ConnectUser(v.UserID, []string{v.ID}, nil)
	if !ok {
		t.Fatalf("connect %s", v.ID)
	}
	batch, err := w.v2.Batch(ctx, tok.AccessToken, v.ID, normalize.Paths())
	if err != nil {
		t.Fatal(err)
	}
	out.v2 = map[events.Signal][]normalize.Item{}
	for _, item := range batch.Items() {
		if item.Err != nil {
			continue // the powertrain has no such path
		}
		it, err := normalize.FromBatchItem(item, smartcar.Metric)
		if err != nil {
			t.Fatalf("v2 %s: %v", item.Path, err)
		}
		eventOf(t, v.ID, it)
		out.v2[it.Signal] = append(out.v2[it.Signal], it)
	}

	signals, err := w.app.Vehicle(v.ID, v.UserID).Signals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out.v3, err = normalize.FromSignals(signals, nil); err != nil {
		t.Fatal(err)
	}

	// The webhook: the first delivery after subscribing carries every
	// subscribed signal at this instant, so subscribe afresh each time (a
	// later check delivers only when a trigger signal changed).
	if !first {
		if _, err := w.app.UnsubscribeVehicles(ctx, w.hook.ID, v.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.app.SubscribeVehicles(ctx, w.hook.ID, v.ID); err != nil {
		t.Fatal(err)
	}
	at := w.now()
	d, err := w.sim.WaitWebhookDelivery(ctx, func(d smartcartest.WebhookDelivery) bool {
		// The subscription's own first delivery: a check at the same
		// moment may also start a SIGNAL_UPDATED delivery, or a delivery
		// built before the clock moved may start only now.
		return d.VehicleID == v.ID && d.EventType == smartcar.WebhookVehicleState && d.Time.Equal(at) &&
			d.Attempt == 1 && slices.Contains(d.Triggers, smartcar.TriggerFirstDelivery)
	})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := smartcar.ParseWebhook(d.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if out.hook, err = normalize.FromWebhook(ev, nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range []normalize.Result{out.v3, out.hook} {
		for _, it := range r.Items {
			eventOf(t, v.ID, it)
		}
	}
	return out
}

// TestSameStateSameEvents: at the same instant the simulator's vehicles of
// every powertrain give the same event type and data for every normalized
// signal, whether polled on v2 (batch), polled on v3 (signals) or delivered
// by a v4 webhook; v3 and the webhook agree on the data's age too, and on
// the generic signal events.
func TestSameStateSameEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	w := newThreeWires(t)
	seen := map[smartcartest.Kind]map[events.Signal]bool{}
	states := map[string]bool{}
	// Every 100 minutes for a day and a half: driving, parked, charging,
	// asleep.
	for step := range 22 {
		if step > 0 {
			w.advance(100 * time.Minute)
		}
		for _, v := range w.sim.Vehicles() {
			got := w.read(ctx, v, step == 0)
			st, _ := w.sim.VehicleState(v.ID)
			if seen[v.Kind] == nil {
				seen[v.Kind] = map[events.Signal]bool{}
			}
			name := string(v.Kind) + " " + w.now().Format(time.DateTime)
			v3 := bySignal(got.v3.Items)
			hook := bySignal(got.hook.Items)

			// v3 and the webhook: the same items, times included.
			if diff := cmp.Diff(got.v3.Items[1:], got.hook.Items); diff != "" { // [0] is v3's info
				t.Errorf("%s: v3 and webhook items differ (-v3 +webhook):\n%s", name, diff)
			}
			if got.v3.Items[0].Signal != events.SignalInfo || len(got.v3.Rejected) != len(got.hook.Rejected) {
				t.Errorf("%s: v3 gave %v first and rejected %v, the webhook rejected %v", name,
					got.v3.Items[0].Signal, got.v3.Rejected, got.hook.Rejected)
			}
			for _, r := range got.v3.Rejected {
				if e, ok := smartcar.AsError(r.Err); !ok || e.Type != "COMPATIBILITY" {
					t.Errorf("%s: %s rejected: %v; want only signals the powertrain lacks", name, r.Code, r.Err)
				}
			}

			// v2 and v3: the same data for every signal both have.
			for s, items := range got.v2 {
				want := items[0].Data
				switch s {
				case events.SignalDiagnostics:
					continue // no v3 code
				case events.SignalBatteryCapacity:
					// v3 has the nominal capacity (/battery/nominal_capacity)
					// and no source.
					want = items[1].Data
					d := want.(events.BatteryCapacityData)
					d.Source = ""
					want = d
				case events.SignalLockStatus:
					// v3 has doors and windows (closure-doors, -windows); the
					// simulator has no v3 sunroof or trunk signals, and v3 no
					// charging port.
					d := want.(events.LockStatusData)
					d.Sunroof, d.Storage, d.ChargingPort = nil, nil, nil
					want = d
				}
				it, ok := v3[s]
				if !ok {
					t.Errorf("%s: v2 has %s, v3 none", name, s)
					continue
				}
				if diff := cmp.Diff(want, it.Data); diff != "" {
					t.Errorf("%s: %s differs (-v2 +v3):\n%s", name, s, diff)
				}
				seen[v.Kind][s] = true
			}
			for s, it := range v3 {
				if s == events.SignalGeneric || s == events.SignalInfo {
					continue
				}
				if _, ok := got.v2[s]; !ok && !slices.Contains([]events.Signal{events.SignalConnectivity, events.SignalDoors, events.SignalWindows}, s) {
					t.Errorf("%s: v3 has %s (%+v), v2 none", name, s, it.Data)
				}
				if _, ok := hook[s]; !ok {
					t.Errorf("%s: v3 has %s, the webhook none", name, s)
				}
				seen[v.Kind][s] = true
			}
			if c, ok := v3[events.SignalCharge]; ok {
				states[c.Data.(events.ChargeData).State] = true
			}
			if st.Driving {
				states["driving"] = true
			}
			if a, ok := v3[events.SignalConnectivity]; ok && a.Data.(events.ConnectivityData).IsAsleep != nil && *a.Data.(events.ConnectivityData).IsAsleep {
				states["asleep"] = true
			}
		}
	}
	// Every powertrain gave every signal it has, on every wire.
	common := []events.Signal{events.SignalInfo, events.SignalVIN, events.SignalOdometer, events.SignalLocation,
		events.SignalTirePressure, events.SignalLockStatus, events.SignalConnectivity, events.SignalDoors, events.SignalWindows}
	electric := []events.Signal{events.SignalBattery, events.SignalBatteryCapacity, events.SignalCharge, events.SignalChargeLimit}
	burning := []events.Signal{events.SignalFuel, events.SignalEngineOil}
	want := map[smartcartest.Kind][]events.Signal{
		smartcartest.BEV:  slices.Concat(common, electric),
		smartcartest.ICE:  slices.Concat(common, burning),
		smartcartest.PHEV: slices.Concat(common, electric, burning),
	}
	for kind, signals := range want {
		for _, s := range signals {
			if !seen[kind][s] {
				t.Errorf("%s: %s never compared", kind, s)
			}
		}
	}
	for _, s := range []string{"driving", "asleep", events.ChargeStateCharging, events.ChargeStateNotCharging} {
		if !states[s] {
			t.Errorf("no vehicle was ever %s: the instants miss a state (seen %v)", s, states)
		}
	}
}

func bySignal(items []normalize.Item) map[events.Signal]normalize.Item {
	out := map[events.Signal]normalize.Item{}
	for _, it := range items {
		if it.Signal != events.SignalGeneric {
			out[it.Signal] = it
		}
	}
	return out
}
