package events_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

func ptr[T any](v T) *T { return &v }

var dataAge = time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)

// samples holds one valid data value per signal.
var samples = map[events.Signal]any{
	events.SignalInfo:     events.InfoData{Make: "TESLA", Model: "Model S", Year: 2014},
	events.SignalVIN:      events.VINData{VIN: "5YJSA1CN5DFP00101"},
	events.SignalOdometer: events.OdometerData{DistanceKm: 104.32},
	events.SignalLocation: events.LocationData{Latitude: 37.4292, Longitude: -122.1381},
	events.SignalBattery:  events.BatteryData{PercentRemaining: 0.3, RangeKm: 40.5},
	events.SignalBatteryCapacity: events.BatteryCapacityData{
		NominalKWh: ptr(80.9), Source: "USER_SELECTED",
		Available: []events.CapacityOption{{CapacityKWh: 70.9}, {CapacityKWh: 90.9, Description: "BEV:Extended Range"}},
	},
	events.SignalCharge:       events.ChargeData{IsPluggedIn: true, State: events.ChargeStateCharging},
	events.SignalChargeLimit:  events.ChargeLimitData{Limit: 0.8},
	events.SignalFuel:         events.FuelData{AmountRemainingL: 19.5, PercentRemaining: 0.75, RangeKm: 320.4},
	events.SignalTirePressure: events.TirePressureData{FrontLeftKPa: 219.3, FrontRightKPa: 219.3, BackLeftKPa: 220, BackRightKPa: 218.1},
	events.SignalEngineOil:    events.EngineOilData{LifeRemaining: 0.86},
	events.SignalLockStatus: events.LockStatusData{
		IsLocked:     true,
		Doors:        []events.Opening{{Type: "frontLeft", Status: events.OpeningLocked}, {Type: "frontRight", Status: events.OpeningClosed}},
		Windows:      []events.Opening{{Type: "backLeft", Status: events.OpeningClosed}},
		Sunroof:      []events.Opening{{Type: "sunroof", Status: events.OpeningClosed}},
		Storage:      []events.Opening{{Type: "rear", Status: events.OpeningUnknown}},
		ChargingPort: []events.Opening{{Type: "chargingPort", Status: events.OpeningClosed}},
	},
	events.SignalDiagnostics: events.DiagnosticsData{
		Systems:     []events.DiagnosticSystem{{SystemID: "SYSTEM_TPMS", Status: "ALERT", Description: "Left rear tire sensor battery low"}},
		ActiveCodes: []events.TroubleCode{{Code: "P302D", Timestamp: ptr(dataAge)}, {Code: "P303D"}},
	},
	events.SignalConnectivity: events.ConnectivityData{IsOnline: true, IsAsleep: ptr(false)},
	events.SignalDoors: events.DoorsData{RowCount: 2, ColumnCount: 2, Doors: []events.Closure{
		{Row: 0, Column: 0, IsOpen: false, IsLocked: ptr(true)}, {Row: 0, Column: 1, IsOpen: true, IsLocked: ptr(false)},
		{Row: 1, Column: 0}, {Row: 1, Column: 1},
	}},
	events.SignalWindows: events.WindowsData{RowCount: 2, ColumnCount: 2, Windows: []events.Closure{
		{Row: 0, Column: 0, IsOpen: true}, {Row: 0, Column: 1}, {Row: 1, Column: 0}, {Row: 1, Column: 1},
	}},
	events.SignalGeneric: events.SignalData{
		Code: "transmission-gearstate", Group: "Transmission", Name: "GearState", Body: json.RawMessage(`{"value":"D"}`),
		RetrievedAt: dataAge.Add(time.Minute), OEMUpdatedAt: dataAge,
	},
	events.SignalError: events.ErrorData{
		Path: "/engine/oil", StatusCode: 429, Type: "RATE_LIMIT", Code: "VEHICLE",
		Description: "too many requests", RequestID: "5dea93a1-0000-4000-8000-000000000000", RetryAfterS: 999,
	},
	events.SignalStatus: events.StatusData{Status: events.StatusNeedsReauth, Reason: "AUTHENTICATION", Previous: events.StatusConnected},
}

// sampleEvent builds a valid event of signal s for vehicle v.
func sampleEvent(t testing.TB, s events.Signal, v string) events.Event {
	t.Helper()
	ev, err := events.New(s, v, samples[s], events.Meta{
		ID:        events.EventID("default/"+v+"/1772368200", string(s)),
		Time:      dataAge,
		FetchedAt: dataAge.Add(14 * time.Second),
		RequestID: "5dea93a1-0000-4000-8000-000000000000",
		Schedule:  "default",
	})
	if err != nil {
		t.Fatalf("new %s event: %v", s, err)
	}
	return ev
}

// server is a NATS server a test runs against.
type server struct {
	name    string
	connect func(t testing.TB) *nats.Conn
}

// servers are the shared NATS (Debian nats-server 2.9) and an in-process
// nats-server 2.15.
var servers = []server{
	{"shared", testserver.NATS},
	{"embedded", func(t testing.TB) *nats.Conn {
		s := testserver.EmbeddedNATS(t)
		nc, err := nats.Connect(s.ClientURL())
		if err != nil {
			t.Fatalf("connect embedded nats: %v", err)
		}
		t.Cleanup(nc.Close)
		return nc
	}},
}

// forEachServer runs f against every server in a subtest.
func forEachServer(t *testing.T, f func(t *testing.T, js jetstream.JetStream)) {
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			js, err := jetstream.New(srv.connect(t))
			if err != nil {
				t.Fatalf("jetstream: %v", err)
			}
			f(t, js)
		})
	}
}

// ensure creates the stream and bucket of a fresh prefix, deleted when the
// test ends, and returns the prefix.
func ensure(t testing.TB, js jetstream.JetStream, cfg events.StreamConfig) string {
	t.Helper()
	if cfg.Prefix == "" {
		cfg.Prefix = testserver.Unique("evtest-")
	}
	cleanup(t, js, cfg.Prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := events.EnsureStream(ctx, js, cfg); err != nil {
		t.Fatalf("ensure stream: %v", err)
	}
	return cfg.Prefix
}

func cleanup(t testing.TB, js jetstream.JetStream, prefix string) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = js.DeleteStream(ctx, events.StreamName(prefix))
		_ = js.DeleteKeyValue(ctx, events.LatestBucket(prefix))
	})
}

func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newDataOf returns a pointer to a new zero value of v's type.
func newDataOf(v any) any { return reflect.New(reflect.TypeOf(v)).Interface() }

// deref returns the value a pointer from newDataOf points to.
func deref(p any) any { return reflect.ValueOf(p).Elem().Interface() }
