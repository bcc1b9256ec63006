package registrytest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/registry"
)

// RunPlanner runs the Planner part of the conformance suite (Run runs it too) against stores
// newStore makes: each must be empty and private to the test it is made for.
func RunPlanner(t *testing.T, newStore func(t *testing.T) registry.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s registry.Store)
	}{
		{"plan_add_idempotent", testPlanAddIdempotent},
		{"plan_set_get", testPlanSetGet},
		{"plan_delete", testPlanDelete},
		{"plan_delete_vehicle", testPlanDeleteVehicle},
		{"plan_update", testPlanUpdate},
		{"plan_update_missing_skip_error", testPlanUpdateMissingSkipError},
		{"plan_update_interleaved", testPlanUpdateInterleaved},
		{"plan_update_concurrent", testPlanUpdateConcurrent},
		{"plan_update_racing_delete", testPlanUpdateRacingDelete},
		{"claim_due_order_limit_lease", testClaimDueOrderLimitLease},
		{"claim_due_concurrent", testClaimDueConcurrent},
		{"calls_month_boundary", testCallsMonthBoundary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, newStore(t)) })
	}
}

// planT0 is a millisecond-aligned instant: the stores keep due times in ms.
var planT0 = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

func testPlanAddIdempotent(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	if _, err := s.GetPlan(ctx, "adaptive", "v1"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("GetPlan(missing) err = %v, want ErrNotFound", err)
	}
	added, err := s.AddPlan(ctx, "adaptive", "v1", planT0)
	if err != nil || !added {
		t.Fatalf("AddPlan(new) = %v, %v; want true", added, err)
	}
	// A second AddPlan (another replica seeing the same new vehicle) keeps the first.
	added, err = s.AddPlan(ctx, "adaptive", "v1", planT0.Add(time.Hour))
	if err != nil || added {
		t.Fatalf("AddPlan(again) = %v, %v; want false", added, err)
	}
	got, err := s.GetPlan(ctx, "adaptive", "v1")
	if err != nil {
		t.Fatalf("GetPlan: %v", err)
	}
	if want := (registry.Plan{Due: planT0}); !cmp.Equal(want, got, equateEmpty) {
		t.Errorf("GetPlan after AddPlan = %+v, want %+v", got, want)
	}
	// AddPlan does not reset a plan SetPlan wrote.
	p := registry.Plan{State: []byte("state\x00\xff"), Due: planT0.Add(2 * time.Minute)}
	if err := s.SetPlan(ctx, "adaptive", "v2", p); err != nil {
		t.Fatal(err)
	}
	if added, err := s.AddPlan(ctx, "adaptive", "v2", planT0); err != nil || added {
		t.Errorf("AddPlan after SetPlan = %v, %v; want false", added, err)
	}
	if got, err := s.GetPlan(ctx, "adaptive", "v2"); err != nil || !cmp.Equal(p, got, equateEmpty) {
		t.Errorf("GetPlan after AddPlan over SetPlan = %+v, %v; want %+v", got, err, p)
	}
	// Another schedule is another plan.
	if added, err := s.AddPlan(ctx, "other", "v1", planT0); err != nil || !added {
		t.Errorf("AddPlan(other schedule) = %v, %v; want true", added, err)
	}
	if _, err := s.AddPlan(ctx, "bad name", "v1", planT0); err == nil {
		t.Error("AddPlan with a bad schedule name succeeded")
	}
	if _, err := s.AddPlan(ctx, "adaptive", "", planT0); err == nil {
		t.Error("AddPlan with an empty vehicle id succeeded")
	}
}

