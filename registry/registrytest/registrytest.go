package registrytest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/registry"
)

// Run runs the conformance suite (RunPlanner's tests included) against
// stores newStore makes: each must be empty and private to the test it is
// made for.
func Run(t *testing.T, newStore func(t *testing.T) registry.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s registry.Store)
	}{
		{"vehicle_crud", testVehicleCRUD},
		{"vehicle_status_and_poll", testVehicleStatusAndPoll},
		{"vehicle_concurrent_writes", testVehicleConcurrentWrites},
		{"set_user_id", testSetUserID},
		{"hold_only_extends", testHoldOnlyExtends},
		{"hold_expires", testHoldExpires},
		{"list_many_vehicles", testListManyVehicles},
		{"start_poll", testStartPoll},
		{"start_poll_unknown_vehicle", testStartPollUnknownVehicle},
		{"start_poll_expiry", testStartPollExpiry},
		{"webhook_times", testWebhookTimes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
	RunPlanner(t, newStore)
}

var equateEmpty = cmpopts.EquateEmpty()

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func testVehicleCRUD(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	if _, err := s.GetVehicle(ctx, "v1"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("GetVehicle(missing) err = %v, want ErrNotFound", err)
	}
	at := time.Date(2026, 5, 1, 8, 0, 0, 5, time.UTC)
	vs := []registry.Vehicle{
		{ID: "v1", GrantID: "g1", UserID: "u1", Tags: []string{"fleet", "ev"}, Status: events.StatusConnected, ConnectedAt: at, LastPoll: at.Add(time.Minute)},
		{ID: "v2", GrantID: "g1", UserID: "u1", Status: events.StatusDisabled, Reason: "COMPATIBILITY:VEHICLE_NOT_CAPABLE", ConnectedAt: at},
		{ID: "veh:3.x y", GrantID: "g:2", ConnectedAt: at}, // empty status is stored as connected
	}
	for _, v := range vs {
		if err := s.PutVehicle(ctx, v); err != nil {
			t.Fatalf("PutVehicle(%s): %v", v.ID, err)
		}
	}
	vs[2].Status = events.StatusConnected
	for _, want := range vs {
		got, err := s.GetVehicle(ctx, want.ID)
		if err != nil {
			t.Fatalf("GetVehicle(%s): %v", want.ID, err)
		}
		if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
			t.Errorf("GetVehicle(%s) (-want +got):\n%s", want.ID, diff)
		}
	}
	list, err := s.ListVehicles(ctx)
	if err != nil {
		t.Fatalf("ListVehicles: %v", err)
	}
	if diff := cmp.Diff(vs, list, equateEmpty); diff != "" {
		t.Errorf("ListVehicles (-want +got):\n%s", diff)
	}

	// Put replaces everything, including clearing the last poll.
	repl := registry.Vehicle{ID: "v1", GrantID: "g9", UserID: "u9", Tags: []string{"x"}, Status: events.StatusRateLimited, ConnectedAt: at}
	if err := s.PutVehicle(ctx, repl); err != nil {
		t.Fatalf("PutVehicle(replace): %v", err)
	}
	if got, err := s.GetVehicle(ctx, "v1"); err != nil || !cmp.Equal(repl, got, equateEmpty) {
		t.Errorf("GetVehicle after replace = %+v, %v; want %+v", got, err, repl)
	}
	if err := s.PutVehicle(ctx, registry.Vehicle{ID: "bad", Status: "sleepy"}); err == nil {
		t.Error("PutVehicle with unknown status succeeded")
	}
	if err := s.PutVehicle(ctx, registry.Vehicle{GrantID: "g1"}); err == nil {
		t.Error("PutVehicle with empty id succeeded")
	}

	if err := s.SetHold(ctx, "v2", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVehicle(ctx, "v2"); err != nil {
		t.Fatalf("DeleteVehicle: %v", err)
	}
	if _, err := s.GetVehicle(ctx, "v2"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetVehicle after delete err = %v, want ErrNotFound", err)
	}
	if h, err := s.Hold(ctx, "v2"); err != nil || !h.IsZero() {
		t.Errorf("Hold after DeleteVehicle = %v, %v; want zero", h, err)
	}
	if err := s.DeleteVehicle(ctx, "v2"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("DeleteVehicle(missing) err = %v, want ErrNotFound", err)
	}
	list, err = s.ListVehicles(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "v1" || list[1].ID != "veh:3.x y" {
		t.Errorf("ListVehicles after delete = %+v, %v; want v1, veh:3.x y", list, err)
	}
}

func testVehicleStatusAndPoll(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	if err := s.PutVehicle(ctx, registry.Vehicle{ID: "v1", GrantID: "g1", ConnectedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, "v1", events.StatusNeedsReauth, "invalid_grant"); err != nil {
		t.Fatalf("SetStatus: %v", err)
	}
	p1, p2 := at.Add(time.Hour+time.Nanosecond), at.Add(2*time.Hour+7*time.Microsecond)
	if err := s.TouchPoll(ctx, "v1", p2); err != nil {
		t.Fatalf("TouchPoll: %v", err)
	}
	if err := s.TouchPoll(ctx, "v1", p1); err != nil { // older: ignored
		t.Fatalf("TouchPoll(older): %v", err)
	}
	want := registry.Vehicle{ID: "v1", GrantID: "g1", Status: events.StatusNeedsReauth, Reason: "invalid_grant",
		LastPoll: p2, ConnectedAt: at}
	if got, err := s.GetVehicle(ctx, "v1"); err != nil || !cmp.Equal(want, got, equateEmpty) {
		t.Errorf("GetVehicle = %+v, %v; want %+v", got, err, want)
	}
	if err := s.SetStatus(ctx, "v1", "sleepy", ""); err == nil {
		t.Error("SetStatus with unknown status succeeded")
	}
	if err := s.SetStatus(ctx, "nope", events.StatusDisabled, ""); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("SetStatus(missing) err = %v, want ErrNotFound", err)
	}
	if err := s.TouchPoll(ctx, "nope", at); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("TouchPoll(missing) err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetVehicle(ctx, "nope"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("SetStatus/TouchPoll created a vehicle: GetVehicle err = %v", err)
	}
}

// testVehicleConcurrentWrites checks that status and poll writers racing on
// one vehicle never undo each other's writes.
func testVehicleConcurrentWrites(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	if err := s.PutVehicle(ctx, registry.Vehicle{ID: "v1", GrantID: "g1", ConnectedAt: at}); err != nil {
		t.Fatal(err)
	}
	const n = 30
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	wg.Go(func() {
		for i := range n {
			errs <- s.SetStatus(ctx, "v1", events.StatusRateLimited, fmt.Sprintf("r%d", i))
		}
	})
	for w := range 2 {
		wg.Go(func() {
			for i := range n {
				errs <- s.TouchPoll(ctx, "v1", at.Add(time.Duration(2*i+w)*time.Second))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent write: %v", err)
		}
	}
	got, err := s.GetVehicle(ctx, "v1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != events.StatusRateLimited || got.Reason != fmt.Sprintf("r%d", n-1) ||
		!got.LastPoll.Equal(at.Add(time.Duration(2*(n-1)+1)*time.Second)) {
		t.Errorf("after concurrent writes: status %s %q, last poll %v; want rate_limited r%d, %v",
			got.Status, got.Reason, got.LastPoll, n-1, at.Add(time.Duration(2*(n-1)+1)*time.Second))
	}
}

func testSetUserID(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	if err := s.SetUserID(ctx, "v0", "u0"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("SetUserID(unknown) err = %v, want ErrNotFound", err)
	}
	v := registry.Vehicle{ID: "v0", GrantID: "g1", Tags: []string{"a"}, Status: events.StatusDisabled, Reason: "why",
		LastPoll: at.Add(time.Minute), ConnectedAt: at}
	if err := s.PutVehicle(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserID(ctx, "v0", ""); err == nil {
		t.Error("SetUserID with an empty user id succeeded")
	}
	for _, u := range []string{"u1", "u1", "u2"} { // the same twice: a no-op
		if err := s.SetUserID(ctx, "v0", u); err != nil {
			t.Fatalf("SetUserID(%s): %v", u, err)
		}
	}
	v.UserID = "u2"
	if got, err := s.GetVehicle(ctx, "v0"); err != nil || !cmp.Equal(v, got, equateEmpty) {
		t.Errorf("GetVehicle after SetUserID = %+v, %v; want %+v", got, err, v)
	}

	// Many vehicles at once, while their statuses and polls change: no
	// write is lost and none has to give up.
	const n = 40
	vs := make([]registry.Vehicle, n)
	for i := range vs {
		vs[i] = registry.Vehicle{ID: fmt.Sprintf("m%02d", i), GrantID: "g", ConnectedAt: at}
	}
	PutAll(t, s, vs)
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	for i := range vs {
		wg.Go(func() { errs <- s.SetUserID(ctx, vs[i].ID, fmt.Sprintf("user-%d", i)) })
		wg.Go(func() { errs <- s.SetStatus(ctx, vs[i].ID, events.StatusRateLimited, "held") })
		wg.Go(func() { errs <- s.TouchPoll(ctx, vs[i].ID, at.Add(time.Hour)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent write: %v", err)
		}
	}
	list, err := s.ListVehicles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range list {
		if got.ID == "v0" {
			continue
		}
		var i int
		if _, err := fmt.Sscanf(got.ID, "m%02d", &i); err != nil {
			t.Fatalf("unexpected vehicle %s", got.ID)
		}
		if got.UserID != fmt.Sprintf("user-%d", i) || got.Status != events.StatusRateLimited || !got.LastPoll.Equal(at.Add(time.Hour)) {
			t.Errorf("%s after concurrent writes: user %q, status %s, last poll %v", got.ID, got.UserID, got.Status, got.LastPoll)
		}
	}
}

func testHoldOnlyExtends(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	if h, err := s.Hold(ctx, "v1"); err != nil || !h.IsZero() {
		t.Fatalf("Hold(none) = %v, %v; want zero", h, err)
	}
	now := time.Now()
	steps := []struct {
		set  time.Time
		want time.Time
	}{
		{now.Add(time.Hour), now.Add(time.Hour)},
		{now.Add(10 * time.Minute), now.Add(time.Hour)}, // shorter: ignored
		{now.Add(-time.Minute), now.Add(time.Hour)},     // past: ignored
		{now.Add(2 * time.Hour), now.Add(2 * time.Hour)},
	}
	for i, st := range steps {
		if err := s.SetHold(ctx, "v1", st.set); err != nil {
			t.Fatalf("step %d: SetHold: %v", i, err)
		}
		got, err := s.Hold(ctx, "v1")
		if err != nil {
			t.Fatalf("step %d: Hold: %v", i, err)
		}
		// Millisecond precision, never earlier than asked.
		if d := got.Sub(st.want); d < 0 || d >= time.Millisecond {
			t.Errorf("step %d: Hold = %v, want %v (within +1ms)", i, got, st.want)
		}
	}
	if h, err := s.Hold(ctx, "v2"); err != nil || !h.IsZero() {
		t.Errorf("Hold(other vehicle) = %v, %v; want zero", h, err)
	}
}

func testHoldExpires(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	if err := s.SetHold(ctx, "v1", time.Now().Add(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if h, err := s.Hold(ctx, "v1"); err != nil || h.IsZero() {
		t.Fatalf("Hold right after SetHold = %v, %v; want non-zero", h, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		h, err := s.Hold(ctx, "v1")
		if err != nil {
			t.Fatal(err)
		}
		if h.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hold of 300ms still %v after 10s", h)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	// Once expired, a shorter hold than the old one is accepted again.
	until := time.Now().Add(time.Minute)
	if err := s.SetHold(ctx, "v1", until); err != nil {
		t.Fatal(err)
	}
	if h, err := s.Hold(ctx, "v1"); err != nil || h.Before(until) {
		t.Errorf("Hold after re-set = %v, %v; want %v", h, err, until)
	}
}

func testListManyVehicles(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	if list, err := s.ListVehicles(ctx); err != nil || len(list) != 0 {
		t.Fatalf("ListVehicles(empty) = %d vehicles, %v", len(list), err)
	}
	const n = 2000
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	want := make([]registry.Vehicle, n)
	for i := range want {
		want[i] = registry.Vehicle{ID: fmt.Sprintf("veh-%05d", i), GrantID: fmt.Sprintf("g%d", i%97),
			Tags: []string{fmt.Sprintf("t%d", i%3)}, Status: events.StatusConnected, ConnectedAt: at}
		if i%10 == 0 {
			want[i].Status, want[i].Reason = events.StatusDisabled, "why"
		}
		if i%7 == 0 {
			want[i].LastPoll = at.Add(time.Duration(i) * time.Second)
		}
	}
	PutAll(t, s, want)
	got, err := s.ListVehicles(ctx)
	if err != nil {
		t.Fatalf("ListVehicles: %v", err)
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Fatalf("ListVehicles of %d (-want +got):\n%s", n, diff)
	}
}

// PutAll stores vehicles from a few goroutines, failing t on an error.
func PutAll(t testing.TB, s registry.Store, vs []registry.Vehicle) {
	t.Helper()
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < len(vs); i += 16 {
				if err := s.PutVehicle(ctx, vs[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("PutVehicle: %v", err)
	}
}

// testStartPoll: StartPoll takes the vehicle's poll lease exclusively and
// returns the vehicle and its hold.
func testStartPoll(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	poll := at.Add(time.Hour + 7*time.Microsecond)
	PutAll(t, s, []registry.Vehicle{
		{ID: "v1", GrantID: "g1", UserID: "user-1", Tags: []string{"fleet-a", "ev"}, ConnectedAt: at},
		{ID: "v2", GrantID: "g2", ConnectedAt: at},
	})
	if err := s.SetStatus(ctx, "v1", events.StatusRateLimited, "Retry-After 1h"); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchPoll(ctx, "v1", poll); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour)
	if err := s.SetHold(ctx, "v1", until); err != nil {
		t.Fatal(err)
	}

	p, err := s.StartPoll(ctx, "v1", time.Minute)
	if err != nil {
		t.Fatalf("StartPoll: %v", err)
	}
	want := registry.Vehicle{ID: "v1", GrantID: "g1", UserID: "user-1", Tags: []string{"fleet-a", "ev"}, Status: events.StatusRateLimited,
		Reason: "Retry-After 1h", LastPoll: poll, ConnectedAt: at}
	if diff := cmp.Diff(want, p.Vehicle, equateEmpty); diff != "" {
		t.Errorf("StartPoll vehicle (-want +got):\n%s", diff)
	}
	if d := p.Hold.Sub(until); d < 0 || d >= time.Millisecond {
		t.Errorf("StartPoll hold = %v, want %v (within +1ms)", p.Hold, until)
	}
	if _, err := s.StartPoll(ctx, "v1", time.Minute); !errors.Is(err, registry.ErrLeased) {
		t.Fatalf("second StartPoll err = %v, want ErrLeased", err)
	}
	p2, err := s.StartPoll(ctx, "v2", time.Minute) // another vehicle: its own lease
	if err != nil {
		t.Fatalf("StartPoll(other vehicle): %v", err)
	}
	if !p2.Hold.IsZero() || p2.Vehicle.Status != events.StatusConnected || !p2.Vehicle.LastPoll.IsZero() {
		t.Errorf("StartPoll(v2) = hold %v, %+v; want no hold, connected, never polled", p2.Hold, p2.Vehicle)
	}

	if err := p.Unlock(ctx); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	again, err := s.StartPoll(ctx, "v1", time.Minute)
	if err != nil {
		t.Fatalf("StartPoll after unlock: %v", err)
	}
	// A stale unlock must not release the new holder's lease.
	if err := p.Unlock(ctx); !errors.Is(err, registry.ErrLeaseLost) {
		t.Errorf("stale unlock err = %v, want ErrLeaseLost", err)
	}
	if _, err := s.StartPoll(ctx, "v1", time.Minute); !errors.Is(err, registry.ErrLeased) {
		t.Errorf("StartPoll after stale unlock err = %v, want ErrLeased", err)
	}
	for _, u := range []func() error{func() error { return again.Unlock(ctx) }, func() error { return p2.Unlock(ctx) }} {
		if err := u(); err != nil {
			t.Errorf("unlock: %v", err)
		}
	}
	if _, err := s.StartPoll(ctx, "v1", 0); err == nil {
		t.Error("StartPoll with ttl 0 succeeded, want an error")
	}
}

// testStartPollUnknownVehicle: ErrNotFound, and no lease left behind.
func testStartPollUnknownVehicle(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	if _, err := s.StartPoll(ctx, "nope", time.Minute); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("StartPoll(unknown) err = %v, want ErrNotFound", err)
	}
	// Registered later, the vehicle's lease is free at once: none was left.
	PutAll(t, s, []registry.Vehicle{{ID: "nope", GrantID: "g1"}})
	p, err := s.StartPoll(ctx, "nope", time.Minute)
	if err != nil {
		t.Fatalf("StartPoll once registered: %v", err)
	}
	if err := p.Unlock(ctx); err != nil {
		t.Error(err)
	}
	if err := s.DeleteVehicle(ctx, "nope"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartPoll(ctx, "nope", time.Minute); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("StartPoll(deleted) err = %v, want ErrNotFound", err)
	}
	if _, err := s.StartPoll(ctx, "", time.Minute); err == nil {
		t.Error("StartPoll with an empty vehicle id succeeded")
	}
}

// testStartPollExpiry: the lease expires after its ttl; the stale unlock
// then reports ErrLeaseLost and leaves the new holder's lease alone.
func testStartPollExpiry(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	PutAll(t, s, []registry.Vehicle{{ID: "v1", GrantID: "g1"}})
	stale, err := s.StartPoll(ctx, "v1", 300*time.Millisecond)
	if err != nil {
		t.Fatalf("StartPoll: %v", err)
	}
	if _, err := s.StartPoll(ctx, "v1", time.Minute); !errors.Is(err, registry.ErrLeased) {
		t.Fatalf("StartPoll before expiry err = %v, want ErrLeased", err)
	}
	var fresh registry.PollStart
	for deadline := time.Now().Add(10 * time.Second); ; {
		fresh, err = s.StartPoll(ctx, "v1", time.Minute)
		if err == nil {
			break
		}
		if !errors.Is(err, registry.ErrLeased) {
			t.Fatalf("StartPoll while waiting for expiry: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("poll lease with a 300ms ttl still held after 10s")
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline
	}
	if err := stale.Unlock(ctx); !errors.Is(err, registry.ErrLeaseLost) {
		t.Errorf("unlock of the expired lease err = %v, want ErrLeaseLost", err)
	}
	if _, err := s.StartPoll(ctx, "v1", time.Minute); !errors.Is(err, registry.ErrLeased) {
		t.Errorf("StartPoll after stale unlock err = %v, want ErrLeased (new holder kept it)", err)
	}
	if err := fresh.Unlock(ctx); err != nil {
		t.Error(err)
	}
}

func testWebhookTimes(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	got, err := s.LastWebhooks(ctx)
	if err != nil {
		t.Fatalf("LastWebhooks(empty): %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("LastWebhooks(empty) = %v, want none", got)
	}
	base := time.Date(2026, 11, 27, 6, 0, 0, 123456789, time.UTC)
	want := map[string]time.Time{}
	for i := range 5 {
		id := fmt.Sprintf("veh-%d", i)
		if i == 4 {
			id = "odd id/ä.*" // escaped by the KV store
		}
		if err := s.TouchWebhook(ctx, id, base.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatalf("TouchWebhook: %v", err)
		}
		want[id] = base.Add(time.Duration(i) * time.Minute)
	}
	// An older time is ignored; a newer one wins.
	if err := s.TouchWebhook(ctx, "veh-1", base.Add(-time.Hour)); err != nil {
		t.Fatalf("TouchWebhook(older): %v", err)
	}
	if err := s.TouchWebhook(ctx, "veh-2", base.Add(time.Hour)); err != nil {
		t.Fatalf("TouchWebhook(newer): %v", err)
	}
	want["veh-2"] = base.Add(time.Hour)
	got, err = s.LastWebhooks(ctx)
	if err != nil {
		t.Fatalf("LastWebhooks: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("LastWebhooks (-want +got):\n%s", diff)
	}
}
