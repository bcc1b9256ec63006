package smartcar_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// infoAndSignals: vehicle info, every signal over several pages (one
// billed call each), one signal, an ERROR signal and an unknown code.
func (w *v3e2e) infoAndSignals(t *testing.T) {
	ctx := t.Context()
	w.refill()
	v := w.app.Vehicle(w.bev.ID, w.users[0])
	info, err := v.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := smartcar.Info{ID: w.bev.ID, Make: w.bev.Make, Model: w.bev.Model, Year: w.bev.Year}
	if info.ID != want.ID || info.Make != want.Make || info.Model != want.Model || info.Year != want.Year ||
		info.Meta.RequestID == "" {
		t.Errorf("Info = %+v, want %+v", info, want)
	}

	billed, totalBilled, mark := w.sim.BilledCalls(w.bev.ID, w.clock.Now()), w.sim.Stats().BilledCalls, len(w.sim.Requests())
	sigs, err := v.Signals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(smartcartest.SignalCodes(), sigs.Codes()); diff != "" {
		t.Errorf("Signals codes (-simulator +sdk):\n%s", diff)
	}
	if sigs.Vehicle == nil || sigs.Vehicle.ID != w.bev.ID || sigs.Vehicle.Make != w.bev.Make ||
		sigs.Vehicle.Model != w.bev.Model || sigs.Vehicle.Year != w.bev.Year {
		t.Errorf("included vehicle %+v, want %+v", sigs.Vehicle, want)
	}
	recs := requestsSince(w.sim, mark)
	if len(recs) != e2eSignalsPages {
		t.Fatalf("Signals made %d requests, want %d pages: %+v", len(recs), e2eSignalsPages, recs)
	}
	for _, r := range recs {
		if r.Method != http.MethodGet || r.Route != "/v3/signals" || r.Status != http.StatusOK || r.VehicleID != w.bev.ID ||
			r.UserID != w.users[0] || r.Billed != 1 {
			t.Errorf("page request %+v", r)
		}
	}
	if sigs.Meta.RequestID != recs[0].RequestID {
		t.Errorf("Signals request id %q, first page's %q", sigs.Meta.RequestID, recs[0].RequestID)
	}
	if got := w.sim.BilledCalls(w.bev.ID, w.clock.Now()) - billed; got != e2eSignalsPages {
		t.Errorf("Signals billed %d calls, want one per page: %d", got, e2eSignalsPages)
	}
	if got := w.sim.Stats().BilledCalls - totalBilled; got != e2eSignalsPages {
		t.Errorf("simulator total billed calls grew by %d, want %d", got, e2eSignalsPages)
	}
	now := w.clock.Now().UnixMilli()
	for _, s := range sigs.Items {
		wantErr := strings.HasPrefix(s.Code, "internalcombustionengine-")
		if s.RetrievedAt.UnixMilli() != now || s.Name == "" || s.Group == "" || (s.Err != nil) != wantErr {
			t.Errorf("BEV signal %+v (error expected: %v)", s, wantErr)
		}
		if !wantErr && (s.Status != smartcar.SignalSuccess || len(s.Body) == 0 || s.OEMUpdatedAt.IsZero() ||
			s.OEMUpdatedAt.After(s.RetrievedAt)) {
			t.Errorf("BEV signal %s: status %s, body %s, oemUpdatedAt %v", s.Code, s.Status, s.Body, s.OEMUpdatedAt)
		}
	}

	// One signal: what the list says at the same instant.
	odo, err := v.Signal(ctx, smartcar.SignalOdometer)
	if err != nil {
		t.Fatal(err)
	}
	listed, _ := sigs.Get(smartcar.SignalOdometer)
	if diff := cmp.Diff(listed, odo); diff != "" {
		t.Errorf("Signal(odometer) differs from the list (-list +signal):\n%s", diff)
	}

	// An ICE car's traction battery: an ERROR signal, not a failed call.
	soc, err := w.app.Vehicle(w.ice.ID, w.users[0]).Signal(ctx, smartcar.SignalStateOfCharge)
	if err != nil {
		t.Fatalf("incapable signal: %v, want an ERROR signal", err)
	}
	if soc.Status != smartcar.SignalError || soc.Err == nil || soc.Err.Type != smartcar.TypeCompatibility ||
		soc.Err.Code != "VEHICLE_NOT_CAPABLE" || soc.Err.RequestID == "" || soc.Body != nil {
		t.Errorf("ICE state of charge = %+v (err %+v)", soc, soc.Err)
	}
	if _, err := soc.Scalar(); err != soc.Err {
		t.Errorf("Scalar of an ERROR signal = %v, want its Err", err)
	}

	// An unknown code is a 404, not a signal, and is not billed.
	billed = w.sim.BilledCalls(w.bev.ID, w.clock.Now())
	_, err = v.Signal(ctx, "tractionbattery-flux")
	if e := asError(t, err); e.StatusCode != http.StatusNotFound || e.Type != smartcar.TypeResourceNotFound ||
		e.Code != "PATH" || e.RequestID == "" || e.Retryable() {
		t.Errorf("unknown code: %+v", e)
	}
	if got := w.sim.BilledCalls(w.bev.ID, w.clock.Now()) - billed; got != 0 {
		t.Errorf("a 404 signal billed %d calls", got)
	}
}

