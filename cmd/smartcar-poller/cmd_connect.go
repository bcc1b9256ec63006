package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/tokens"
)

func cmdConnect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var code, refresh, tags string
	cfg, _, err := loadConfig("connect", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&code, "code", "", "authorization code from the Connect redirect")
		fs.StringVar(&refresh, "refresh-token", "", "an existing refresh token (it is spent: the new pair is stored)")
		fs.StringVar(&tags, "tags", "", "comma-separated tags for the grant's vehicles")
	})
	if err != nil {
		return err
	}
	if (code == "") == (refresh == "") {
		return fmt.Errorf("%w: connect needs exactly one of --code or --refresh-token", errUsage)
	}
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	app, err := open(ctx, cfg, log, openOptions{connectOnly: true})
	if err != nil {
		return err
	}
	defer app.Close()
	var access *smartcar.Access
	if code != "" {
		access, err = app.auth.ExchangeCode(ctx, code)
	} else {
		access, err = app.auth.ExchangeRefreshToken(ctx, refresh)
	}
	if err != nil {
		return fmt.Errorf("token exchange: %w", err)
	}
	ids, err := app.connectGrant(ctx, access, splitList(tags))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "connected %d vehicle(s):\n", len(ids))
	for _, id := range ids {
		fmt.Fprintln(stdout, " ", id)
	}
	return nil
}

// connectGrant stores a fresh token pair under its Smartcar user, discovers
// the grant's vehicles, registers them for polling and publishes a
// "connected" status event for each.
func (a *App) connectGrant(ctx context.Context, access *smartcar.Access, tags []string) ([]string, error) {
	user, err := a.api.GetUser(ctx, access.AccessToken)
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	var ids []string
	for offset := 0; ; {
		page, err := a.api.GetVehicles(ctx, access.AccessToken, &smartcar.Paging{Limit: 50, Offset: offset})
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
		return nil, errors.New("the grant has no vehicles")
	}
	now := time.Now().UTC()
	vs := make([]tokens.Vehicle, 0, len(ids))
	for _, id := range ids {
		vs = append(vs, tokens.Vehicle{ID: id, GrantID: user.ID, Tags: tags, Status: tokens.Status(events.StatusConnected), ConnectedAt: now})
	}
	if err := a.tokens.Connect(ctx, user.ID, access, vs); err != nil {
		return nil, fmt.Errorf("store grant: %w", err)
	}
	evs := make([]events.Event, 0, len(ids))
	for _, id := range ids {
		ev, err := events.New(events.SignalStatus, id, events.StatusData{Status: events.StatusConnected, Reason: "connected"},
			events.Meta{ID: events.EventID("connect/"+user.ID+"/"+now.Format(time.RFC3339Nano), id), Time: now, Source: "smartcar-poller"})
		if err != nil {
			return nil, err
		}
		evs = append(evs, ev)
	}
	if err := a.pub.Publish(ctx, evs...); err != nil {
		return nil, fmt.Errorf("publish connected: %w", err)
	}
	a.log.Info("grant connected", "vehicles", len(ids), "tags", tags)
	return ids, nil
}
