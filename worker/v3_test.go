package worker_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

func job3(vehicle string, tick time.Time, emit string, signals ...string) queue.PollJob {
	return queue.PollJob{ID: queue.JobID("t", vehicle, tick), Schedule: "t", VehicleID: vehicle, Signals: signals, Tick: tick, Emit: emit}
}

// v3Calls counts the simulator's /signals calls, and checks that each one
// acted for user (sc-user-id) and that none came without a user id.
func (f *fixture) v3Calls(t *testing.T, user string) int {
	t.Helper()
	n := 0
	for _, r := range f.sim.Requests() {
		if r.Route != "/v3/signals" {
			continue
		}
		n++
		if r.UserID != user {
			t.Errorf("/signals call for %s acted for user %q, want %q", r.VehicleID, r.UserID, user)
		}
	}
	if st := f.sim.Stats(); st.MissingUserID != 0 {
		t.Errorf("%d v3 calls without sc-user-id", st.MissingUserID)
	}
	return n
}

// TestHandleV3_PublishesWhatTheJobAsks: one /signals call (one billed
// request) gives the daemon signals the job names, a raw code's generic
// event, and an error event for what the vehicle cannot give; the v2
// credentials are not touched.
func TestHandleV3_PublishesWhatTheJobAsks(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	before := f.sim.Stats()
	j := job3(f.bev, tick0, "always", "odometer", "location", "battery", "connectivity", "lock_status", "transmission-gearstate", "fuel", "nosuch-code")
	if err := f.w.Handle(t.Context(), j, queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	evs := f.stored(t)
	got := bySignal(evs)
	for _, s := range []events.Signal{events.SignalOdometer, events.SignalLocation, events.SignalBattery,
		events.SignalConnectivity, events.SignalLockStatus, events.SignalGeneric} {
		if len(got[s]) != 1 {
			t.Errorf("%d %s events, want 1", len(got[s]), s)
		}
	}
	if len(evs) != 8 {
		t.Errorf("%d events, want 8 (6 data, 2 errors): %v", len(evs), types(evs))
	}
	var gear events.SignalData
	if len(got[events.SignalGeneric]) == 1 {
		if err := got[events.SignalGeneric][0].DecodeData(&gear); err != nil || gear.Code != "transmission-gearstate" {
			t.Errorf("generic event %s, %v; want transmission-gearstate", got[events.SignalGeneric][0].Data, err)
		}
	}
	errs := map[string]events.ErrorData{}
	for _, ev := range got[events.SignalError] {
		var d events.ErrorData
		if err := ev.DecodeData(&d); err != nil {
			t.Fatal(err)
		}
		errs[d.Path] = d
	}
	if d := errs["/fuel"]; d.Type != "COMPATIBILITY" || d.Code != "VEHICLE_NOT_CAPABLE" {
		t.Errorf("fuel of a BEV: error %+v, want COMPATIBILITY:VEHICLE_NOT_CAPABLE", d)
	}
	if d := errs["/signals/nosuch-code"]; d.Type != "SDK_ERROR" || d.Code != "NOT_RETURNED" {
		t.Errorf("unknown code: error %+v, want SDK_ERROR:NOT_RETURNED", d)
	}
	// Data age is oemUpdatedAt, the fetch time retrievedAt.
	for _, ev := range got[events.SignalOdometer] {
		if ev.Time.IsZero() || !ev.FetchedAt.Equal(tick0) || ev.Time.After(ev.FetchedAt) {
			t.Errorf("odometer time %v, fetched %v: want the data's age before the fetch at %v", ev.Time, ev.FetchedAt, tick0)
		}
	}
	if n := f.v3Calls(t, f.user); n != 1 {
		t.Errorf("%d /signals calls, want 1", n)
	}
	if n := f.sim.BilledCalls(f.bev, tick0); n != 1 {
		t.Errorf("%d billed calls, want 1", n)
	}
	after := f.sim.Stats()
	if after.Refreshes != before.Refreshes || after.BatchItems["/odometer"] != before.BatchItems["/odometer"] {
		t.Errorf("an API v3 job refreshed a grant or called v2: refreshes %d -> %d", before.Refreshes, after.Refreshes)
	}
	if after.AppTokens-before.AppTokens != 1 {
		t.Errorf("%d application tokens fetched, want 1", after.AppTokens-before.AppTokens)
	}
}

func types(evs []events.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

// TestHandleV3_All publishes every signal the vehicle returns, normalized
// where the daemon has a signal for it and generic otherwise, and no error
// event for the ones its powertrain lacks.
func TestHandleV3_All(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	if err := f.w.Handle(t.Context(), job3(f.ice, tick0, "always", "all"), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	got := bySignal(f.stored(t))
	for _, s := range []events.Signal{events.SignalInfo, events.SignalVIN, events.SignalOdometer, events.SignalLocation,
		events.SignalFuel, events.SignalEngineOil, events.SignalTirePressure, events.SignalLockStatus, events.SignalConnectivity,
		events.SignalDoors, events.SignalWindows} {
		if len(got[s]) != 1 {
			t.Errorf("%d %s events, want 1", len(got[s]), s)
		}
	}
	for _, s := range []events.Signal{events.SignalBattery, events.SignalCharge, events.SignalError} {
		if len(got[s]) != 0 {
			t.Errorf("%d %s events from an ICE vehicle, want none", len(got[s]), s)
		}
	}
	codes := map[string]bool{}
	for _, ev := range got[events.SignalGeneric] {
		var d events.SignalData
		if err := ev.DecodeData(&d); err != nil {
			t.Fatal(err)
		}
		codes[d.Code] = true
	}
	if !codes["transmission-gearstate"] || !codes["lowvoltagebattery-stateofcharge"] || len(codes) != 2 {
		t.Errorf("generic signal events %v, want transmission-gearstate and lowvoltagebattery-stateofcharge", codes)
	}
}

// TestHandleV3_OnChange: a second poll of a parked vehicle emits nothing
// for the signals whose oemUpdatedAt and value stayed, a generic signal
// event included (only its retrievedAt moved).
func TestHandleV3_OnChange(t *testing.T) {
	at := tick0
	f := setup(t, worker.Config{}, smartcartest.WithClock(func() time.Time { return at }))
	signals := []string{"odometer", "location", "transmission-gearstate"}
	if err := f.w.Handle(t.Context(), job3(f.bev, tick0, "on_change", signals...), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatal(err)
	}
	first := f.stored(t)
	if len(first) != len(signals) {
		t.Fatalf("%d events from the first poll, want %d", len(first), len(signals))
	}
	at = at.Add(time.Second)
	// The premise: at the second poll these signals are as they were, but
	// for retrievedAt.
	sigs, err := f.app.Vehicle(f.bev, f.user).Signals(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"odometer-traveleddistance", "location-preciselocation", "transmission-gearstate"} {
		sg, ok := sigs.Get(code)
		if !ok || !sg.RetrievedAt.Equal(at) || !sg.OEMUpdatedAt.Before(tick0) {
			t.Fatalf("%s: retrieved %v, OEM-updated %v: the vehicle is not parked at %v", code, sg.RetrievedAt, sg.OEMUpdatedAt, tick0)
		}
	}
	if err := f.w.Handle(t.Context(), job3(f.bev, tick0.Add(time.Minute), "on_change", signals...), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatal(err)
	}
	if evs := f.stored(t); len(evs) != len(first) {
		t.Errorf("%d events after an unchanged poll, want %d: %v", len(evs), len(first), types(evs[len(first):]))
	}
	if st := f.w.Stats().Snapshot(); st.Unchanged != int64(len(signals)) {
		t.Errorf("Unchanged = %d, want %d", st.Unchanged, len(signals))
	}
}

// TestHandleV3_LooksUpTheUserOnce: a vehicle registered without a Smartcar
// user id gets it from its connection on its first v3 poll, kept in the
// registry; a vehicle whose connection is gone is disconnected.
func TestHandleV3_LooksUpTheUserOnce(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	ctx := t.Context()
	v, err := f.store.GetVehicle(ctx, f.bev)
	if err != nil {
		t.Fatal(err)
	}
	v.UserID = ""
	if err := f.store.PutVehicle(ctx, v); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := f.w.Handle(ctx, job3(f.bev, tick0.Add(time.Duration(i)*time.Minute), "always", "odometer"), queue.Delivery{Deliveries: 1}); err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
	}
	if got, _ := f.store.GetVehicle(ctx, f.bev); got.UserID != f.user {
		t.Errorf("user id kept %q, want %q", got.UserID, f.user)
	}
	if n := f.w.Stats().Snapshot().UserLookups; n != 1 {
		t.Errorf("%d user lookups, want 1", n)
	}
	if n := f.v3Calls(t, f.user); n != 2 {
		t.Errorf("%d /signals calls, want 2", n)
	}

	// The user revoked the vehicle: no connection, no call.
	f.sim.RevokeVehicle(f.ice)
	v, _ = f.store.GetVehicle(ctx, f.ice)
	v.UserID = ""
	if err := f.store.PutVehicle(ctx, v); err != nil {
		t.Fatal(err)
	}
	err = f.w.Handle(ctx, job3(f.ice, tick0, "always", "odometer"), queue.Delivery{Deliveries: 1})
	if !queue.IsDrop(err) {
		t.Errorf("Handle of a vehicle without a connection = %v, want a drop", err)
	}
	if got, _ := f.store.GetVehicle(ctx, f.ice); got.Status != events.StatusDisconnected {
		t.Errorf("status %s, want disconnected", got.Status)
	}
	if n := f.v3Calls(t, f.user); n != 2 {
		t.Errorf("%d /signals calls, want still 2", n)
	}
}

// TestHandleV3_StaleUserLooksAgain: a PERMISSION answer for a stored user
// id (the vehicle was connected again by someone else) looks the user up
// once more, keeps the new one and polls.
func TestHandleV3_StaleUserLooksAgain(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	ctx := t.Context()
	if err := f.store.SetUserID(ctx, f.bev, "someone-else"); err != nil {
		t.Fatal(err)
	}
	if err := f.w.Handle(ctx, job3(f.bev, tick0, "always", "odometer"), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if got, _ := f.store.GetVehicle(ctx, f.bev); got.UserID != f.user || got.Status != events.StatusConnected {
		t.Errorf("after the poll: user %q status %s; want %q connected", got.UserID, got.Status, f.user)
	}
	if len(bySignal(f.stored(t))[events.SignalOdometer]) != 1 {
		t.Error("no odometer event")
	}
}

// TestHandleV3_RetryAfterHoldsTheVehicle: a 429 with Retry-After on
// /signals holds the vehicle for every replica and snoozes the job.
func TestHandleV3_RetryAfterHoldsTheVehicle(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	f.sim.SetFault(f.bev, "/v3/vehicles/x/signals", smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 30 * time.Second, Times: 1})
	err := f.w.Handle(t.Context(), job3(f.bev, tick0, "always", "odometer"), queue.Delivery{Deliveries: 1})
	if d, ok := queue.SnoozeDelay(err); !ok || d < 29*time.Second {
		t.Fatalf("Handle = %v, want a snooze of about 30s", err)
	}
	if h, err := f.store.Hold(t.Context(), f.bev); err != nil || h.IsZero() {
		t.Errorf("hold = %v, %v; want one", h, err)
	}
	err = f.w.Handle(t.Context(), job3(f.bev, tick0.Add(time.Minute), "always", "odometer"), queue.Delivery{Deliveries: 1})
	if _, ok := queue.SnoozeDelay(err); !ok {
		t.Errorf("Handle during the hold = %v, want a snooze", err)
	}
	if n := f.v3Calls(t, f.user); n != 1 {
		t.Errorf("%d /signals calls, want 1", n)
	}
	st := bySignal(f.stored(t))[events.SignalStatus]
	if len(st) != 1 || !strings.Contains(string(st[0].Data), `"rate_limited"`) {
		t.Errorf("status events %v, want one rate_limited", st)
	}
}

// TestHandleV3_QuotaSpentHoldsUntilNextMonth: 430
// BILLING:VEHICLE_REQUEST_LIMIT is not retried: the vehicle is held until
// the next billing period (a status event says so) and its ticks are
// skipped without a call.
func TestHandleV3_QuotaSpentHoldsUntilNextMonth(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	f.sim.SetFault(f.bev, "/v3/vehicles/x/signals", smartcartest.ErrorFault("BILLING", "VEHICLE_REQUEST_LIMIT"))
	err := f.w.Handle(t.Context(), job3(f.bev, tick0, "always", "odometer"), queue.Delivery{Deliveries: 1})
	if !queue.IsDrop(err) {
		t.Fatalf("Handle = %v, want a drop", err)
	}
	// Real time, not the simulator's: the hold ends at the start of next month (UTC).
	now := time.Now().UTC()
	next := time.Date(now.Year(), now.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	if h, err := f.store.Hold(t.Context(), f.bev); err != nil || !h.Equal(next) {
		t.Errorf("hold until %v, %v; want %v", h, err, next)
	}
	if err := f.w.Handle(t.Context(), job3(f.bev, tick0.Add(time.Hour), "always", "odometer"), queue.Delivery{Deliveries: 1}); !queue.IsDrop(err) {
		t.Errorf("Handle during the hold = %v, want a drop (tick skipped)", err)
	}
	if n := f.v3Calls(t, f.user); n != 1 {
		t.Errorf("%d /signals calls, want 1", n)
	}
	evs := f.stored(t)
	st := bySignal(evs)[events.SignalStatus]
	if len(st) != 1 || !strings.Contains(string(st[0].Data), "VEHICLE_REQUEST_LIMIT") || !strings.Contains(string(st[0].Data), `"quota_exhausted"`) {
		t.Errorf("status events %v, want one quota_exhausted naming the quota", st)
	}
	if n := len(bySignal(evs)[events.SignalError]); n != 0 {
		t.Errorf("%d error events, want none", n)
	}
}

// TestHandleV3_RevokedAppTokenIsReplaced: an application token revoked
// mid-run costs one token request, and the poll succeeds.
func TestHandleV3_RevokedAppTokenIsReplaced(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	ctx := t.Context()
	if err := f.w.Handle(ctx, job3(f.bev, tick0, "always", "odometer"), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatal(err)
	}
	before := f.sim.Stats().AppTokens
	if n := f.sim.RevokeAppTokens(); n != 1 {
		t.Fatalf("%d live application tokens revoked, want 1", n)
	}
	if err := f.w.Handle(ctx, job3(f.bev, tick0.Add(time.Minute), "always", "odometer"), queue.Delivery{Deliveries: 1}); err != nil {
		t.Fatalf("Handle after the revocation: %v", err)
	}
	if n := f.sim.Stats().AppTokens - before; n != 1 {
		t.Errorf("%d application tokens fetched after the revocation, want 1", n)
	}
	if n := len(bySignal(f.stored(t))[events.SignalOdometer]); n != 2 {
		t.Errorf("%d odometer events, want 2", n)
	}
}

// TestHandleV3_AuthenticationRetriesThenReports: a 401 that outlives the
// client's own renewal is retried within max_attempts (no user can fix it,
// so the vehicle is not marked needs_reauth), then reported.
func TestHandleV3_AuthenticationRetriesThenReports(t *testing.T) {
	f := setup(t, worker.Config{MaxAttempts: 2}, fixedClock)
	f.sim.SetFault(f.bev, "/v3/vehicles/x/signals", smartcartest.ErrorFault("AUTHENTICATION", ""))
	ctx := t.Context()
	err := f.w.Handle(ctx, job3(f.bev, tick0, "always", "odometer", "location"), queue.Delivery{Deliveries: 1})
	if err == nil || queue.IsDrop(err) {
		t.Fatalf("first try = %v, want an error to retry", err)
	}
	err = f.w.Handle(ctx, job3(f.bev, tick0, "always", "odometer", "location"), queue.Delivery{Deliveries: 2, Failures: 1})
	if !queue.IsDrop(err) {
		t.Fatalf("last try = %v, want a drop", err)
	}
	evs := bySignal(f.stored(t))
	if len(evs[events.SignalError]) != 2 || len(evs[events.SignalStatus]) != 0 {
		t.Errorf("%d error and %d status events, want 2 and none", len(evs[events.SignalError]), len(evs[events.SignalStatus]))
	}
	if got, _ := f.store.GetVehicle(ctx, f.bev); got.Status != events.StatusConnected {
		t.Errorf("status %s, want connected", got.Status)
	}
}

// TestHandle_SameEventsOnV2AndV3 polls every vehicle of the grant (BEV,
// ICE, PHEV) at several instants of the simulator's clock (driving,
// parked, charging) with a v2 job (every path, one batch) and a v3 job
// (every signal, one /signals call), through the worker: each normalized
// signal gives the same event type and data on both APIs, under the same
// key in its event id. Two differences are the APIs': v3 has the nominal
// battery capacity without a source, and no sunroof, trunk or charging
// port beside the doors and windows of lock_status.
func TestHandle_SameEventsOnV2AndV3(t *testing.T) {
	var mu sync.Mutex
	at := time.Date(2026, 5, 4, 6, 0, 0, 0, time.UTC)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return at
	}
	f := setup(t, worker.Config{}, smartcartest.WithClock(now), smartcartest.WithAccessTokenLifetime(1000*time.Hour),
		smartcartest.WithAppTokenLifetime(1000*time.Hour))
	ctx := t.Context()
	var names []string
	primary := map[events.Signal]string{} // the v2 path a v3 item is keyed by
	for _, s := range normalize.Table() {
		if len(s.Paths) > 0 {
			primary[s.Signal] = s.Paths[0]
		}
		if s.Signal != events.SignalDiagnostics { // no v3 code
			names = append(names, string(s.Signal))
		}
	}
	seen := map[events.Signal]int{}
	charge, odometers := map[string]bool{}, map[string]bool{} // the instants are not all alike
	for step, instant := range instants(t, f.sim, f.user, now()) {
		mu.Lock()
		at = instant
		tick := at
		mu.Unlock()
		for _, v := range f.sim.Vehicles() {
			if v.UserID != f.user {
				continue
			}
			jobs := map[string]queue.PollJob{
				"v2": {ID: queue.JobID("v2", v.ID, tick), Schedule: "v2", VehicleID: v.ID, Paths: normalize.Paths(), Tick: tick, Emit: "always"},
				"v3": {ID: queue.JobID("v3", v.ID, tick), Schedule: "v3", VehicleID: v.ID, Signals: names, Tick: tick, Emit: "always"},
			}
			f.sim.ResetRecords()
			for wire, j := range jobs {
				if err := f.w.Handle(ctx, j, queue.Delivery{Deliveries: 1}); err != nil {
					t.Fatalf("%s %s: %v", v.Kind, wire, err)
				}
			}
			if st := f.sim.Stats(); st.Paths["/batch"] != 1 || st.Paths["/v3/signals"] != 1 {
				t.Errorf("%s: %d batch and %d /signals calls, want one each", v.Kind, st.Paths["/batch"], st.Paths["/v3/signals"])
			}
			// The v3 events by signal, and the v2 events by the path in their id.
			v3 := map[events.Signal]events.Event{}
			v2 := map[events.Signal]events.Event{}
			for _, ev := range f.stored(t) {
				s, _ := ev.Signal()
				if ev.Subject != v.ID || !ev.Tick.Equal(tick) || s == events.SignalError || s == events.SignalGeneric {
					continue
				}
				switch ev.Schedule {
				case "v3":
					v3[s] = ev
				case "v2":
					if ev.ID == events.EventID(jobs["v2"].ID, primary[s]) {
						v2[s] = ev // battery_capacity: the nominal capacity's path, the one v3 has
					}
				}
			}
			name := fmt.Sprintf("%s at step %d", v.Kind, step)
			for s, e2 := range v2 {
				if s == events.SignalDiagnostics {
					continue
				}
				e3, ok := v3[s]
				if !ok {
					t.Errorf("%s: %s on v2, not on v3", name, s)
					continue
				}
				seen[s]++
				want := e2.Data
				switch s {
				case events.SignalBatteryCapacity:
					var d events.BatteryCapacityData
					_ = e2.DecodeData(&d)
					d.Source = ""
					want, _ = json.Marshal(d)
				case events.SignalLockStatus:
					var d events.LockStatusData
					_ = e2.DecodeData(&d)
					d.Sunroof, d.Storage, d.ChargingPort = nil, nil, nil
					want, _ = json.Marshal(d)
				}
				switch s {
				case events.SignalCharge:
					var d events.ChargeData
					_ = e3.DecodeData(&d)
					charge[d.State] = true
				case events.SignalOdometer:
					odometers[v.ID+string(e3.Data)] = true
				}
				if e2.Type != e3.Type || !sameData(t, want, e3.Data) {
					t.Errorf("%s: %s differs:\nv2 %s %s\nv3 %s %s", name, s, e2.Type, want, e3.Type, e3.Data)
				}
				if id := events.EventID(jobs["v3"].ID, primary[s]); e3.ID != id {
					t.Errorf("%s: %s: v3 event id %s, want the one of key %s", name, s, e3.ID, primary[s])
				}
			}
		}
	}
	for _, s := range []events.Signal{events.SignalInfo, events.SignalVIN, events.SignalOdometer, events.SignalLocation,
		events.SignalBattery, events.SignalBatteryCapacity, events.SignalCharge, events.SignalChargeLimit, events.SignalFuel,
		events.SignalTirePressure, events.SignalEngineOil, events.SignalLockStatus} {
		if seen[s] == 0 {
			t.Errorf("%s was not compared", s)
		}
	}
	if len(charge) < 2 || len(odometers) <= 3 {
		t.Errorf("charge states %v and %d odometer readings of 3 vehicles: want vehicles charging and not, and moving", charge, len(odometers))
	}
	t.Logf("compared on v2 and v3 (polls per signal): %v", seen)
}

// instants are moments of the week from start at which the user's vehicles
// are, between them, driving, charging and parked: two hours apart from
// start, the middle of each vehicle's first trip and of its first charge, as
// the simulator's journal of true changes plans them, in order.
func instants(t *testing.T, sim *smartcartest.Server, user string, start time.Time) []time.Time {
	t.Helper()
	out := []time.Time{start.Add(100 * time.Minute), start.Add(200 * time.Minute)}
	middle := func(changes []smartcartest.StateChange, from, to smartcartest.ChangeKind) {
		for i, c := range changes {
			if c.Kind != from {
				continue
			}
			for _, e := range changes[i+1:] {
				if e.Kind == to {
					out = append(out, c.Time.Add(e.Time.Sub(c.Time)/2))
					return
				}
			}
		}
	}
	for _, v := range sim.Vehicles() {
		if v.UserID != user {
			continue
		}
		changes := sim.StateChanges(v.ID, start.Add(200*time.Minute), start.Add(7*24*time.Hour))
		middle(changes, smartcartest.ChangeTripStart, smartcartest.ChangeTripEnd)
		middle(changes, smartcartest.ChangeChargeStart, smartcartest.ChangeChargeStop)
	}
	slices.SortFunc(out, time.Time.Compare)
	out = slices.CompactFunc(out, time.Time.Equal)
	if len(out) < 5 {
		t.Fatalf("instants %v: the simulator's vehicles planned no trip or charge in a week", out)
	}
	return out
}

func sameData(t *testing.T, a, b json.RawMessage) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return cmp.Equal(x, y)
}
