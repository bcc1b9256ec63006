package kvregistry_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
)

var planT0 = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

// TestStore_planIndexFollowsOtherWriters loads plans another process wrote
// into the mirror's due index, follows its later writes, and never hands out
// a vehicle whose due time another writer moved since the index saw it.
func TestStore_planIndexFollowsOtherWriters(t *testing.T) {
	ctx := t.Context()
	m, o, _ := twoKVStores(t, func(s registry.Store) {
		if _, err := s.AddPlan(ctx, "adaptive", "v1", planT0); err != nil {
			t.Fatal(err)
		}
		if err := s.SetPlan(ctx, "adaptive", "v2", registry.Plan{State: []byte("x"), Due: planT0.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddPlan(ctx, "adaptive", "gone", planT0); err != nil {
			t.Fatal(err)
		}
		if err := s.DeletePlan(ctx, "adaptive", "gone"); err != nil {
			t.Fatal(err)
		}
	})
	now := planT0.Add(time.Minute)
	if ids, err := m.ClaimDue(ctx, "adaptive", now, time.Hour, 10); err != nil || !slices.Equal(ids, []string{"v1", "v2"}) {
		t.Fatalf("ClaimDue after load = %q, %v; want [v1 v2]", ids, err)
	}
	if _, err := o.AddPlan(ctx, "adaptive", "v3", planT0); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the mirror's index sees v3", func() error {
		ids, err := m.ClaimDue(ctx, "adaptive", now, time.Hour, 10)
		if err != nil || len(ids) == 0 {
			return fmt.Errorf("ClaimDue = %q, %v", ids, err)
		}
		if !slices.Equal(ids, []string{"v3"}) {
			t.Fatalf("ClaimDue = %q, want [v3]", ids)
		}
		return nil
	})
	// v4 is due in the index; another writer moves it away. Whether or not
	// the watch brought that yet, the claim's compare-and-set keeps it out.
	if _, err := m.AddPlan(ctx, "adaptive", "v4", planT0); err != nil {
		t.Fatal(err)
	}
	if err := o.SetPlan(ctx, "adaptive", "v4", registry.Plan{Due: now.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if ids, err := m.ClaimDue(ctx, "adaptive", now, time.Hour, 10); err != nil || len(ids) != 0 {
		t.Errorf("ClaimDue after another writer moved v4 = %q, %v; want none", ids, err)
	}
	if p, err := m.GetPlan(ctx, "adaptive", "v4"); err != nil || !p.Due.Equal(now.Add(24*time.Hour)) {
		t.Errorf("GetPlan(v4) = %+v, %v; want due %v", p, err, now.Add(24*time.Hour))
	}
}

// TestStore_planLeaseSurvivesRestart claims vehicles in a mirrored store,
// stops it, and checks that a new one (a restarted daemon) keeps their
// leases: they are not due again before the lease ends.
func TestStore_planLeaseSurvivesRestart(t *testing.T) {
	ctx := t.Context()
	js := testserver.EmbeddedJetStream(t)
	prefix := testserver.Unique("plr_")
	open := func() *kvregistry.Store {
		s := openAt(t, js, prefix)
		mctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := s.StartMirror(mctx, testserver.Logger(t)); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	for i := range 5 {
		if _, err := s.AddPlan(ctx, "adaptive", fmt.Sprintf("v%d", i), planT0); err != nil {
			t.Fatal(err)
		}
	}
	lease := 10 * time.Minute
	if ids, err := s.ClaimDue(ctx, "adaptive", planT0, lease, 3); err != nil || len(ids) != 3 {
		t.Fatalf("ClaimDue = %q, %v; want 3", ids, err)
	}
	s.Close()

	s = open()
	defer s.Close()
	if ids, err := s.ClaimDue(ctx, "adaptive", planT0.Add(lease-time.Millisecond), lease, 10); err != nil || !slices.Equal(ids, []string{"v3", "v4"}) {
		t.Errorf("ClaimDue after restart, within the lease = %q, %v; want [v3 v4]", ids, err)
	}
	if ids, err := s.ClaimDue(ctx, "adaptive", planT0.Add(lease), lease, 10); err != nil || !slices.Equal(ids, []string{"v0", "v1", "v2"}) {
		t.Errorf("ClaimDue after restart, at the lease's end = %q, %v; want [v0 v1 v2]", ids, err)
	}
}

// TestStore_callsKeepTwoMonths: a vehicle's calls key keeps the two latest
// months written (one key per vehicle, so the server's per-key memory does
// not grow by the month).
func TestStore_callsKeepTwoMonths(t *testing.T) {
	ctx := t.Context()
	s := newStore(t, testserver.EmbeddedJetStream(t))
	jan, feb, mar := planT0.AddDate(0, -2, 0), planT0.AddDate(0, -1, 0), planT0
	for i, at := range []time.Time{jan, feb, mar} {
		if got, err := s.AddCalls(ctx, "v1", at, i+1); err != nil || got != i+1 {
			t.Fatalf("AddCalls(%v) = %d, %v; want %d", at, got, err, i+1)
		}
	}
	for at, want := range map[time.Time]int{jan: 0, feb: 2, mar: 3} {
		if got, err := s.Calls(ctx, "v1", at); err != nil || got != want {
			t.Errorf("Calls(%s) = %d, %v; want %d", at.Format("2006-01"), got, err, want)
		}
	}
}
