package onboard_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// postSigned delivers body signed with the simulator's management token,
// wants 200, and waits until the delivery eventID is processed.
func (r *rig) postSigned(t *testing.T, eventID string, body []byte) {
	t.Helper()
	if status, answer := r.post(t, body, smartcar.HashChallenge(r.sim.ManagementToken, string(body))); status != http.StatusOK {
		t.Fatalf("delivery %s: HTTP %d %s", eventID, status, answer)
	}
	r.waitProcessed(t, eventID)
}

// vehicleError is a VEHICLE_ERROR delivery about odometer-traveleddistance.
func vehicleError(eventID, vehicleID, state, typ, code string, deliveredAt time.Time) []byte {
	return fmt.Appendf(nil, `{"eventId":%q,"eventType":"VEHICLE_ERROR","data":{"vehicle":{"id":%q},"user":{"id":"u"},
		"errors":[{"type":%q,"code":%q,"state":%q,"description":"d","signals":[{"code":"odometer-traveleddistance"}]}]},
		"meta":{"version":"4.0","deliveryId":"d-%s","deliveredAt":%d,"webhookId":"w"}}`,
		eventID, vehicleID, typ, code, state, eventID, deliveredAt.UnixMilli())
}

// statusEvents returns the data of the vehicle's status events, in order.
func (r *rig) statusEvents(t *testing.T, vehicleID string) []events.StatusData {
	t.Helper()
	var out []events.StatusData
	for _, ev := range r.events(t) {
		if s, _ := ev.Signal(); s != events.SignalStatus || ev.VehicleID() != vehicleID {
			continue
		}
		var d events.StatusData
		if err := ev.DecodeData(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func (r *rig) vehicle(t *testing.T, id string) registry.Vehicle {
	t.Helper()
	v, err := r.store.GetVehicle(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestHandler_Webhook_vehicleError: the simulator reports an unreachable
// vehicle, then its resolution: an error event and a status event, then a
// status event, and the vehicle stays connected throughout.
func TestHandler_Webhook_vehicleError(t *testing.T) {
	r := newRig(t)
	id := r.sim.VehicleIDs()[0]
	r.register(t, id)
	r.send(t, smartcartest.EventVehicleError, id) // unreachable
	r.send(t, smartcartest.EventVehicleError, id) // resolved
	evs := r.events(t)
	if len(evs) != 3 {
		t.Fatalf("%d events, want an error and two statuses", len(evs))
	}
	var e events.ErrorData
	if s, _ := evs[0].Signal(); s != events.SignalError || evs[0].DecodeData(&e) != nil {
		t.Fatalf("first event %s, want an error event", evs[0].Type)
	}
	if diff := cmp.Diff(events.ErrorData{Path: "/odometer", Type: "VEHICLE_STATE", Code: "UNREACHABLE"}, e,
		cmpopts.IgnoreFields(events.ErrorData{}, "Description")); diff != "" {
		t.Errorf("error event (-want +got):\n%s", diff)
	}
	want := []events.StatusData{
		{Status: events.StatusConnected, Reason: "webhook VEHICLE_STATE:UNREACHABLE"},
		{Status: events.StatusConnected, Reason: "resolved VEHICLE_STATE:UNREACHABLE"},
	}
	if diff := cmp.Diff(want, r.statusEvents(t, id)); diff != "" {
		t.Errorf("status events (-want +got):\n%s", diff)
	}
	if v := r.vehicle(t, id); v.Status != events.StatusConnected {
		t.Errorf("vehicle %s, want still connected", v.Status)
	}
	// Errors do not defer polling.
	if last, err := r.store.LastWebhooks(ctxT(t)); err != nil || len(last) != 0 {
		t.Errorf("LastWebhooks = %v, %v; want none after errors only", last, err)
	}
	if s := r.h.Stats(); s.StatusChanges != 0 || s.Processed != 2 || s.Accepted != 2 {
		t.Errorf("stats %+v, want 2 accepted and processed, no status change", s)
	}
}

// TestHandler_Webhook_vehicleErrorStatus: an error that needs an operator
// or the user sets the vehicle's status, and its RESOLVED sets it back to
// connected, but only from the status that error set.
func TestHandler_Webhook_vehicleErrorStatus(t *testing.T) {
	tests := []struct {
		name      string
		before    registry.Vehicle // Status and Reason before the error
		fault     smartcartest.Fault
		after     events.Status // once the error is reported
		afterWhy  string
		resolved  events.Status // once it is resolved
		statusEvs []events.StatusData
	}{
		{
			name:   "permission_disables_then_resolves",
			before: registry.Vehicle{Status: events.StatusConnected},
			fault:  smartcartest.ErrorFault("PERMISSION", ""),
			after:  events.StatusDisabled, afterWhy: "webhook PERMISSION",
			resolved: events.StatusConnected,
			statusEvs: []events.StatusData{
				{Status: events.StatusDisabled, Reason: "webhook PERMISSION", Previous: events.StatusConnected},
				{Status: events.StatusConnected, Reason: "resolved PERMISSION", Previous: events.StatusDisabled},
			},
		},
		{
			name:   "account_needs_reauth_then_resolves",
			before: registry.Vehicle{Status: events.StatusConnected},
			fault:  smartcartest.ErrorFault("CONNECTED_SERVICES_ACCOUNT", "AUTHENTICATION_FAILED"),
			after:  events.StatusNeedsReauth, afterWhy: "webhook CONNECTED_SERVICES_ACCOUNT:AUTHENTICATION_FAILED",
			resolved: events.StatusConnected,
			statusEvs: []events.StatusData{
				{Status: events.StatusNeedsReauth, Reason: "webhook CONNECTED_SERVICES_ACCOUNT:AUTHENTICATION_FAILED", Previous: events.StatusConnected},
				{Status: events.StatusConnected, Reason: "resolved CONNECTED_SERVICES_ACCOUNT:AUTHENTICATION_FAILED", Previous: events.StatusNeedsReauth},
			},
		},
		{
			name:   "operator_disabled_stays_disabled",
			before: registry.Vehicle{Status: events.StatusDisabled, Reason: "operator"},
			fault:  smartcartest.ErrorFault("PERMISSION", ""),
			after:  events.StatusDisabled, afterWhy: "operator",
			resolved: events.StatusDisabled,
			statusEvs: []events.StatusData{
				{Status: events.StatusDisabled, Reason: "webhook PERMISSION"},
				{Status: events.StatusDisabled, Reason: "resolved PERMISSION"},
			},
		},
		{
			name:   "needs_reauth_stays_needs_reauth",
			before: registry.Vehicle{Status: events.StatusNeedsReauth, Reason: "invalid_grant"},
			fault:  smartcartest.ErrorFault("COMPATIBILITY", "VEHICLE_NOT_CAPABLE"),
			after:  events.StatusNeedsReauth, afterWhy: "invalid_grant",
			resolved: events.StatusNeedsReauth,
			statusEvs: []events.StatusData{
				{Status: events.StatusNeedsReauth, Reason: "webhook COMPATIBILITY:VEHICLE_NOT_CAPABLE"},
				{Status: events.StatusNeedsReauth, Reason: "resolved COMPATIBILITY:VEHICLE_NOT_CAPABLE"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			id := r.sim.VehicleIDs()[0]
			v := tt.before
			v.ID, v.GrantID = id, "g"
			if err := r.store.PutVehicle(ctxT(t), v); err != nil {
				t.Fatal(err)
			}
			r.sim.SetFault(id, "", tt.fault)
			r.send(t, smartcartest.EventVehicleError, id)
			if got := r.vehicle(t, id); got.Status != tt.after || got.Reason != tt.afterWhy {
				t.Errorf("after the error: %s %q, want %s %q", got.Status, got.Reason, tt.after, tt.afterWhy)
			}
			r.sim.ClearFault(id, "")
			r.send(t, smartcartest.EventVehicleError, id)
			if got := r.vehicle(t, id); got.Status != tt.resolved {
				t.Errorf("after the resolution: %s %q, want %s", got.Status, got.Reason, tt.resolved)
			}
			if diff := cmp.Diff(tt.statusEvs, r.statusEvents(t, id)); diff != "" {
				t.Errorf("status events (-want +got):\n%s", diff)
			}
		})
	}
}

// TestHandler_Webhook_vehicleErrorReordered: Smartcar delivers an error's
// RESOLVED before the error itself (a retry of the first delivery). The
// late error is reported, but it neither disables the vehicle nor
// publishes a status older than the resolution's.
func TestHandler_Webhook_vehicleErrorReordered(t *testing.T) {
	r := newRig(t)
	id := r.sim.VehicleIDs()[0]
	r.register(t, id)
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	r.postSigned(t, "resolved-1", vehicleError("resolved-1", id, "RESOLVED", "PERMISSION", "", t0.Add(30*time.Second)))
	r.postSigned(t, "error-1", vehicleError("error-1", id, "ERROR", "PERMISSION", "", t0))
	if v := r.vehicle(t, id); v.Status != events.StatusConnected {
		t.Errorf("vehicle %s %q after the late error, want connected", v.Status, v.Reason)
	}
	want := []events.StatusData{{Status: events.StatusConnected, Reason: "resolved PERMISSION"}}
	if diff := cmp.Diff(want, r.statusEvents(t, id)); diff != "" {
		t.Errorf("status events (-want +got):\n%s", diff)
	}
	var errs int
	for _, ev := range r.events(t) {
		if s, _ := ev.Signal(); s == events.SignalError {
			errs++
			if !ev.Time.Equal(t0) {
				t.Errorf("error event time %s, want the delivery's %s", ev.Time, t0)
			}
		}
	}
	if errs != 1 {
		t.Errorf("%d error events, want the late error reported once", errs)
	}
	if s := r.h.Stats(); s.StaleEvents != 1 || s.StatusChanges != 0 {
		t.Errorf("stats %+v, want 1 stale event (the late status) and no status change", s)
	}
}
