package main

import (
	"context"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestFreshness runs the bench at CI size: a seeded month of a small fleet,
// fixed polling at the budget beside the adaptive policy (alone, and with
// charge webhooks). What it asserts are properties of the policy on that
// world, not timings: no vehicle over the budget and no 430; every median
// at most half of fixed polling's, and the charge-stop p90 too; the trips'
// p90s well below fixed polling's; and with webhooks, fewer billed calls,
// charges seen within minutes and trips as soon (docs/adaptive.md has the
// table of the full-size run and says which targets it misses).
func TestFreshness(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a simulated month")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cfg := DefaultRunConfig(ciVehicles, 30, 1, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	var pols []Policy
	for _, p := range Policies(Budget, Reserve) {
		if p.Name != "fixed-30m" {
			pols = append(pols, p)
		}
	}
	results, err := RunAll(ctx, cfg, pols, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d vehicles, 30 days:\n%s\n%s", ciVehicles, Table(results), Details(results))
	fixed, adapt, hooks := results[0], results[1], results[2]
	const noise = 3 // minutes: how much a small fleet's quantiles move from seed to seed
	if fixed.Policy != "fixed-90m" || adapt.Policy != "adaptive" || hooks.Policy != "adaptive+webhooks" {
		t.Fatalf("rows %s, %s, %s", fixed.Policy, adapt.Policy, hooks.Policy)
	}
	for _, r := range []*Result{adapt, hooks} {
		if r.MaxBilled > Budget*9/10 || r.Quota430 != 0 {
			t.Errorf("%s: max %d billed calls a vehicle (its polls may spend %d), %d 430s", r.Policy, r.MaxBilled,
				Budget*9/10, r.Quota430)
		}
	}
	if fixed.Quota430 != 0 || fixed.MaxBilled != 480 {
		t.Errorf("fixed-90m: max %d billed calls, %d 430s; want 480 and none", fixed.MaxBilled, fixed.Quota430)
	}
	for _, k := range Measured {
		base, got := fixed.Delays[k], adapt.Delays[k]
		if base.N() < 100 || base.N() != got.N() {
			t.Fatalf("%s: %d changes for fixed-90m, %d for adaptive: want the same world, and enough of it", k, base.N(), got.N())
		}
		// Half, give or take what 50 vehicles' changes vary by: the
		// 1,000-vehicle run meets it (docs/adaptive.md).
		if m, ref := got.Quantile(0.5), base.Quantile(0.5); !(m <= ref/2+noise) {
			t.Errorf("adaptive %s: median %.0f min, want at most half of fixed-90m's %.0f", k, m, ref)
		}
		// The p90s: charge stops (predicted) at most half of fixed polling's;
		// trips well below it; charge starts, whose tail is plug-ins hours
		// after coming home, at random, about as late (docs/adaptive.md).
		p90, ref := got.Quantile(0.9), base.Quantile(0.9)
		want := map[smartcartest.ChangeKind]float64{smartcartest.ChangeChargeStop: 0.5,
			smartcartest.ChangeTripStart: 0.85, smartcartest.ChangeTripEnd: 0.75, smartcartest.ChangeChargeStart: 1.2}[k]
		if !(p90 <= ref*want+noise) {
			t.Errorf("adaptive %s: p90 %.0f min, want at most %.2f of fixed-90m's %.0f", k, p90, want, ref)
		}
	}
	if hooks.MeanBilled >= adapt.MeanBilled || hooks.Webhooks == 0 {
		t.Errorf("webhooks: %.0f billed calls a vehicle (%d deliveries), want fewer than adaptive's %.0f",
			hooks.MeanBilled, hooks.Webhooks, adapt.MeanBilled)
	}
	for _, k := range Measured {
		got, ref := hooks.Delays[k], adapt.Delays[k]
		if byWebhook[k] {
			if p90 := got.Quantile(0.9); !(p90 <= cfg.HookEvery.Minutes()) {
				t.Errorf("webhooks %s: p90 %.0f min, want within the webhook check interval", k, p90)
			}
			continue
		}
		// Trips are still polled: as soon, within the noise of a small fleet.
		if m, p90 := got.Quantile(0.5), got.Quantile(0.9); !(m <= ref.Quantile(0.5)*1.15) || !(p90 <= ref.Quantile(0.9)*1.15) {
			t.Errorf("webhooks %s: %.0f / %.0f min, want as soon as adaptive's %.0f / %.0f", k, m, p90,
				ref.Quantile(0.5), ref.Quantile(0.9))
		}
	}
}
