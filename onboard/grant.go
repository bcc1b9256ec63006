package onboard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// ErrNoVehicles is returned by ConnectGrant when the grant covers no vehicle.
var ErrNoVehicles = errors.New("the grant has no vehicles")

// ConnectGrant discovers a grant's vehicles, registers them for polling
// with their Smartcar user id, stores the fresh token pair under that user
// (unless Config.DropGrants: API v3 polls without it) and publishes a
// "connected" status event for each vehicle; it returns their ids. A
// vehicle already registered keeps its id, last poll and (when tags is nil)
// its tags, so one in needs_reauth resumes where it stopped.
//
// userID is the user id Connect's redirect carried, or "": the user is then
// asked for (GET /user). A pair is only ever stored under the user Smartcar
// names for its access token, so with a pair to store the redirect's id is
// not taken on trust: a user who edits it would otherwise overwrite another
// user's grant. Without one it only says whom the vehicles are polled for,
// and a wrong one is corrected by the worker's lookup of the vehicle's
// connection.
func (h *Handler) ConnectGrant(ctx context.Context, access *smartcar.Access, userID string, tags []string) ([]string, error) {
	user := &smartcar.User{ID: userID}
	if userID == "" || !h.cfg.DropGrants {
		u, err := h.d.API.GetUser(ctx, access.AccessToken)
		if err != nil {
			return nil, fmt.Errorf("get user: %w", err)
		}
		if userID != "" && u.ID != userID {
			h.log.WarnContext(ctx, "connect redirect named another user than the access token's; the token's is kept")
		}
		user = u
	}
	var ids []string
	for offset := 0; ; {
		page, err := h.d.API.GetVehicles(ctx, access.AccessToken, &smartcar.Paging{Limit: 50, Offset: offset})
		if err != nil {
			return nil, fmt.Errorf("list vehicles: %w", err)
		}
		ids = append(ids, page.Vehicles...)
		offset += len(page.Vehicles)
		if len(page.Vehicles) == 0 || offset >= page.Paging.Count {
			break
		}
	}
	if len(ids) == 0 {
		return nil, ErrNoVehicles
	}
	now := h.cfg.Now().UTC()
	// A v2 grant is its user's: the grant id is the Smartcar user id.
	vs := make([]registry.Vehicle, 0, len(ids))
	previous := make(map[string]events.Status, len(ids))
	for _, id := range ids {
		v := registry.Vehicle{ID: id, GrantID: user.ID, UserID: user.ID, Tags: tags, Status: events.StatusConnected, ConnectedAt: now}
		old, err := h.d.Registry.GetVehicle(ctx, id)
		switch {
		case err == nil:
			previous[id] = old.Status
			v.ConnectedAt, v.LastPoll = old.ConnectedAt, old.LastPoll
			if tags == nil {
				v.Tags = old.Tags
			}
		case !errors.Is(err, registry.ErrNotFound):
			return nil, fmt.Errorf("get vehicle: %w", err)
		}
		vs = append(vs, v)
	}
	// The pair first: no vehicle is registered under a grant without one
	// (on API v2, which polls with it).
	if !h.cfg.DropGrants {
		if err := h.d.Grants.Connect(ctx, user.ID, access); err != nil {
			return nil, fmt.Errorf("store grant: %w", err)
		}
	}
	// The grant's vehicles the user did not authorize this time.
	if _, err := registry.SetGrantStatus(ctx, h.d.Registry, user.ID, events.StatusDisconnected,
		"not authorized in the latest Connect", ids...); err != nil {
		return nil, fmt.Errorf("register vehicles: %w", err)
	}
	for _, v := range vs {
		if err := h.d.Registry.PutVehicle(ctx, v); err != nil {
			return nil, fmt.Errorf("register vehicles: %w", err)
		}
		if h.d.States != nil {
			if err := h.d.States.ObserveRegistered(ctx, v, now); err != nil {
				h.log.WarnContext(ctx, "adaptive schedules: enter a registered vehicle", "vehicle", v.ID, "err", err)
			}
		}
	}
	evs := make([]events.Event, 0, len(ids))
	for _, id := range ids {
		data := events.StatusData{Status: events.StatusConnected, Reason: "connected"}
		if p := previous[id]; p != "" && p != events.StatusConnected {
			data.Previous, data.Reason = p, "reconnected"
		}
		ev, err := events.New(events.SignalStatus, id, data, events.Meta{
			ID:   events.StatusEventID("connect/"+user.ID+"/"+id+"/"+now.Format(time.RFC3339Nano), events.StatusConnected),
			Time: now, Source: h.cfg.Source,
		})
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	if err := h.d.Publisher.Publish(ctx, evs...); err != nil {
		return nil, fmt.Errorf("publish connected: %w", err)
	}
	h.log.InfoContext(ctx, "grant connected", "vehicles", len(ids), "tags", tags, "token_pair_kept", !h.cfg.DropGrants)
	return ids, nil
}
