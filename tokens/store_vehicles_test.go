package tokens_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/smartcar-poller/smartcar-poller/tokens"
)

var equateEmpty = cmpopts.EquateEmpty()

func testVehicleCRUD(t *testing.T, s tokens.Store) {
	ctx := testCtx(t)
	if _, err := s.GetVehicle(ctx, "v1"); !errors.Is(err, tokens.ErrNotFound) {
		t.Fatalf("GetVehicle(missing) err = %v, want ErrNotFound", err)
	}
	at := time.Date(2026, 5, 1, 8, 0, 0, 5, time.UTC)
	vs := []tokens.Vehicle{
		{ID: "v1", GrantID: "g1", Tags: []string{"fleet", "ev"}, Status: tokens.StatusConnected, ConnectedAt: at, LastPoll: at.Add(time.Minute)},
		{ID: "v2", GrantID: "g1", Status: tokens.StatusDisabled, Reason: "COMPATIBILITY:VEHICLE_NOT_CAPABLE", ConnectedAt: at},
		{ID: "veh:3.x y", GrantID: "g:2", ConnectedAt: at}, // empty status is stored as connected
	}
	for _, v := range vs {
		if err := s.PutVehicle(ctx, v); err != nil {
			t.Fatalf("PutVehicle(%s): %v", v.ID, err)
		}
	}
	vs[2].Status = tokens.StatusConnected
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
	repl := tokens.Vehicle{ID: "v1", GrantID: "g9", Tags: []string{"x"}, Status: tokens.StatusRateLimited, ConnectedAt: at}
	if err := s.PutVehicle(ctx, repl); err != nil {
		t.Fatalf("PutVehicle(replace): %v", err)
	}
	if got, err := s.GetVehicle(ctx, "v1"); err != nil || !cmp.Equal(repl, got, equateEmpty) {
		t.Errorf("GetVehicle after replace = %+v, %v; want %+v", got, err, repl)
	}
	if err := s.PutVehicle(ctx, tokens.Vehicle{ID: "bad", Status: "sleepy"}); err == nil {
		t.Error("PutVehicle with unknown status succeeded")
	}
	if err := s.PutVehicle(ctx, tokens.Vehicle{GrantID: "g1"}); err == nil {
		t.Error("PutVehicle with empty id succeeded")
	}

	if err := s.SetHold(ctx, "v2", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteVehicle(ctx, "v2"); err != nil {
		t.Fatalf("DeleteVehicle: %v", err)
	}
	if _, err := s.GetVehicle(ctx, "v2"); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("GetVehicle after delete err = %v, want ErrNotFound", err)
	}
	if h, err := s.Hold(ctx, "v2"); err != nil || !h.IsZero() {
		t.Errorf("Hold after DeleteVehicle = %v, %v; want zero", h, err)
	}
	if err := s.DeleteVehicle(ctx, "v2"); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("DeleteVehicle(missing) err = %v, want ErrNotFound", err)
	}
	list, err = s.ListVehicles(ctx)
	if err != nil || len(list) != 2 || list[0].ID != "v1" || list[1].ID != "veh:3.x y" {
		t.Errorf("ListVehicles after delete = %+v, %v; want v1, veh:3.x y", list, err)
	}
}

