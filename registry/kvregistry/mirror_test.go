package kvregistry_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
)

// twoKVStores opens two KVStores on the same buckets of a fresh embedded
// server: a mirrored one (as the daemon runs) and a plain one standing for
// another process (the CLI, another replica on an external NATS).
func twoKVStores(t *testing.T, loadFirst func(s registry.Store)) (mirrored, other *kvregistry.Store, stop func()) {
	t.Helper()
	srv := testserver.EmbeddedNATS(t)
	connect := func() jetstream.JetStream { return testserver.ConnectJetStream(t, srv.ClientURL()) }
	ctx := t.Context()
	prefix := testserver.Unique("mir_")
	o, err := kvregistry.Open(ctx, connect(), kvregistry.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if loadFirst != nil {
		loadFirst(o)
	}
	m, err := kvregistry.Open(ctx, connect(), kvregistry.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.StartMirror(ctx, testserver.Logger(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, o, srv.Shutdown
}

// eventually retries check until it returns nil or 5 s pass.
func eventually(t *testing.T, what string, check func() error) {
	t.Helper()
	eventuallyWithin(t, 5*time.Second, what, check)
}

// eventuallyWithin retries check until it returns nil or d passes.
func eventuallyWithin(t *testing.T, d time.Duration, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStore_mirrorServesReadsFromMemory loads a registry, starts the
// mirror, shuts the server down, and still reads every vehicle, the list and
// the holds: they come from memory, not from round trips.
func TestStore_mirrorServesReadsFromMemory(t *testing.T) {
	const n = 500
	holdUntil := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	m, _, stop := twoKVStores(t, func(s registry.Store) {
		ctx := t.Context()
		for i := range n {
			v := registry.Vehicle{ID: fmt.Sprintf("veh-%03d", i), GrantID: "g1", Tags: []string{"fleet"}}
			if err := s.PutVehicle(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteVehicle(ctx, "veh-007"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetHold(ctx, "veh-003", holdUntil); err != nil {
			t.Fatal(err)
		}
	})
	stop()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	list, err := m.ListVehicles(ctx)
	if err != nil {
		t.Fatalf("ListVehicles with the server down: %v", err)
	}
	if len(list) != n-1 {
		t.Fatalf("ListVehicles: %d vehicles, want %d", len(list), n-1)
	}
	for i := 1; i < len(list); i++ {
		if list[i-1].ID >= list[i].ID {
			t.Fatalf("list not sorted by ID at %d: %s, %s", i, list[i-1].ID, list[i].ID)
		}
	}
	v, err := m.GetVehicle(ctx, "veh-042")
	if err != nil || v.GrantID != "g1" || len(v.Tags) != 1 || v.Status != events.StatusConnected {
		t.Fatalf("GetVehicle with the server down: %+v, %v", v, err)
	}
	v.Tags[0] = "changed" // the caller's copy: the mirror must not see it
	if again, _ := m.GetVehicle(ctx, "veh-042"); again.Tags[0] != "fleet" {
		t.Fatalf("a caller's change to Tags reached the mirror: %v", again.Tags)
	}
	if _, err := m.GetVehicle(ctx, "veh-007"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("deleted vehicle: err = %v, want ErrNotFound", err)
	}
	if until, err := m.Hold(ctx, "veh-003"); err != nil || !until.Equal(holdUntil) {
		t.Fatalf("Hold with the server down = %v, %v; want %v", until, err, holdUntil)
	}
	if until, err := m.Hold(ctx, "veh-004"); err != nil || !until.IsZero() {
		t.Fatalf("Hold of an unheld vehicle = %v, %v; want zero", until, err)
	}
	// Writes still need the server.
	wctx, wcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer wcancel()
	if err := m.SetStatus(wctx, "veh-042", events.StatusDisabled, "x"); err == nil {
		t.Fatal("SetStatus succeeded with the server down")
	}
}

// TestStore_mirrorFollowsOtherWriters writes through a second store (no
// mirror) and sees every change in the mirrored one.
func TestStore_mirrorFollowsOtherWriters(t *testing.T) {
	m, o, _ := twoKVStores(t, nil)
	ctx := t.Context()
	if err := o.PutVehicle(ctx, registry.Vehicle{ID: "v1", GrantID: "g1"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "vehicle registered elsewhere", func() error {
		_, err := m.GetVehicle(ctx, "v1")
		return err
	})
	if err := o.SetStatus(ctx, "v1", events.StatusNeedsReauth, "revoked"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "status set elsewhere", func() error {
		v, err := m.GetVehicle(ctx, "v1")
		if err == nil && v.Status != events.StatusNeedsReauth {
			err = fmt.Errorf("status %s", v.Status)
		}
		return err
	})
	until := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	if err := o.SetHold(ctx, "v1", until); err != nil {
		t.Fatal(err)
	}
	eventually(t, "hold set elsewhere", func() error {
		got, err := m.Hold(ctx, "v1")
		if err == nil && !got.Equal(until) {
			err = fmt.Errorf("hold %v, want %v", got, until)
		}
		return err
	})
	if err := o.DeleteVehicle(ctx, "v1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "vehicle removed elsewhere", func() error {
		if _, err := m.GetVehicle(ctx, "v1"); !errors.Is(err, registry.ErrNotFound) {
			return fmt.Errorf("GetVehicle err = %v, want ErrNotFound", err)
		}
		if got, _ := m.Hold(ctx, "v1"); !got.IsZero() {
			return fmt.Errorf("hold %v survived the removal", got)
		}
		return nil
	})
}

// TestStore_mirrorWritesNeverLoseUpdates races writers in both stores on
// the same vehicles: the mirrored one's first try uses a revision that may be
// stale, the compare-and-set rejects it and the retry reads the server, so
// both sides' changes end up in the record.
func TestStore_mirrorWritesNeverLoseUpdates(t *testing.T) {
	m, o, _ := twoKVStores(t, nil)
	ctx := t.Context()
	const vehicles, rounds = 5, 40
	for i := range vehicles {
		if err := o.PutVehicle(ctx, registry.Vehicle{ID: fmt.Sprintf("v%d", i), GrantID: "g"}); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Now().Truncate(time.Millisecond)
	var wg sync.WaitGroup
	for i := range vehicles {
		id := fmt.Sprintf("v%d", i)
		wg.Go(func() { // the other process records polls
			for r := range rounds {
				if err := o.TouchPoll(ctx, id, base.Add(time.Duration(r+1)*time.Second)); err != nil {
					t.Error(err)
					return
				}
			}
		})
		wg.Go(func() { // the mirrored one flips the status's reason
			for r := range rounds {
				if err := m.SetStatus(ctx, id, events.StatusConnected, fmt.Sprintf("round %d", r)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for i := range vehicles {
		id := fmt.Sprintf("v%d", i)
		eventually(t, "both writers' last changes", func() error {
			v, err := m.GetVehicle(ctx, id)
			if err != nil {
				return err
			}
			if want := base.Add(rounds * time.Second); !v.LastPoll.Equal(want) || v.Reason != fmt.Sprintf("round %d", rounds-1) {
				return fmt.Errorf("%s: last poll %v (want %v), reason %q", id, v.LastPoll, want, v.Reason)
			}
			return nil
		})
	}
}

// TestStore_mirrorLoadsDuringWrites starts the mirror while another writer
// rewrites early keys (as TouchPoll does): it must still load every vehicle.
func TestStore_mirrorLoadsDuringWrites(t *testing.T) {
	const n = 300
	js := testserver.EmbeddedJetStream(t) // this test's own server
	ctx := t.Context()
	prefix := testserver.Unique("mirl_")
	o, err := kvregistry.Open(ctx, js, kvregistry.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := o.PutVehicle(ctx, registry.Vehicle{ID: fmt.Sprintf("veh-%03d", i), GrantID: "g"}); err != nil {
			t.Fatal(err)
		}
	}
	defer rewriteEarlyKeys(t, o)()
	for range 10 {
		m, err := kvregistry.Open(ctx, js, kvregistry.Config{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.StartMirror(ctx, nil); err != nil {
			t.Fatal(err)
		}
		list, err := m.ListVehicles(ctx)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != n {
			t.Fatalf("mirror loaded %d vehicles while others were written, want %d", len(list), n)
		}
	}
}

// TestStore_mirrorSurvivesServerRestart restarts the NATS server under a
// mirrored store (an external NATS with the embedded token store): writes
// made by another process after the restart still reach the mirror, and a
// vehicle removed while the mirror was away is gone from it.
func TestStore_mirrorSurvivesServerRestart(t *testing.T) {
	dir, port := t.TempDir(), testserver.FreePort(t)
	srv := testserver.EmbeddedNATSAt(t, dir, port)
	connect := func(url string) jetstream.JetStream {
		return testserver.ConnectJetStream(t, url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	}
	url := srv.ClientURL()
	ctx := t.Context()
	prefix := testserver.Unique("mirr_")
	m, err := kvregistry.Open(ctx, connect(url), kvregistry.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"v1", "v2"} {
		if err := m.PutVehicle(ctx, registry.Vehicle{ID: id, GrantID: "g"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.StartMirror(ctx, testserver.Logger(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)

	srv.Shutdown()
	srv.WaitForShutdown()
	testserver.EmbeddedNATSAt(t, dir, port) // the same store and port: the clients reconnect

	o, err := kvregistry.Open(ctx, connect(url), kvregistry.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	eventuallyWithin(t, 30*time.Second, "writes after the restart", func() error {
		// Retried: the other store's first writes may meet a server still
		// recovering its streams.
		if err := o.SetHold(ctx, "v1", until); err != nil {
			return err
		}
		if err := o.PutVehicle(ctx, registry.Vehicle{ID: "v3", GrantID: "g"}); err != nil {
			return err
		}
		return o.DeleteVehicle(ctx, "v2")
	})
	// Well within the 15-25 s the watch's consumer takes to notice the
	// restart by itself: the reconnect reloads the mirror.
	start := time.Now()
	eventually(t, "the mirror following writes made after the restart", func() error {
		if got, err := m.Hold(ctx, "v1"); err != nil || !got.Equal(until) {
			return fmt.Errorf("hold %v, %v; want %v", got, err, until)
		}
		list, err := m.ListVehicles(ctx)
		if err != nil {
			return err
		}
		var ids []string
		for _, v := range list {
			ids = append(ids, v.ID)
		}
		if fmt.Sprint(ids) != "[v1 v3]" {
			return fmt.Errorf("vehicles %v, want [v1 v3]", ids)
		}
		return nil
	})
	t.Logf("mirror caught up %v after the writes", time.Since(start).Round(time.Millisecond))
}

// TestStore_mirrorWritesToVehiclesItHasNotSeen writes, through the
// mirrored store, to vehicles another process registered a moment before:
// the mirror may not know them yet, so the write must ask the server rather
// than report them missing.
func TestStore_mirrorWritesToVehiclesItHasNotSeen(t *testing.T) {
	m, o, _ := twoKVStores(t, nil)
	ctx := t.Context()
	for i := range 50 {
		id := fmt.Sprintf("new-%02d", i)
		if err := o.PutVehicle(ctx, registry.Vehicle{ID: id, GrantID: "g"}); err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			if err := m.SetStatus(ctx, id, events.StatusDisabled, "operator"); err != nil {
				t.Fatalf("SetStatus right after another process registered %s: %v", id, err)
			}
		case 1:
			if err := m.TouchPoll(ctx, id, time.Now()); err != nil {
				t.Fatalf("TouchPoll right after another process registered %s: %v", id, err)
			}
		case 2:
			if err := m.DeleteVehicle(ctx, id); err != nil {
				t.Fatalf("DeleteVehicle right after another process registered %s: %v", id, err)
			}
		}
	}
}

// TestStore_mirrorUndecodableEntry: a vehicle's value another writer broke
// is not served from the mirror (reads go to the server, which reports it),
// and once rewritten it is served again; the other vehicles stay listed.
func TestStore_mirrorUndecodableEntry(t *testing.T) {
	srv := testserver.EmbeddedNATS(t)
	ctx := t.Context()
	js := testserver.ConnectJetStream(t, srv.ClientURL())
	prefix := testserver.Unique("mirbad_")
	s, err := kvregistry.Open(ctx, js, kvregistry.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b"} {
		if err := s.PutVehicle(ctx, registry.Vehicle{ID: id, GrantID: "g", Tags: []string{"t"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.StartMirror(ctx, testserver.Logger(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	vb, _ := kvregistry.Buckets(prefix)
	kv, err := js.KeyValue(ctx, vb)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(ctx, "b", []byte("not json")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the broken vehicle read from the server", func() error {
		if _, err := s.GetVehicle(ctx, "b"); !errors.Is(err, registry.ErrMalformed) {
			return fmt.Errorf("GetVehicle(b) = %v, want ErrMalformed", err)
		}
		return nil
	})
	if v, err := s.GetVehicle(ctx, "a"); err != nil || v.GrantID != "g" || len(v.Tags) != 1 || v.Tags[0] != "t" {
		t.Fatalf("GetVehicle(a) = %+v, %v", v, err)
	}
	if err := s.PutVehicle(ctx, registry.Vehicle{ID: "b", GrantID: "g2"}); err != nil {
		t.Fatal(err)
	}
	vs, err := s.ListVehicles(ctx)
	if err != nil || len(vs) != 2 || vs[0].ID != "a" || vs[1].ID != "b" || vs[1].GrantID != "g2" {
		t.Fatalf("ListVehicles = %+v, %v", vs, err)
	}
}
