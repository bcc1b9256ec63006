package onboard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// ErrNoVehicles is returned by ConnectGrant when the grant covers no vehicle.
var ErrNoVehicles = errors.New("the grant has no vehicles")

// ConnectGrant stores a fresh token pair under its Smartcar user, discovers
// the grant's vehicles, registers them for polling and publishes a
// "connected" status event for each; it returns their ids. A vehicle
// already registered keeps its id, last poll and (when tags is nil) its
// tags, so one in needs_reauth resumes where it stopped.
func (h *Handler) ConnectGrant(ctx context.Context, access *smartcar.Access, tags []string) ([]string, error) {
	user, err := h.d.API.GetUser(ctx, access.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
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
	vs := make([]tokens.Vehicle, 0, len(ids))
	previous := make(map[string]tokens.Status, len(ids))
	for _, id := range ids {
		v := tokens.Vehicle{ID: id, GrantID: user.ID, Tags: tags, Status: tokens.StatusConnected, ConnectedAt: now}
		old, err := h.d.Store.GetVehicle(ctx, id)
		switch {
		case err == nil:
			previous[id] = old.Status
			v.ConnectedAt = old.ConnectedAt
			if tags == nil {
				v.Tags = old.Tags
			}
		case !errors.Is(err, tokens.ErrNotFound):
			return nil, fmt.Errorf("get vehicle: %w", err)
		}
		vs = append(vs, v)
	}
	if err := h.d.Tokens.Connect(ctx, user.ID, access, vs); err != nil {
		return nil, fmt.Errorf("store grant: %w", err)
	}
	evs := make([]events.Event, 0, len(ids))
	for _, id := range ids {
		data := events.StatusData{Status: events.StatusConnected, Reason: "connected"}
		if p := previous[id]; p != "" && p != tokens.StatusConnected {
			data.Previous, data.Reason = events.Status(p), "reconnected"
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
	h.log.InfoContext(ctx, "grant connected", "vehicles", len(ids), "tags", tags)
	return ids, nil
}
