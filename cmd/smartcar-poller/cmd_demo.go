package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// cmdDemo runs the whole pipeline with zero configuration: an embedded NATS
// server, the embedded token store, the Smartcar simulator with a few
// vehicles connected, fast schedules, and every event printed as it arrives.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("vehicles", 3, "number of simulated vehicles")
	every := fs.Duration("every", 5*time.Second, "poll interval of the demo schedules")
	duration := fs.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	dataDir := fs.String("data-dir", "", "where the embedded NATS server stores its data (default: a temporary directory)")
	listen := fs.String("http", "127.0.0.1:0", "address of /healthz, /readyz and /metrics")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 1 || *every < time.Second {
		return fmt.Errorf("%w: --vehicles must be >= 1 and --every >= 1s", errUsage)
	}
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	if *dataDir == "" {
		dir, err := os.MkdirTemp("", "smartcar-poller-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*dataDir = dir
	}
	log := newLogger(stderr, "info", "auto")

	sim := smartcartest.NewServer(smartcartest.WithVehicles(*n), smartcartest.WithSeed(1), smartcartest.WithTimeScale(60))
	defer sim.Close()
	o := sim.Origins()
	log.Info("Smartcar simulator started", "origin", o.API)

	cfg := config.Default()
	cfg.DataDir = filepath.Join(*dataDir, "data")
	cfg.HTTP.Listen = *listen
	cfg.Smartcar.ClientID = sim.ClientID
	cfg.Smartcar.ClientSecret = config.Secret(sim.ClientSecret)
	cfg.Smartcar.RedirectURI = sim.RedirectURI
	cfg.Smartcar.RateLimit.RequestsPerMinute = 600
	cfg.Workers.Concurrency = 8
	cfg.Schedules = []config.Schedule{{
		Name:     "drive",
		Cron:     fmt.Sprintf("@every %s", *every),
		Paths:    []string{"/odometer", "/location", "/security"},
		Vehicles: config.Vehicles{All: true},
		Emit:     config.EmitAlways,
	}, {
		Name:     "electric",
		Cron:     fmt.Sprintf("@every %s", 2**every),
		Paths:    []string{"/battery", "/charge"},
		Vehicles: config.Vehicles{Tags: []string{"bev", "phev"}},
		Emit:     config.EmitOnChange,
	}, {
		Name:     "fuel",
		Cron:     fmt.Sprintf("@every %s", 2**every),
		Paths:    []string{"/fuel"},
		Vehicles: config.Vehicles{Tags: []string{"ice", "phev"}},
		Emit:     config.EmitOnChange,
	}}
	if err := cfg.Validate(config.SkipCredentials()); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}

	app, err := open(ctx, cfg, log, openOptions{clientOpts: []smartcar.ClientOption{
		smartcar.WithAPIOrigin(o.API),
		smartcar.WithAuthOrigin(o.Auth),
		smartcar.WithConnectOrigin(o.Connect),
		smartcar.WithManagementOrigin(o.Management),
	}})
	if err != nil {
		return err
	}
	defer app.Close()

	// Print every event as it arrives.
	p := &printer{w: stdout, maxData: 110}
	sub, err := app.nc.Subscribe(cfg.NATS.SubjectPrefix+".vehicles.>", func(m *nats.Msg) { p.print(m.Data) })
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer sub.Unsubscribe()

	// Connect every simulated user the way a real user is connected: spend
	// the refresh token, store the new pair, discover the vehicles. Tag each
	// vehicle with its powertrain so the schedules above pick their paths.
	kinds := map[string]string{}
	for _, v := range sim.Vehicles() {
		kinds[v.ID] = strings.ToLower(string(v.Kind))
	}
	var ids []string
	for _, user := range sim.Users() {
		grant, ok := sim.ConnectUser(user, nil, nil)
		if !ok {
			continue
		}
		access, err := app.auth.ExchangeRefreshToken(ctx, grant.RefreshToken)
		if err != nil {
			return fmt.Errorf("exchange refresh token: %w", err)
		}
		got, err := app.connectGrant(ctx, access, nil)
		if err != nil {
			return err
		}
		ids = append(ids, got...)
	}
	for _, id := range ids {
		v, err := app.store.GetVehicle(ctx, id)
		if err != nil {
			return err
		}
		v.Tags = []string{kinds[id]}
		if err := app.store.PutVehicle(ctx, v); err != nil {
			return err
		}
	}
	p.mu.Lock()
	fmt.Fprintf(stdout, "demo: %d simulated vehicles connected; polling every %s (Ctrl-C to stop)\n", len(ids), *every)
	p.mu.Unlock()
	return app.Run(ctx)
}