func testPlanSetGet(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	id := "veh:3.x y" // escaped by key-based stores
	p1 := registry.Plan{State: []byte{1, 2, 3}, Due: planT0.Add(1500 * time.Millisecond)}
	if err := s.SetPlan(ctx, "adaptive", id, p1); err != nil {
		t.Fatalf("SetPlan: %v", err)
	}
	if got, err := s.GetPlan(ctx, "adaptive", id); err != nil || !cmp.Equal(p1, got, equateEmpty) {
		t.Errorf("GetPlan = %+v, %v; want %+v", got, err, p1)
	}
	p2 := registry.Plan{State: []byte("later"), Due: planT0.Add(-time.Hour)}
	if err := s.SetPlan(ctx, "adaptive", id, p2); err != nil {
		t.Fatalf("SetPlan(again): %v", err)
	}
	if got, err := s.GetPlan(ctx, "adaptive", id); err != nil || !cmp.Equal(p2, got, equateEmpty) {
		t.Errorf("GetPlan after a second SetPlan = %+v, %v; want %+v", got, err, p2)
	}
	// SetPlan moves the vehicle in the due index.
	if ids, err := s.ClaimDue(ctx, "adaptive", planT0.Add(-time.Hour), time.Minute, 10); err != nil || !slices.Equal(ids, []string{id}) {
		t.Errorf("ClaimDue after SetPlan = %q, %v; want [%s]", ids, err, id)
	}
	if _, err := s.GetPlan(ctx, "other", id); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetPlan(other schedule) err = %v, want ErrNotFound", err)
	}
}

