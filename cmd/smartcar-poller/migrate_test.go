package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
	"github.com/smartcar-poller/smartcar-poller/registry/registrytest"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// migrateFleet is a simulator with n vehicles of n/4 users, every user
// connected, and the registered form of its vehicles as a daemon that kept
// no user ids (before this version) has them: v2 grants under the users'
// ids.
func migrateFleet(t testing.TB, n int) (*smartcartest.Server, []registry.Vehicle) {
	t.Helper()
	sim := smartcartest.NewServer(smartcartest.WithSeed(5), smartcartest.WithVehicles(n), smartcartest.WithUsers(max(n/4, 1)),
		smartcartest.WithoutLimits())
	t.Cleanup(sim.Close)
	for _, u := range sim.Users() {
		if _, ok := sim.ConnectUser(u, nil, nil); !ok {
			t.Fatalf("connect %s", u)
		}
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var vs []registry.Vehicle
	for _, v := range sim.Vehicles() {
		vs = append(vs, registry.Vehicle{ID: v.ID, GrantID: v.UserID, Status: events.StatusConnected, ConnectedAt: at})
	}
	return sim, vs
}

func appClientOf(t testing.TB, sim *smartcartest.Server) *smartcar.AppClient {
	t.Helper()
	o := sim.Origins()
	app, err := smartcar.NewAppClient(&smartcar.AppClientOptions{ClientID: sim.ClientID, ClientSecret: sim.ClientSecret,
		IAMOrigin: o.IAM, APIOrigin: o.APIV3, ManagementOrigin: o.ManagementV3})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// TestMigrateV3 runs `migrate v3` on the machine's Redis: every registered
// vehicle without a user id gets its connection's, one that had one keeps
// it, and the vehicles without a connection are listed; --dry-run changes
// nothing. The connections are listed, never billed.
func TestMigrateV3(t *testing.T) {
	rdb := testserver.Redis(t)
	testserver.NATS(t)
	sim, vs := migrateFleet(t, 24)
	prefix := testserver.Unique("mig")
	cleanupNames(t, nil, prefix)
	reg := redisregistry.New(rdb, prefix+":")
	vs[0].UserID = "kept-user"
	registrytest.PutAll(t, reg, vs)
	gone := []string{vs[5].ID, vs[9].ID}
	for _, id := range gone {
		sim.RevokeVehicle(id)
	}
	slices.Sort(gone)
	o := sim.Origins()
	t.Setenv("SMARTCAR_IAM_ORIGIN", o.IAM)
	t.Setenv("SMARTCAR_API_V3_ORIGIN", o.APIV3)
	path := filepath.Join(t.TempDir(), "poller.yaml")
	writeFile(t, path, fmt.Sprintf("nats: {url: %q, subject_prefix: %s}\nredis: {url: %q, key_prefix: %q}\n"+
		"smartcar: {client_id: %q, client_secret: %q}\ntokens: {encryption_key_file: %q}\nhttp: {listen: ''}\nlog: {level: warn}\n"+
		"schedules:\n  - {name: s, cron: '@hourly', signals: [odometer]}\n",
		testserver.NATSURL(), prefix, "redis://"+testserver.RedisAddr(), prefix+":", sim.ClientID, sim.ClientSecret, testKeyFile(t)))

	for _, dry := range []bool{true, false} {
		args := []string{"migrate", "v3", "--config", path}
		if dry {
			args = append(args, "--dry-run")
		}
		var stdout, stderr bytes.Buffer
		if code := run(t.Context(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, stdout.String(), stderr.String())
		}
		out := stdout.String()
		verb := "filled in 21"
		if dry {
			verb = "would fill in (dry run) 21"
		}
		if !strings.Contains(out, "24 vehicles registered, 1 had a Smartcar user id; "+verb) ||
			!strings.Contains(out, "2 vehicles have no connection to the application") ||
			!strings.Contains(out, "  "+gone[0]+"\n  "+gone[1]+"\n") {
			t.Errorf("%v printed:\n%s", args, out)
		}
		list, err := reg.ListVehicles(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		user := map[string]string{}
		for _, v := range sim.Vehicles() {
			user[v.ID] = v.UserID
		}
		for _, v := range list {
			want := user[v.ID]
			switch {
			case v.ID == vs[0].ID:
				want = "kept-user"
			case dry || slices.Contains(gone, v.ID):
				want = ""
			}
			if v.UserID != want {
				t.Errorf("dry run %v: vehicle %s has user %q, want %q", dry, v.ID, v.UserID, want)
			}
		}
	}
	if st := sim.Stats(); st.BilledCalls != 0 || st.Paths["/v3/connections"] == 0 {
		t.Errorf("%d billed calls and %d connection lists, want none and some", st.BilledCalls, st.Paths["/v3/connections"])
	}

	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{"migrate", "v2", "--config", path}, &stdout, &stderr); code != 2 {
		t.Errorf("migrate v2: exit %d, want 2 (usage)", code)
	}
}

// TestMigrateV3_10000 fills in the user ids of 10,000 registered vehicles
// from the simulator's connections, on Redis and on the embedded store
// (JetStream KV), and logs how long it took (BenchmarkMigrateV3 measures
// it).
func TestMigrateV3_10000(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 vehicles")
	}
	const n = 10_000
	sim, vs := migrateFleet(t, n)
	app := appClientOf(t, sim)
	for name, reg := range migrateStores(t) {
		t.Run(name, func(t *testing.T) {
			registrytest.PutAll(t, reg, vs)
			m, err := migrateV3(t.Context(), reg, app, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Filled) != n || len(m.Unmatched) != 0 || m.Connections != n {
				t.Errorf("filled %d, unmatched %d, from %d connections; want %d, 0, %d", len(m.Filled), len(m.Unmatched), m.Connections, n, n)
			}
			list, err := reg.ListVehicles(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			users := map[string]string{}
			for _, v := range sim.Vehicles() {
				users[v.ID] = v.UserID
			}
			missing := 0
			for _, v := range list {
				if v.UserID == "" || v.UserID != users[v.ID] {
					missing++
				}
			}
			if len(list) != n || missing != 0 {
				t.Errorf("%d vehicles registered, %d without their user id", len(list), missing)
			}
			t.Logf("%s: %d vehicles, %d connections read and %d user ids written in %s", name, n, m.Connections, len(m.Filled), m.Took.Round(time.Millisecond))
		})
	}
}

// migrateStores are empty registries on both backends.
func migrateStores(t testing.TB) map[string]registry.Store {
	t.Helper()
	rdb := testserver.Redis(t)
	nc := testserver.NATS(t)
	prefix := testserver.Unique("mig")
	cleanupNames(t, nil, prefix)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := kvregistry.Open(context.Background(), js, kvregistry.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]registry.Store{"redis": redisregistry.New(rdb, prefix+":"), "kv": kv}
}

// BenchmarkMigrateV3 is `migrate v3` over 10,000 registered vehicles
// without a user id: the registry pass, the connections (100 pages of the
// simulator) and the 10,000 writes. Its time per op is the command's.
func BenchmarkMigrateV3(b *testing.B) {
	const n = 10_000
	sim, vs := migrateFleet(b, n)
	app := appClientOf(b, sim)
	for name, reg := range migrateStores(b) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				registrytest.PutAll(b, reg, vs) // no user ids again
				b.StartTimer()
				m, err := migrateV3(b.Context(), reg, app, false)
				if err != nil || len(m.Filled) != n {
					b.Fatalf("filled %d of %d: %v", len(m.Filled), n, err)
				}
			}
		})
	}
}
