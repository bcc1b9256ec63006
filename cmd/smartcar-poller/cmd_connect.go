package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

func cmdConnect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var code, refresh, tags string
	cfg, _, err := loadConfig("connect", args, func(fs *flag.FlagSet) {
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
	if code != "" && cfg.Smartcar.RedirectURI == "" {
		return errors.New("connect --code needs smartcar.redirect_uri (or SMARTCAR_REDIRECT_URI): the one the code was issued for")
	}
	app, err := open(ctx, cfg, log, openOptions{ConnectOnly: true, Command: "connect"})
	if err != nil {
		return err
	}
	defer app.Close()
	var access *smartcar.Access
	if code != "" {
		access, err = app.Auth().ExchangeCode(ctx, code)
	} else {
		access, err = app.Auth().ExchangeRefreshToken(ctx, refresh)
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
// "connected" status event for each (onboard.Handler.ConnectGrant, which
// /callback uses too).
func (a *App) connectGrant(ctx context.Context, access *smartcar.Access, tags []string) ([]string, error) {
	h, err := a.NewOnboarding()
	if err != nil {
		return nil, err
	}
	return h.ConnectGrant(ctx, access, "", tags)
}