// signalsMatchV2: at one instant of the simulator's clock, the typed v3
// bodies say what the v2.0 endpoints say, for each powertrain.
func (w *v3e2e) signalsMatchV2(t *testing.T) {
	ctx := t.Context()
	w.refill()
	for _, veh := range []smartcartest.Vehicle{w.bev, w.phev, w.ice} {
		t.Run(string(veh.Kind), func(t *testing.T) {
			sigs, err := w.app.Vehicle(veh.ID, w.users[0]).Signals(ctx)
			if err != nil {
				t.Fatal(err)
			}
			v2 := smartcar.NewVehicle(veh.ID, w.access[0].AccessToken)
			batch, err := v2.Batch(ctx, []string{smartcar.PathOdometer, smartcar.PathLocation, smartcar.PathTirePressure,
				smartcar.PathLockStatus, smartcar.PathVIN, smartcar.PathBattery, smartcar.PathCharge, smartcar.PathChargeLimit,
				smartcar.PathFuel, smartcar.PathEngineOil})
			if err != nil {
				t.Fatal(err)
			}
			sig := func(code string) *smartcar.Signal {
				t.Helper()
				s, ok := sigs.Get(code)
				if !ok {
					t.Fatalf("no signal %s", code)
				}
				return s
			}
			scalar := func(code string, conv func(smartcar.ScalarBody) (float64, error)) float64 {
				t.Helper()
				b, err := sig(code).Scalar()
				if err != nil {
					t.Fatalf("%s: %v", code, err)
				}
				f, err := conv(b)
				if err != nil {
					t.Fatalf("%s %+v: %v", code, b, err)
				}
				return f
			}
			check := func(what string, v3, v2 any) {
				t.Helper()
				if diff := cmp.Diff(v2, v3, cmp.Comparer(near)); diff != "" {
					t.Errorf("%s (-v2 +v3):\n%s", what, diff)
				}
			}

			odo, err := batch.Odometer()
			if err != nil {
				t.Fatal(err)
			}
			check("odometer", scalar(smartcar.SignalOdometer, smartcar.ScalarBody.Kilometers), odo.Distance)
			loc, err := batch.Location()
			if err != nil {
				t.Fatal(err)
			}
			var l3 smartcar.LocationBody
			if err := sig(smartcar.SignalLocation).Decode(&l3); err != nil {
				t.Fatal(err)
			}
			check("location", [2]float64{l3.Latitude, l3.Longitude}, [2]float64{loc.Latitude, loc.Longitude})
			tires, err := batch.TirePressure()
			if err != nil {
				t.Fatal(err)
			}
			var t3 smartcar.TiresBody
			if err := sig(smartcar.SignalTires).Decode(&t3); err != nil {
				t.Fatal(err)
			}
			var kPa [4]float64
			for i := range kPa {
				kPa[i], _ = t3.Kilopascals(i/2, i%2)
			}
			check("tires", kPa, [4]float64{tires.FrontLeft, tires.FrontRight, tires.BackLeft, tires.BackRight})
			sec, err := batch.LockStatus()
			if err != nil {
				t.Fatal(err)
			}
			locked, err := sig(smartcar.SignalIsLocked).Bool()
			if err != nil {
				t.Fatal(err)
			}
			check("locked", locked, sec.IsLocked)
			vin, err := batch.VIN()
			if err != nil {
				t.Fatal(err)
			}
			vin3, err := sig(smartcar.SignalVIN).Text()
			if err != nil {
				t.Fatal(err)
			}
			check("vin", vin3, vin.VIN)

			batt, err := batch.Battery()
			if veh.Kind == smartcartest.ICE {
				if err == nil || sig(smartcar.SignalStateOfCharge).Err == nil {
					t.Errorf("ICE: v2 battery %v, v3 state of charge %+v: both should fail", err, sig(smartcar.SignalStateOfCharge))
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				check("state of charge", scalar(smartcar.SignalStateOfCharge, smartcar.ScalarBody.Fraction), batt.PercentRemaining)
				check("battery range", scalar(smartcar.SignalBatteryRange, smartcar.ScalarBody.Kilometers), batt.Range)
				charge, err := batch.Charge()
				if err != nil {
					t.Fatal(err)
				}
				plugged, err := sig(smartcar.SignalIsChargingCable).Bool()
				if err != nil {
					t.Fatal(err)
				}
				state, err := sig(smartcar.SignalDetailedChargingStatus).Text()
				if err != nil {
					t.Fatal(err)
				}
				check("charge", [2]any{plugged, state}, [2]any{charge.IsPluggedIn, charge.State})
				limit, err := batch.ChargeLimit()
				if err != nil {
					t.Fatal(err)
				}
				var cl smartcar.ChargeLimitsBody
				if err := sig(smartcar.SignalChargeLimits).Decode(&cl); err != nil {
					t.Fatal(err)
				}
				frac, err := cl.Fraction()
				if err != nil {
					t.Fatal(err)
				}
				check("charge limit", frac, limit.Limit)
			}

			fuel, err := batch.Fuel()
			if veh.Kind == smartcartest.BEV {
				if err == nil || sig(smartcar.SignalFuelLevel).Err == nil {
					t.Errorf("BEV: v2 fuel %v, v3 fuel level %+v: both should fail", err, sig(smartcar.SignalFuelLevel))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			check("fuel level", scalar(smartcar.SignalFuelLevel, smartcar.ScalarBody.Fraction), fuel.PercentRemaining)
			check("fuel amount", scalar(smartcar.SignalFuelAmount, smartcar.ScalarBody.Liters), fuel.AmountRemaining)
			check("fuel range", scalar(smartcar.SignalFuelRange, smartcar.ScalarBody.Kilometers), fuel.Range)
			oil, err := batch.EngineOil()
			if err != nil {
				t.Fatal(err)
			}
			check("oil life", scalar(smartcar.SignalOilLife, smartcar.ScalarBody.Fraction), oil.LifeRemaining)
		})
	}
}

// userTokenMode: the user's own access token on v3, as the official SDKs
// call it, sees what the application sees, and names its user without
// sc-user-id.
func (w *v3e2e) userTokenMode(t *testing.T) {
	ctx := t.Context()
	w.refill()
	viaApp, err := w.app.Vehicle(w.bev.ID, w.users[0]).Signals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	missing := w.sim.Stats().MissingUserID
	mark := len(w.sim.Requests())
	vt := smartcar.NewVehicleV3WithToken(w.bev.ID, w.access[0].AccessToken)
	viaToken, err := vt.Signals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(viaApp.Items, viaToken.Items, sameSignals); diff != "" {
		t.Errorf("NewVehicleV3WithToken Signals differ from the app's (-app +token):\n%s", diff)
	}
	v2 := smartcar.NewVehicle(w.bev.ID, w.access[0].AccessToken)
	viaV2, err := v2.Signals(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(viaApp.Items, viaV2.Items, sameSignals); diff != "" {
		t.Errorf("(*Vehicle).Signals differ from the app's (-app +v2 vehicle):\n%s", diff)
	}
	one, err := v2.Signal(ctx, smartcar.SignalOdometer)
	if want, _ := viaApp.Get(smartcar.SignalOdometer); err != nil || !cmp.Equal(want, one, sameSignals) {
		t.Errorf("(*Vehicle).Signal(odometer) = %+v, %v; want %+v", one, err, want)
	}
	info, err := vt.Info(ctx)
	if err != nil || info.ID != w.bev.ID || info.Model != w.bev.Model {
		t.Errorf("user-token Info = %+v, %v", info, err)
	}
	for _, r := range requestsSince(w.sim, mark) {
		if r.UserID != w.users[0] || r.Status != http.StatusOK {
			t.Errorf("user-token request %+v: want user %s from the token", r, w.users[0])
		}
	}
	if n := w.sim.Stats().MissingUserID; n != missing {
		t.Errorf("user-token calls counted %d as missing sc-user-id", n-missing)
	}
	// Naming another user, or using another user's token, is refused.
	if _, err := vt.WithUserID(w.users[1]).Signal(ctx, smartcar.SignalOdometer); asError(t, err).Type != smartcar.TypePermission {
		t.Errorf("token of user 0 with sc-user-id of user 1: %v, want PERMISSION", err)
	}
	other := smartcar.NewVehicleV3WithToken(w.bev.ID, w.access[1].AccessToken)
	if _, err := other.Signals(ctx); asError(t, err).StatusCode != http.StatusForbidden {
		t.Errorf("user 1's token on user 0's vehicle: %v, want 403", err)
	}
}
