package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

const migrateUsage = "migrate v3 --config FILE [--dry-run]"

// migrateWriters bounds the registry writes migrate v3 has in flight.
const migrateWriters = 16

// cmdMigrate runs "migrate v3": it fills in the Smartcar user id of every
// registered vehicle that has none (registered before user ids were kept),
// from the application's connections (GET /v3/connections, every page:
// not billed), and reports the vehicles it could not match.
func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if helpRequested(args) {
		return &helpError{name: "migrate"}
	}
	if len(args) == 0 || args[0] != "v3" {
		return fmt.Errorf("%w: %s", errUsage, migrateUsage)
	}
	var dryRun bool
	cfg, _, err := loadConfig("migrate v3", args[1:], func(fs *flag.FlagSet) {
		fs.BoolVar(&dryRun, "dry-run", false, "report what would be filled in, change nothing")
	})
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	app, err := open(ctx, cfg, log, openOptions{ConnectOnly: true, Command: "migrate v3"})
	if err != nil {
		return err
	}
	defer app.Close()
	res, err := migrateV3(ctx, app.Registry(), app.AppClient(), dryRun)
	if err != nil {
		return err
	}
	res.print(stdout, dryRun)
	return nil
}

// migration is what migrate v3 found and did.
type migration struct {
	Vehicles    int      // registered
	Had         int      // with a user id already
	Filled      []string // given one (or, dry run, that would be)
	Unmatched   []string // without one, and with no connection to the application
	Connections int      // read from Smartcar
	Took        time.Duration
}

// migrateRegistry is what migrateV3 reads and writes in the registry.
type migrateRegistry interface {
	ListVehicles(ctx context.Context) ([]registry.Vehicle, error)
	SetUserID(ctx context.Context, id, userID string) error
}

// connectionLister lists the application's connections (*smartcar.AppClient).
type connectionLister interface {
	Connections(ctx context.Context, filter *smartcar.ConnectionsFilter) iter.Seq2[smartcar.Connection, error]
}

var _ connectionLister = (*smartcar.AppClient)(nil)

// migrateV3 gives every registered vehicle without a Smartcar user id the
// user of its connection: one pass over the registry and one over the
// connections, then the writes, migrateWriters at a time. A vehicle with
// several connections (users) gets the one whose user is its v2 grant's (a
// v2 grant's id is its user's id), else the most recent.
func migrateV3(ctx context.Context, reg migrateRegistry, app connectionLister, dryRun bool) (migration, error) {
	start := time.Now()
	var m migration
	vs, err := reg.ListVehicles(ctx)
	if err != nil {
		return m, fmt.Errorf("list vehicles: %w", err)
	}
	m.Vehicles = len(vs)
	need := map[string]registry.Vehicle{}
	for _, v := range vs {
		if v.UserID != "" {
			m.Had++
			continue
		}
		need[v.ID] = v
	}
	users := map[string]string{} // vehicle → user
	if len(need) > 0 {
		newest := map[string]time.Time{}
		for c, err := range app.Connections(ctx, nil) {
			if err != nil {
				return m, fmt.Errorf("list connections: %w", err)
			}
			m.Connections++
			v, ok := need[c.VehicleID]
			if !ok || c.UserID == "" {
				continue
			}
			cur, seen := users[c.VehicleID]
			if !seen || cur != v.GrantID && (c.UserID == v.GrantID || c.ConnectedAt.After(newest[c.VehicleID])) {
				users[c.VehicleID], newest[c.VehicleID] = c.UserID, c.ConnectedAt
			}
		}
	}
	for id := range need {
		if users[id] == "" {
			m.Unmatched = append(m.Unmatched, id)
		} else {
			m.Filled = append(m.Filled, id)
		}
	}
	slices.Sort(m.Filled)
	slices.Sort(m.Unmatched)
	if !dryRun {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(migrateWriters)
		var done atomic.Int64
		for _, id := range m.Filled {
			g.Go(func() error {
				if err := reg.SetUserID(gctx, id, users[id]); err != nil && !errors.Is(err, registry.ErrNotFound) {
					return fmt.Errorf("set user id of %s: %w", id, err)
				}
				done.Add(1)
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return m, fmt.Errorf("%w (%d of %d written; run it again to finish)", err, done.Load(), len(m.Filled))
		}
	}
	m.Took = time.Since(start)
	return m, nil
}

// print reports the migration: counts, then the vehicles not matched.
func (m migration) print(w io.Writer, dryRun bool) {
	verb := "filled in"
	if dryRun {
		verb = "would fill in (dry run)"
	}
	fmt.Fprintf(w, "migrate v3: %d vehicles registered, %d had a Smartcar user id; %s %d from %d connections in %s.\n",
		m.Vehicles, m.Had, verb, len(m.Filled), m.Connections, m.Took.Round(time.Millisecond))
	if len(m.Unmatched) == 0 {
		fmt.Fprintln(w, "Every registered vehicle has a Smartcar user id: API v3 can poll them all.")
		return
	}
	fmt.Fprintf(w, "%d vehicles have no connection to the application: API v3 cannot poll them until their users connect them again (GET /connect):\n", len(m.Unmatched))
	fmt.Fprintf(w, "  %s\n", strings.Join(m.Unmatched, "\n  "))
}