func testVehicleStatusAndPoll(t *testing.T, s tokens.Store) {
	ctx := testCtx(t)
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	if err := s.PutVehicle(ctx, tokens.Vehicle{ID: "v1", GrantID: "g1", ConnectedAt: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetStatus(ctx, "v1", tokens.StatusNeedsReauth, "invalid_grant"); err != nil {
		t.Fatalf("SetStatus: %v", err)
	}
	p1, p2 := at.Add(time.Hour+time.Nanosecond), at.Add(2*time.Hour+7*time.Microsecond)
	if err := s.TouchPoll(ctx, "v1", p2); err != nil {
		t.Fatalf("TouchPoll: %v", err)
	}
	if err := s.TouchPoll(ctx, "v1", p1); err != nil { // older: ignored
		t.Fatalf("TouchPoll(older): %v", err)
	}
	want := tokens.Vehicle{ID: "v1", GrantID: "g1", Status: tokens.StatusNeedsReauth, Reason: "invalid_grant",
		LastPoll: p2, ConnectedAt: at}
	if got, err := s.GetVehicle(ctx, "v1"); err != nil || !cmp.Equal(want, got, equateEmpty) {
		t.Errorf("GetVehicle = %+v, %v; want %+v", got, err, want)
	}
	if err := s.SetStatus(ctx, "v1", "sleepy", ""); err == nil {
		t.Error("SetStatus with unknown status succeeded")
	}
	if err := s.SetStatus(ctx, "nope", tokens.StatusDisabled, ""); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("SetStatus(missing) err = %v, want ErrNotFound", err)
	}
	if err := s.TouchPoll(ctx, "nope", at); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("TouchPoll(missing) err = %v, want ErrNotFound", err)
	}
	if _, err := s.GetVehicle(ctx, "nope"); !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("SetStatus/TouchPoll created a vehicle: GetVehicle err = %v", err)
	}
}

// testVehicleConcurrentWrites checks that status and poll writers racing on
// one vehicle never undo each other's writes.
func testVehicleConcurrentWrites(t *testing.T, s tokens.Store) {
	ctx := testCtx(t)
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	if err := s.PutVehicle(ctx, tokens.Vehicle{ID: "v1", GrantID: "g1", ConnectedAt: at}); err != nil {
		t.Fatal(err)
	}
	const n = 30
	var wg sync.WaitGroup
	errs := make(chan error, 3*n)
	wg.Go(func() {
		for i := range n {
			errs <- s.SetStatus(ctx, "v1", tokens.StatusRateLimited, fmt.Sprintf("r%d", i))
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
	if got.Status != tokens.StatusRateLimited || got.Reason != fmt.Sprintf("r%d", n-1) ||
		!got.LastPoll.Equal(at.Add(time.Duration(2*(n-1)+1)*time.Second)) {
		t.Errorf("after concurrent writes: status %s %q, last poll %v; want rate_limited r%d, %v",
			got.Status, got.Reason, got.LastPoll, n-1, at.Add(time.Duration(2*(n-1)+1)*time.Second))
	}
}

func testHoldOnlyExtends(t *testing.T, s tokens.Store) {
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

func testHoldExpires(t *testing.T, s tokens.Store) {
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

func testListManyVehicles(t *testing.T, s tokens.Store) {
	ctx := testCtx(t)
	if list, err := s.ListVehicles(ctx); err != nil || len(list) != 0 {
		t.Fatalf("ListVehicles(empty) = %d vehicles, %v", len(list), err)
	}
	const n = 2000
	at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	want := make([]tokens.Vehicle, n)
	for i := range want {
		want[i] = tokens.Vehicle{ID: fmt.Sprintf("veh-%05d", i), GrantID: fmt.Sprintf("g%d", i%97),
			Tags: []string{fmt.Sprintf("t%d", i%3)}, Status: tokens.StatusConnected, ConnectedAt: at}
		if i%10 == 0 {
			want[i].Status, want[i].Reason = tokens.StatusDisabled, "why"
		}
		if i%7 == 0 {
			want[i].LastPoll = at.Add(time.Duration(i) * time.Second)
		}
	}
	putAll(t, s, want)
	got, err := s.ListVehicles(ctx)
	if err != nil {
		t.Fatalf("ListVehicles: %v", err)
	}
	if diff := cmp.Diff(want, got, equateEmpty); diff != "" {
		t.Fatalf("ListVehicles of %d (-want +got):\n%s", n, diff)
	}
}

// putAll stores vehicles from a few goroutines.
func putAll(t testing.TB, s tokens.Store, vs []tokens.Vehicle) {
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
