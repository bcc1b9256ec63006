package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/internal/daemon"
)

func cmdVehicles(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if helpRequested(args) {
		return &helpError{name: "vehicles"}
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: vehicles needs list or remove", errUsage)
	}
	sub := args[0]
	if sub != "list" && sub != "remove" {
		return fmt.Errorf("%w: unknown vehicles command %q", errUsage, sub)
	}
	// The registry is read and changed in the store only: no Smartcar credentials.
	cfg, fs, err := loadConfig("vehicles "+sub, args[1:], nil, config.SkipCredentials())
	if err != nil {
		return err
	}
	if sub == "remove" && fs.NArg() != 1 {
		return fmt.Errorf("%w: vehicles remove needs one vehicle id", errUsage)
	}
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	app, err := open(ctx, cfg, log, openOptions{ConnectOnly: true, StoreOnly: true, Command: "vehicles " + sub})
	if err != nil {
		return err
	}
	defer app.Close()
	if sub == "remove" {
		id := fs.Arg(0)
		if _, err := app.Registry().GetVehicle(ctx, id); err != nil {
			return fmt.Errorf("vehicle %s: %w", id, err)
		}
		if err := app.Registry().DeleteVehicle(ctx, id); err != nil {
			return fmt.Errorf("remove %s: %w", id, err)
		}
		fmt.Fprintf(stdout, "removed %s\n", id)
		return nil
	}
	vs, err := app.Registry().ListVehicles(ctx)
	if err != nil {
		return fmt.Errorf("list vehicles: %w", err)
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].ID < vs[j].ID })
	ss, err := daemon.AdaptiveSchedules(cfg)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tGRANT\tUSER\tTAGS\tSTATUS\tLAST POLL\tHOLD\tCALLS USED\tCALLS LEFT\tNEXT POLL")
	now := time.Now()
	for _, v := range vs {
		hold := "-"
		if until, err := app.Registry().Hold(ctx, v.ID); err == nil && until.After(now) {
			hold = until.Sub(now).Round(time.Second).String()
		}
		last := "-"
		if !v.LastPoll.IsZero() {
			last = v.LastPoll.UTC().Format(time.RFC3339)
		}
		status := string(v.Status)
		if v.Reason != "" && status != "connected" {
			status += " (" + v.Reason + ")"
		}
		user := cmp.Or(v.UserID, "-")
		left := "-"
		var used string
		n, err := app.Registry().Calls(ctx, v.ID, now)
		if err != nil {
			return fmt.Errorf("billed calls of %s: %w", v.ID, err)
		}
		used = strconv.Itoa(n)
		if budget := vehicleBudget(cfg, ss, v); budget > 0 {
			left = strconv.Itoa(max(budget-n, 0))
		}
		next := "-"
		t, err := nextPoll(ctx, app.Registry(), ss, v)
		if err != nil {
			return fmt.Errorf("next poll of %s: %w", v.ID, err)
		}
		if !t.IsZero() {
			next = t.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.GrantID, user, strings.Join(v.Tags, ","), status, last, hold,
			used, left, next)
	}
	return tw.Flush()
}
