package registrytest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
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