func testPlanDelete(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	for _, id := range []string{"v1", "v2"} {
		if err := s.SetPlan(ctx, "adaptive", id, registry.Plan{State: []byte(id), Due: planT0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeletePlan(ctx, "adaptive", "v1"); err != nil {
		t.Fatalf("DeletePlan: %v", err)
	}
	if err := s.DeletePlan(ctx, "adaptive", "v1"); err != nil {
		t.Errorf("DeletePlan(gone): %v, want nil", err)
	}
	if err := s.DeletePlan(ctx, "never", "v9"); err != nil {
		t.Errorf("DeletePlan(never there): %v, want nil", err)
	}
	if _, err := s.GetPlan(ctx, "adaptive", "v1"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetPlan after DeletePlan err = %v, want ErrNotFound", err)
	}
	if ids, err := s.ClaimDue(ctx, "adaptive", planT0, time.Minute, 10); err != nil || !slices.Equal(ids, []string{"v2"}) {
		t.Errorf("ClaimDue after DeletePlan = %q, %v; want [v2]", ids, err)
	}
	// A deleted plan can be added again.
	if added, err := s.AddPlan(ctx, "adaptive", "v1", planT0); err != nil || !added {
		t.Errorf("AddPlan after DeletePlan = %v, %v; want true", added, err)
	}
}

func testPlanDeleteVehicle(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	for _, id := range []string{"v1", "v2"} {
		if err := s.PutVehicle(ctx, registry.Vehicle{ID: id, GrantID: "g1"}); err != nil {
			t.Fatal(err)
		}
		for _, sch := range []string{"a", "b"} {
			if err := s.SetPlan(ctx, sch, id, registry.Plan{State: []byte(id), Due: planT0}); err != nil {
				t.Fatal(err)
			}
		}
		for _, at := range []time.Time{planT0, planT0.AddDate(0, -1, 0)} {
			if _, err := s.AddCalls(ctx, id, at, 3); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.DeleteVehicle(ctx, "v1"); err != nil {
		t.Fatalf("DeleteVehicle: %v", err)
	}
	for _, sch := range []string{"a", "b"} {
		if _, err := s.GetPlan(ctx, sch, "v1"); !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("GetPlan(%s, v1) after DeleteVehicle err = %v, want ErrNotFound", sch, err)
		}
		if _, err := s.GetPlan(ctx, sch, "v2"); err != nil {
			t.Errorf("GetPlan(%s, v2) after deleting v1: %v", sch, err)
		}
		if ids, err := s.ClaimDue(ctx, sch, planT0, time.Minute, 10); err != nil || !slices.Equal(ids, []string{"v2"}) {
			t.Errorf("ClaimDue(%s) after DeleteVehicle = %q, %v; want [v2]", sch, ids, err)
		}
	}
	for _, at := range []time.Time{planT0, planT0.AddDate(0, -1, 0)} {
		if n, err := s.Calls(ctx, "v1", at); err != nil || n != 0 {
			t.Errorf("Calls(v1, %s) after DeleteVehicle = %d, %v; want 0", at.Format("2006-01"), n, err)
		}
		if n, err := s.Calls(ctx, "v2", at); err != nil || n != 3 {
			t.Errorf("Calls(v2, %s) = %d, %v; want 3", at.Format("2006-01"), n, err)
		}
	}
}

func testClaimDueOrderLimitLease(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	// v0..v4 due a second apart, v4 latest; "late" due well after now.
	for i := 4; i >= 0; i-- {
		if _, err := s.AddPlan(ctx, "adaptive", fmt.Sprintf("v%d", i), planT0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddPlan(ctx, "adaptive", "late", planT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ids, err := s.ClaimDue(ctx, "adaptive", planT0.Add(-time.Millisecond), time.Minute, 10); err != nil || len(ids) != 0 {
		t.Errorf("ClaimDue before anything is due = %q, %v; want none", ids, err)
	}
	now := planT0.Add(4 * time.Second) // v4 due exactly now: included
	lease := 30 * time.Second
	ids, err := s.ClaimDue(ctx, "adaptive", now, lease, 3)
	if want := []string{"v0", "v1", "v2"}; err != nil || !slices.Equal(ids, want) {
		t.Fatalf("ClaimDue(limit 3) = %q, %v; want %q", ids, err, want)
	}
	ids, err = s.ClaimDue(ctx, "adaptive", now, lease, 10)
	if want := []string{"v3", "v4"}; err != nil || !slices.Equal(ids, want) {
		t.Fatalf("ClaimDue(rest) = %q, %v; want %q", ids, err, want)
	}
	// Claimed ones wait out their lease.
	if got, err := s.GetPlan(ctx, "adaptive", "v0"); err != nil || !got.Due.Equal(now.Add(lease)) {
		t.Errorf("GetPlan(v0) after its claim: due %v, %v; want %v", got.Due, err, now.Add(lease))
	}
	if ids, err := s.ClaimDue(ctx, "adaptive", now.Add(lease-time.Millisecond), lease, 10); err != nil || len(ids) != 0 {
		t.Errorf("ClaimDue within the lease = %q, %v; want none", ids, err)
	}
	// A poll that completed set its next due time: only the others come back.
	if err := s.SetPlan(ctx, "adaptive", "v1", registry.Plan{State: []byte("x"), Due: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ids, err = s.ClaimDue(ctx, "adaptive", now.Add(lease), lease, 10)
	if want := []string{"v0", "v2", "v3", "v4"}; err != nil || !slices.Equal(ids, want) {
		t.Errorf("ClaimDue after the lease = %q, %v; want %q", ids, err, want)
	}
	if ids, err := s.ClaimDue(ctx, "adaptive", now.Add(lease), lease, 0); err != nil || len(ids) != 0 {
		t.Errorf("ClaimDue(limit 0) = %q, %v; want none", ids, err)
	}
	if ids, err := s.ClaimDue(ctx, "empty", now, lease, 10); err != nil || len(ids) != 0 {
		t.Errorf("ClaimDue(empty schedule) = %q, %v; want none", ids, err)
	}
}

func testClaimDueConcurrent(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	const n, workers = 300, 8
	for i := range n {
		if _, err := s.AddPlan(ctx, "adaptive", fmt.Sprintf("v%03d", i), planT0.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	now := planT0.Add(time.Minute)
	var mu sync.Mutex
	seen := make(map[string]int)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				ids, err := s.ClaimDue(ctx, "adaptive", now, time.Hour, 7)
				if err != nil {
					errs <- err
					return
				}
				if len(ids) == 0 {
					return
				}
				mu.Lock()
				for _, id := range ids {
					seen[id]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("ClaimDue: %v", err)
	}
	if len(seen) != n {
		t.Errorf("claimed %d distinct vehicles, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s claimed %d times, want once", id, c)
		}
	}
}

func testCallsMonthBoundary(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	jan := time.Date(2027, 1, 31, 23, 59, 0, 0, time.UTC)
	feb := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	if n, err := s.Calls(ctx, "v1", jan); err != nil || n != 0 {
		t.Errorf("Calls before any = %d, %v; want 0", n, err)
	}
	steps := []struct {
		at   time.Time
		n    int
		want int
	}{
		{jan, 2, 2},
		{jan.Add(59 * time.Second), 1, 3},
		{feb, 5, 5},
		// 01:00 on Feb 1 in UTC+2 is still Jan 31 23:00 UTC: January.
		{time.Date(2027, 2, 1, 1, 0, 0, 0, time.FixedZone("UTC+2", 2*3600)), 1, 4},
		{feb.Add(time.Hour), 1, 6},
	}
	for _, st := range steps {
		if got, err := s.AddCalls(ctx, "v1", st.at, st.n); err != nil || got != st.want {
			t.Errorf("AddCalls(%v, %d) = %d, %v; want %d", st.at, st.n, got, err, st.want)
		}
	}
	if n, err := s.Calls(ctx, "v1", jan); err != nil || n != 4 {
		t.Errorf("Calls(January) = %d, %v; want 4", n, err)
	}
	if n, err := s.Calls(ctx, "v1", feb.AddDate(0, 0, 27)); err != nil || n != 6 {
		t.Errorf("Calls(February) = %d, %v; want 6", n, err)
	}
	if n, err := s.Calls(ctx, "v2", feb); err != nil || n != 0 {
		t.Errorf("Calls(other vehicle) = %d, %v; want 0", n, err)
	}
	// Concurrent counts all land.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := s.AddCalls(ctx, "v2", feb, 1); err != nil {
				t.Errorf("AddCalls: %v", err)
			}
		})
	}
	wg.Wait()
	if n, err := s.Calls(ctx, "v2", feb); err != nil || n != 8 {
		t.Errorf("Calls after 8 concurrent AddCalls = %d, %v; want 8", n, err)
	}
}

// counterPlan is a plan whose state is a counter n, due n seconds after
// planT0.
func counterPlan(n uint64) registry.Plan {
	return registry.Plan{State: binary.BigEndian.AppendUint64(nil, n), Due: planT0.Add(time.Duration(n) * time.Second)}
}

// counter reads counterPlan's counter (0 for no state).
func counter(t *testing.T, p registry.Plan) uint64 {
	if len(p.State) == 0 {
		return 0
	}
	if len(p.State) != 8 {
		t.Errorf("plan state %q is not a counter", p.State)
		return 0
	}
	return binary.BigEndian.Uint64(p.State)
}

// increment is an UpdatePlan function adding one to counterPlan's counter.
func increment(t *testing.T) func(registry.Plan) (registry.Plan, error) {
	return func(p registry.Plan) (registry.Plan, error) { return counterPlan(counter(t, p) + 1), nil }
}

func testPlanUpdate(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	if _, err := s.AddPlan(ctx, "adaptive", "v1", planT0); err != nil {
		t.Fatal(err)
	}
	var saw []registry.Plan
	err := s.UpdatePlan(ctx, "adaptive", "v1", func(p registry.Plan) (registry.Plan, error) {
		saw = append(saw, p)
		return registry.Plan{State: []byte("s\x00\xff"), Due: planT0.Add(1500 * time.Millisecond)}, nil
	})
	if err != nil {
		t.Fatalf("UpdatePlan: %v", err)
	}
	if want := []registry.Plan{{Due: planT0}}; !cmp.Equal(want, saw, equateEmpty) {
		t.Errorf("UpdatePlan called fn with %+v, want %+v", saw, want)
	}
	want := registry.Plan{State: []byte("s\x00\xff"), Due: planT0.Add(1500 * time.Millisecond)}
	if got, err := s.GetPlan(ctx, "adaptive", "v1"); err != nil || !cmp.Equal(want, got, equateEmpty) {
		t.Errorf("GetPlan after UpdatePlan = %+v, %v; want %+v", got, err, want)
	}
	// The update moved the vehicle in the due index.
	if ids, err := s.ClaimDue(ctx, "adaptive", planT0.Add(time.Second), time.Minute, 10); err != nil || len(ids) != 0 {
		t.Errorf("ClaimDue before the updated due time = %q, %v; want none", ids, err)
	}
	if ids, err := s.ClaimDue(ctx, "adaptive", want.Due, time.Minute, 10); err != nil || !slices.Equal(ids, []string{"v1"}) {
		t.Errorf("ClaimDue at the updated due time = %q, %v; want [v1]", ids, err)
	}
	// An update to no state and an earlier due time.
	if err := s.UpdatePlan(ctx, "adaptive", "v1", func(registry.Plan) (registry.Plan, error) {
		return registry.Plan{Due: planT0.Add(-time.Hour)}, nil
	}); err != nil {
		t.Fatalf("UpdatePlan(no state): %v", err)
	}
	if got, err := s.GetPlan(ctx, "adaptive", "v1"); err != nil || !cmp.Equal(registry.Plan{Due: planT0.Add(-time.Hour)}, got, equateEmpty) {
		t.Errorf("GetPlan after UpdatePlan(no state) = %+v, %v", got, err)
	}
	if err := s.UpdatePlan(ctx, "bad name", "v1", increment(t)); err == nil {
		t.Error("UpdatePlan with a bad schedule name succeeded")
	}
}

func testPlanUpdateMissingSkipError(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	called := 0
	count := func(p registry.Plan) (registry.Plan, error) { called++; return counterPlan(1), nil }
	if err := s.UpdatePlan(ctx, "adaptive", "v1", count); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("UpdatePlan(missing) err = %v, want ErrNotFound", err)
	}
	if called != 0 {
		t.Errorf("UpdatePlan(missing) called fn %d times, want none", called)
	}
	if _, err := s.GetPlan(ctx, "adaptive", "v1"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetPlan after UpdatePlan(missing) err = %v, want ErrNotFound (nothing created)", err)
	}
	if ids, err := s.ClaimDue(ctx, "adaptive", planT0.Add(time.Hour), time.Minute, 10); err != nil || len(ids) != 0 {
		t.Errorf("ClaimDue after UpdatePlan(missing) = %q, %v; want none", ids, err)
	}
	// A plan of another schedule is not this one's.
	if err := s.SetPlan(ctx, "other", "v1", counterPlan(5)); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdatePlan(ctx, "adaptive", "v1", count); !errors.Is(err, registry.ErrNotFound) || called != 0 {
		t.Errorf("UpdatePlan(other schedule's vehicle) err = %v after %d calls, want ErrNotFound after none", err, called)
	}

	// ErrSkip writes nothing and is no error.
	if err := s.UpdatePlan(ctx, "other", "v1", func(p registry.Plan) (registry.Plan, error) {
		return counterPlan(9), registry.ErrSkip
	}); err != nil {
		t.Errorf("UpdatePlan(skip) = %v, want nil", err)
	}
	if got, err := s.GetPlan(ctx, "other", "v1"); err != nil || !cmp.Equal(counterPlan(5), got, equateEmpty) {
		t.Errorf("GetPlan after a skip = %+v, %v; want %+v", got, err, counterPlan(5))
	}
	// Another error of fn is returned, nothing written.
	boom := errors.New("boom")
	if err := s.UpdatePlan(ctx, "other", "v1", func(p registry.Plan) (registry.Plan, error) {
		return counterPlan(9), boom
	}); !errors.Is(err, boom) {
		t.Errorf("UpdatePlan(fn fails) = %v, want %v", err, boom)
	}
	if got, err := s.GetPlan(ctx, "other", "v1"); err != nil || !cmp.Equal(counterPlan(5), got, equateEmpty) {
		t.Errorf("GetPlan after a failed fn = %+v, %v; want %+v", got, err, counterPlan(5))
	}
}

// testPlanUpdateInterleaved writes to the plan from inside fn, between
// UpdatePlan's read and its write: the write must see the change.
func testPlanUpdateInterleaved(t *testing.T, s registry.Store) {
	ctx := testCtx(t)

	// A SetPlan in between: fn runs again on what it stored.
	if err := s.SetPlan(ctx, "adaptive", "set", counterPlan(1)); err != nil {
		t.Fatal(err)
	}
	var saw []uint64
	err := s.UpdatePlan(ctx, "adaptive", "set", func(p registry.Plan) (registry.Plan, error) {
		saw = append(saw, counter(t, p))
		if len(saw) == 1 {
			if err := s.SetPlan(ctx, "adaptive", "set", counterPlan(10)); err != nil {
				t.Error(err)
			}
		}
		return counterPlan(counter(t, p) + 1), nil
	})
	if err != nil {
		t.Fatalf("UpdatePlan racing SetPlan: %v", err)
	}
	if !slices.Equal(saw, []uint64{1, 10}) {
		t.Errorf("fn saw counters %v, want [1 10] (again after the SetPlan)", saw)
	}
	if got, err := s.GetPlan(ctx, "adaptive", "set"); err != nil || counter(t, got) != 11 {
		t.Errorf("counter after UpdatePlan racing SetPlan = %d, %v; want 11", counter(t, got), err)
	}

	// A ClaimDue in between (same state, a lease's due time): fn runs again
	// and sees the lease, which it may keep.
	if err := s.SetPlan(ctx, "adaptive", "claim", counterPlan(1)); err != nil {
		t.Fatal(err)
	}
	lease := time.Hour
	var dues []time.Time
	err = s.UpdatePlan(ctx, "adaptive", "claim", func(p registry.Plan) (registry.Plan, error) {
		dues = append(dues, p.Due)
		if len(dues) == 1 {
			if ids, err := s.ClaimDue(ctx, "adaptive", counterPlan(1).Due, lease, 10); err != nil || !slices.Equal(ids, []string{"claim"}) {
				t.Errorf("ClaimDue = %q, %v; want [claim]", ids, err)
			}
		}
		return registry.Plan{State: []byte("kept"), Due: p.Due}, nil
	})
	if err != nil {
		t.Fatalf("UpdatePlan racing ClaimDue: %v", err)
	}
	leased := counterPlan(1).Due.Add(lease)
	if want := []time.Time{counterPlan(1).Due, leased}; !slices.EqualFunc(dues, want, time.Time.Equal) {
		t.Errorf("fn saw due times %v, want %v (again after the claim)", dues, want)
	}
	if got, err := s.GetPlan(ctx, "adaptive", "claim"); err != nil || !got.Due.Equal(leased) || string(got.State) != "kept" {
		t.Errorf("plan after UpdatePlan racing ClaimDue = %+v, %v; want state kept, due %v (the lease not undone)", got, err, leased)
	}

	// A DeletePlan in between: the update neither writes nor brings it back.
	if err := s.SetPlan(ctx, "adaptive", "del", counterPlan(1)); err != nil {
		t.Fatal(err)
	}
	calls := 0
	err = s.UpdatePlan(ctx, "adaptive", "del", func(p registry.Plan) (registry.Plan, error) {
		calls++
		if calls == 1 {
			if err := s.DeletePlan(ctx, "adaptive", "del"); err != nil {
				t.Error(err)
			}
		}
		return counterPlan(counter(t, p) + 1), nil
	})
	if !errors.Is(err, registry.ErrNotFound) || calls != 1 {
		t.Errorf("UpdatePlan racing DeletePlan = %v after %d calls of fn; want ErrNotFound after 1", err, calls)
	}
	if got, err := s.GetPlan(ctx, "adaptive", "del"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetPlan after UpdatePlan racing DeletePlan = %+v, %v; want ErrNotFound", got, err)
	}
	if ids, err := s.ClaimDue(ctx, "adaptive", planT0.Add(time.Hour), time.Minute, 10); err != nil || slices.Contains(ids, "del") {
		t.Errorf("ClaimDue after UpdatePlan racing DeletePlan = %q, %v; want no del", ids, err)
	}
}

// updateAll runs UpdatePlan until it ends otherwise than with ErrConflict
// (a round lost to the other writers each time), and counts the rounds so
// lost.
func updateAll(ctx context.Context, s registry.Store, id string, fn func(registry.Plan) (registry.Plan, error), conflicts *atomic.Int64) error {
	for {
		err := s.UpdatePlan(ctx, "adaptive", id, fn)
		if !errors.Is(err, registry.ErrConflict) {
			return err
		}
		conflicts.Add(1)
	}
}

func testPlanUpdateConcurrent(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	const workers, each = 8, 25
	if err := s.SetPlan(ctx, "adaptive", "v1", counterPlan(0)); err != nil {
		t.Fatal(err)
	}
	var conflicts, calls atomic.Int64
	inc := increment(t)
	fn := func(p registry.Plan) (registry.Plan, error) { calls.Add(1); return inc(p) }
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if err := updateAll(ctx, s, "v1", fn, &conflicts); err != nil {
					t.Errorf("UpdatePlan: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := s.GetPlan(ctx, "adaptive", "v1")
	if err != nil {
		t.Fatal(err)
	}
	// Every increment landed, and the due time is the last writer's.
	if want := counterPlan(workers * each); !cmp.Equal(want, got, equateEmpty) {
		t.Errorf("after %d×%d concurrent increments: counter %d, due %v; want %d, %v",
			workers, each, counter(t, got), got.Due, workers*each, want.Due)
	}
	t.Logf("%d updates: fn called %d times, %d updates gave up with ErrConflict and were tried again",
		workers*each, calls.Load(), conflicts.Load())
}

// testPlanUpdateRacingDelete deletes a plan while updates of it run: once
// DeletePlan has returned and the updates under way have ended, no plan is
// left (an update started after DeletePlan finds none: ErrNotFound).
func testPlanUpdateRacingDelete(t *testing.T, s registry.Store) {
	ctx := testCtx(t)
	const workers = 4
	for round := range 5 {
		if err := s.SetPlan(ctx, "adaptive", "v1", counterPlan(0)); err != nil {
			t.Fatal(err)
		}
		var conflicts atomic.Int64
		started := make(chan struct{}, workers)
		deleted := make(chan struct{})
		inc := increment(t)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-deleted:
						return // no update starts after DeletePlan returned
					default:
					}
					err := updateAll(ctx, s, "v1", inc, &conflicts)
					if i == 0 {
						started <- struct{}{}
					}
					if errors.Is(err, registry.ErrNotFound) {
						continue
					}
					if err != nil {
						t.Errorf("UpdatePlan: %v", err)
						return
					}
				}
			})
		}
		for range workers { // each updater has written once: they all run
			<-started
		}
		if err := s.DeletePlan(ctx, "adaptive", "v1"); err != nil {
			t.Fatalf("DeletePlan: %v", err)
		}
		close(deleted)
		wg.Wait()
		if got, err := s.GetPlan(ctx, "adaptive", "v1"); !errors.Is(err, registry.ErrNotFound) {
			t.Fatalf("round %d: plan after DeletePlan and the updates racing it = %+v, %v; want ErrNotFound (brought back)", round, got, err)
		}
		if ids, err := s.ClaimDue(ctx, "adaptive", planT0.Add(24*time.Hour), time.Minute, 10); err != nil || len(ids) != 0 {
			t.Fatalf("round %d: ClaimDue after DeletePlan = %q, %v; want none", round, ids, err)
		}
	}
}
