package smartcar_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// commands: sync commands change the state at once, async ones answer 202
// and complete when the simulator's clock passes their duration; their
// effect shows in the next signals.
func (w *v3e2e) commands(t *testing.T) {
	ctx := t.Context()
	w.refill()
	v := w.app.Vehicle(w.bev.ID, w.users[0])
	isLocked := func() bool {
		t.Helper()
		s, err := v.Signal(ctx, smartcar.SignalIsLocked)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Bool()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	text := func(code string) string {
		t.Helper()
		s, err := v.Signal(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		x, err := s.Text()
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, c := range []struct {
		do     func(context.Context) (*smartcar.CommandExecution, error)
		typ    string
		locked bool
	}{{v.Unlock, "security-unlock", false}, {v.Lock, "security-lock", true}} {
		exec, err := c.do(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if exec.StatusCode != http.StatusOK || exec.Status != smartcar.CommandSuccess || exec.Pending() ||
			exec.ExecutionMode != "sync" || exec.CommandType != c.typ || !strings.HasPrefix(exec.ID, "exec_") ||
			!exec.ExecutedAt.Equal(w.clock.Now()) || exec.CompletedAt.IsZero() {
			t.Errorf("%s: %+v", c.typ, exec)
		}
		if got := isLocked(); got != c.locked {
			t.Errorf("after %s closure-islocked = %v", c.typ, got)
		}
		read, err := v.CommandExecution(ctx, exec.ID)
		if err != nil || read.ID != exec.ID || read.Status != smartcar.CommandSuccess {
			t.Errorf("CommandExecution(%s) = %+v, %v", exec.ID, read, err)
		}
	}

	// async runs an asynchronous command: 202 and PENDING until the clock
	// passes the simulator's async duration, then its outcome.
	async := func(do func() (*smartcar.CommandExecution, error), meanwhile func()) *smartcar.CommandExecution {
		t.Helper()
		exec, err := do()
		if err != nil {
			t.Fatal(err)
		}
		if exec.StatusCode != http.StatusAccepted || !exec.Pending() || exec.ExecutionMode != "async" || !exec.CompletedAt.IsZero() {
			t.Fatalf("async command answered %+v, want 202 PENDING", exec)
		}
		if read, err := v.CommandExecution(ctx, exec.ID); err != nil || !read.Pending() {
			t.Fatalf("before its time: %+v, %v", read, err)
		}
		if meanwhile != nil {
			meanwhile()
		}
		w.clock.Advance(smartcartest.DefaultAsyncCommandDuration)
		out, err := v.CommandExecution(ctx, exec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if out.Pending() || out.ID != exec.ID || out.Duration != smartcartest.DefaultAsyncCommandDuration ||
			!out.CompletedAt.Equal(exec.ExecutedAt.Add(smartcartest.DefaultAsyncCommandDuration)) {
			t.Errorf("completed execution %+v", out)
		}
		return out
	}

	if !w.sim.SetPlugged(w.bev.ID, true) {
		t.Fatal("cannot plug the BEV in")
	}
	if out := async(func() (*smartcar.CommandExecution, error) { return v.SetChargeLimit(ctx, 1) }, nil); out.Status != smartcar.CommandSuccess {
		t.Fatalf("SetChargeLimit(1): %+v", out)
	}
	if got := text(smartcar.SignalDetailedChargingStatus); got != smartcar.ChargeStateCharging {
		t.Fatalf("plugged in with a limit of 100%%: %s, want CHARGING", got)
	}
	if out := async(func() (*smartcar.CommandExecution, error) { return v.StopCharge(ctx) }, nil); out.Status != smartcar.CommandSuccess {
		t.Errorf("StopCharge: %+v", out)
	}
	if got := text(smartcar.SignalDetailedChargingStatus); got != smartcar.ChargeStateNotCharging {
		t.Errorf("after StopCharge: %s, want NOT_CHARGING", got)
	}
	// Unplugged while the start is pending: the execution fails.
	out := async(func() (*smartcar.CommandExecution, error) { return v.StartCharge(ctx) },
		func() { w.sim.SetPlugged(w.bev.ID, false) })
	if !out.Failed() || out.Err == nil || out.Err.Type != smartcar.TypeVehicleState || out.Err.Code != "CHARGING_PLUG_NOT_CONNECTED" {
		t.Errorf("StartCharge unplugged meanwhile: %+v (err %+v), want FAILED VEHICLE_STATE:CHARGING_PLUG_NOT_CONNECTED", out, out.Err)
	}
	if out := async(func() (*smartcar.CommandExecution, error) { return v.SetChargeLimit(ctx, 0.9) }, nil); out.Status != smartcar.CommandSuccess {
		t.Errorf("SetChargeLimit(0.9): %+v", out)
	}
	s, err := v.Signal(ctx, smartcar.SignalChargeLimits)
	if err != nil {
		t.Fatal(err)
	}
	var cl smartcar.ChargeLimitsBody
	if err := s.Decode(&cl); err != nil {
		t.Fatal(err)
	}
	if f, err := cl.Fraction(); err != nil || !near(f, 0.9) {
		t.Errorf("charge limit after SetChargeLimit(0.9): %+v", cl)
	}
	// A command without a typed shortcut, with its body.
	exec, err := v.Command(ctx, "navigation/destination", map[string]float64{"latitude": 37.4292, "longitude": -122.1381})
	if err != nil || exec.Status != smartcar.CommandSuccess || exec.CommandType != "navigation-destination" {
		t.Errorf("navigation/destination = %+v, %v", exec, err)
	}
	if st, _ := w.sim.VehicleState(w.bev.ID); !slices.Equal(st.Destination, []float64{37.4292, -122.1381}) {
		t.Errorf("destination after the command: %v", st.Destination)
	}
	// A command the vehicle cannot do is an error answer, not an execution.
	_, err = w.app.Vehicle(w.ice.ID, w.users[0]).StartCharge(ctx)
	if e := asError(t, err); e.Type != smartcar.TypeCompatibility || e.StatusCode != http.StatusNotImplemented {
		t.Errorf("StartCharge on an ICE car: %+v", e)
	}
}

// rateLimit: the vehicle throttle answers 429 with Retry-After, which the
// SDK reports as RetryAfter; waiting that long (on the simulator's clock)
// is enough.
func (w *v3e2e) rateLimit(t *testing.T) {
	ctx := t.Context()
	w.refill()
	v := w.app.Vehicle(w.ice1.ID, w.users[1])
	var err error
	calls := 0
	for ; calls <= e2eBurst && err == nil; calls++ {
		_, err = v.Signal(ctx, smartcar.SignalOdometer)
	}
	e := asError(t, err)
	if calls != e2eBurst+1 || e.StatusCode != http.StatusTooManyRequests || e.Type != smartcar.TypeRateLimit ||
		e.Code != "VEHICLE" || e.RetryAfter != e2eRefill || !e.Retryable() || !e.IsRateLimit() {
		t.Fatalf("call %d: %+v, want the %dth refused with Retry-After %v", calls, e, e2eBurst+1, e2eRefill)
	}
	if d, ok := smartcar.RetryAfter(err); !ok || d != e2eRefill {
		t.Errorf("smartcar.RetryAfter = %v, %v", d, ok)
	}
	if nb := e.NotBefore(w.clock.Now()); !nb.Equal(w.clock.Now().Add(e2eRefill)) {
		t.Errorf("NotBefore = %v", nb)
	}
	w.clock.Advance(e.RetryAfter)
	if _, err := v.Signal(ctx, smartcar.SignalOdometer); err != nil {
		t.Errorf("after Retry-After: %v", err)
	}
	if st := w.sim.Stats(); st.VehicleRateLimited != 1 || st.RetryAfterViolations != 0 {
		t.Errorf("simulator: %d vehicle rate limits, %d Retry-After violations; want 1 and 0",
			st.VehicleRateLimited, st.RetryAfterViolations)
	}
}

// jsonAPIError: an error in the JSON:API form ({"errors": [...]}) is a
// *Error like a flat one.
func (w *v3e2e) jsonAPIError(t *testing.T) {
	ctx := t.Context()
	w.refill()
	w.sim.SetFault(w.bev1.ID, "/v3/signals", smartcartest.Fault{Type: "UPSTREAM", Code: "INVALID_DATA",
		Description: "The manufacturer sent data Smartcar could not read.", JSONAPI: true, Times: 1})
	v := w.app.Vehicle(w.bev1.ID, w.users[1])
	mark := len(w.sim.Requests())
	_, err := v.Signals(ctx)
	e := asError(t, err)
	recs := requestsSince(w.sim, mark)
	if len(recs) != 1 {
		t.Fatalf("a failed first page made %d requests", len(recs))
	}
	want := smartcar.Error{StatusCode: http.StatusBadGateway, Type: smartcar.TypeUpstream, Code: "INVALID_DATA",
		Description: "The manufacturer sent data Smartcar could not read.",
		DocURL:      "https://smartcar.com/docs/errors/api-errors/upstream-errors#invalid-data",
		RequestID:   recs[0].RequestID, Resolution: smartcar.Resolution{Type: "RETRY_LATER"}}
	if diff := cmp.Diff(&want, e); diff != "" {
		t.Errorf("JSON:API error (-want +got):\n%s", diff)
	}
	if !e.Retryable() {
		t.Error("UPSTREAM is retryable")
	}
	if _, err := v.Signals(ctx); err != nil {
		t.Errorf("after the one-time fault: %v", err)
	}
}

// quota: the call past the monthly quota is 430 BILLING:VEHICLE_REQUEST_LIMIT,
// classified as spent until the next month, when calls work again.
func (w *v3e2e) quota(t *testing.T) {
	ctx := t.Context()
	w.refill()
	v := w.app.Vehicle(w.bev2.ID, w.users[1])
	start := w.sim.BilledCalls(w.bev2.ID, w.clock.Now())
	ok := 0
	var err error
	for range 2 * e2eQuota {
		_, err = v.Signal(ctx, smartcar.SignalOdometer)
		if e, isErr := smartcar.AsError(err); isErr && e.IsRateLimit() {
			w.refill() // the throttle, not the quota: wait and go on
			continue
		}
		if err != nil {
			break
		}
		ok++
	}
	e := asError(t, err)
	now := w.clock.Now()
	if ok != e2eQuota-start || e.StatusCode != 430 || e.Type != smartcar.TypeBilling || e.Code != "VEHICLE_REQUEST_LIMIT" {
		t.Fatalf("after %d calls (%d billed before): %+v, want 430 BILLING:VEHICLE_REQUEST_LIMIT after %d", ok, start, e, e2eQuota-start)
	}
	next := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	if !e.QuotaExhausted() || e.Retryable() || !e.Permanent() || !e.NotBefore(now).Equal(next) {
		t.Errorf("quota error: exhausted %v, retryable %v, not before %v; want true, false, %v",
			e.QuotaExhausted(), e.Retryable(), e.NotBefore(now), next)
	}
	if nb, ok := smartcar.NotBefore(err, now); !ok || !nb.Equal(next) {
		t.Errorf("smartcar.NotBefore = %v, %v", nb, ok)
	}
	if got := w.sim.BilledCalls(w.bev2.ID, now); got != e2eQuota {
		t.Errorf("simulator billed %d calls, want the quota %d", got, e2eQuota)
	}
	if n := w.sim.Stats().QuotaExceeded; n != 1 {
		t.Errorf("simulator counted %d quota refusals, want 1", n)
	}
	// Connections are free: still answered.
	if c, err := w.app.Connection(ctx, w.bev2.ID); err != nil || c.VehicleID != w.bev2.ID {
		t.Errorf("Connection with the quota spent: %+v, %v", c, err)
	}
	// Weeks later the application token has expired on both clocks: the
	// client renews it before the call instead of being refused.
	before := w.sim.Stats()
	w.clock.Advance(e.NotBefore(now).Sub(now))
	if _, err := v.Signal(ctx, smartcar.SignalOdometer); err != nil {
		t.Errorf("in the next month: %v", err)
	}
	if st := w.sim.Stats(); st.AppTokens != before.AppTokens+1 || st.V3TokenErrors != before.V3TokenErrors {
		t.Errorf("expired token: %d token requests, %d refused calls; want 1 and 0",
			st.AppTokens-before.AppTokens, st.V3TokenErrors-before.V3TokenErrors)
	}
	if got := w.sim.BilledCalls(w.bev2.ID, w.clock.Now()); got != 1 {
		t.Errorf("next month billed %d calls, want 1", got)
	}
}
