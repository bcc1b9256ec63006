package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// The demo's rhythm, in poll intervals (--every).
const (
	// demoSimPerPoll is how much simulated time passes per poll interval
	// by default: a drive (10 to 50 simulated minutes) spans a poll or two
	// and a day passes in four minutes, so values change as you watch.
	demoSimPerPoll = 30 * time.Minute
	// An injected RATE_LIMIT:VEHICLE comes demoThrottleFirst intervals after
	// start and then every demoThrottleEvery, with a Retry-After of
	// demoRetryAfter intervals.
	demoThrottleFirst = 3
	demoThrottleEvery = 12
	demoRetryAfter    = 3
)

// cmdDemo runs the whole pipeline with zero configuration: an embedded NATS
// server, the embedded token store, the Smartcar simulator with a few
// vehicles connected, fast schedules on API v3 (or v2 with --api v2), and
// every event printed as it arrives.
//
// The simulator runs on a time scale, so the vehicles drive, charge and
// refuel while the demo polls, and its limits are set from the cadence (see
// demoSimOptions) so that polling never runs them dry and the screen never
// stalls. What a Retry-After looks like is shown on purpose: now and then one
// vehicle is answered 429 RATE_LIMIT:VEHICLE (see throttle).
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("vehicles", 3, "number of simulated vehicles")
	timeScale := fs.Float64("time-scale", 0, "simulated seconds per real second (0: 30 simulated minutes per poll interval)")
	every := fs.Duration("every", 5*time.Second, "poll interval of the demo schedules")
	duration := fs.Duration("duration", 0, "stop after this long (0: until Ctrl-C)")
	dataDir := fs.String("data-dir", "", "where the embedded NATS server stores its data (default: a temporary directory)")
	listen := fs.String("http", "127.0.0.1:0", "address of /healthz, /readyz and /metrics")
	api := fs.String("api", config.APIV3, "the Smartcar API polled: v3 or v2")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *api != config.APIV3 && *api != config.APIV2 {
		return fmt.Errorf("%w: --api must be v3 or v2", errUsage)
	}
	if *n < 1 || *every < time.Second {
		return fmt.Errorf("%w: --vehicles must be >= 1 and --every >= 1s", errUsage)
	}
	if *timeScale < 0 {
		return fmt.Errorf("%w: --time-scale must not be negative", errUsage)
	}
	if *timeScale == 0 {
		*timeScale = demoSimPerPoll.Seconds() / every.Seconds()
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

	sim := smartcartest.NewServer(demoSimOptions(*n, *every, *timeScale)...)
	defer sim.Close()
	o := sim.Origins()
	log.Info("Smartcar simulator started", "origin", o.API)

	cfg := config.Default()
	cfg.DataDir = filepath.Join(*dataDir, "data")
	cfg.HTTP.Listen = *listen
	cfg.Smartcar.ClientID = sim.ClientID
	cfg.Smartcar.ClientSecret = config.Secret(sim.ClientSecret)
	cfg.Smartcar.RedirectURI = sim.RedirectURI
	cfg.Smartcar.API = *api
	cfg.Smartcar.RateLimit.RequestsPerMinute = max(600, demoCallsPerMinute(*n, *every))
	cfg.Workers.Concurrency = 8
	cfg.Schedules = demoSchedules(*api, *every)
	if err := cfg.Validate(config.SkipCredentials()); err != nil {
		return fmt.Errorf("demo config: %w", err)
	}

	app, err := open(ctx, cfg, log, openOptions{ClientOpts: []smartcar.ClientOption{
		smartcar.WithAPIOrigin(o.API),
		smartcar.WithAuthOrigin(o.Auth),
		smartcar.WithConnectOrigin(o.Connect),
		smartcar.WithManagementOrigin(o.Management),
	}, AppOrigins: smartcar.AppClientOptions{IAMOrigin: o.IAM, APIOrigin: o.APIV3, ManagementOrigin: o.ManagementV3}})
	if err != nil {
		return err
	}
	defer app.Close()

	// Say what the screen will show, then print every event as it arrives.
	fmt.Fprintf(stdout, "demo: %d simulated vehicles polled every %s on Smartcar API %s; the simulator's clock runs %gx (%s per poll), so they drive, charge and refuel as you watch.\n",
		*n, *every, *api, *timeScale, (time.Duration(*timeScale * float64(*every))).Round(time.Second))
	if *api == config.APIV3 {
		fmt.Fprintln(stdout, "demo: each poll is one GET /signals with the application token on behalf of the vehicle's user; connectivity and the raw code transmission-gearstate are API v3 only.")
	}
	fmt.Fprintf(stdout, "demo: every %s one vehicle is answered 429 RATE_LIMIT:VEHICLE with Retry-After %s: its status turns rate_limited, it is not polled until then, and a (resumed) line follows. Ctrl-C to stop.\n",
		demoThrottleEvery**every, demoRetryAfter**every)
	age := "Smartcar's oemUpdatedAt"
	if *api == config.APIV2 {
		age = "Smartcar's SC-Data-Age"
	}
	fmt.Fprintf(stdout, "demo: RECEIVED is when an event arrived; DATA AGE is how old the vehicle's data was then (%s).\n", age)
	p := &printer{w: stdout, maxData: 110, resumes: true}
	sub, err := app.NATS().Subscribe(cfg.NATS.SubjectPrefix+".vehicles.>", func(m *nats.Msg) { p.print(m.Data) })
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer sub.Unsubscribe()

	// Connect every simulated user the way a real user is connected: spend
	// the refresh token, discover the user and the vehicles (and on API v2
	// store the new pair; v3 needs none). Tag each vehicle with its
	// powertrain so the schedules above pick their signals.
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
		access, err := app.Auth().ExchangeRefreshToken(ctx, grant.RefreshToken)
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
		v, err := app.Registry().GetVehicle(ctx, id)
		if err != nil {
			return err
		}
		v.Tags = []string{kinds[id]}
		if err := app.Registry().PutVehicle(ctx, v); err != nil {
			return err
		}
	}
	p.mu.Lock()
	fmt.Fprintf(stdout, "demo: %d simulated vehicles connected:", len(ids))
	for _, id := range ids {
		fmt.Fprintf(stdout, " %s %s", strings.ToUpper(kinds[id]), id)
	}
	fmt.Fprintln(stdout)
	p.mu.Unlock()

	tctx, stopThrottle := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { throttle(tctx, sim, ids, *every, *api) })
	err = app.Run(ctx)
	stopThrottle()
	wg.Wait()

	st := sim.Stats()
	p.mu.Lock()
	fmt.Fprintf(stdout, "demo: the simulator answered %d calls: %d with 429 and a Retry-After (%d of them injected), %d made inside a Retry-After window.\n",
		st.Requests, st.VehicleRateLimited+st.FaultsInjected, st.FaultsInjected, st.RetryAfterViolations)
	if *api == config.APIV3 {
		fmt.Fprintf(stdout, "demo: application tokens issued: %d; billed calls: %d; v3 calls without sc-user-id: %d.\n",
			st.AppTokens, st.BilledCalls, st.MissingUserID)
	}
	p.mu.Unlock()
	return err
}

// demoSchedules are the demo's schedules: where the vehicles are every
// interval, their energy every other (by powertrain tag).
func demoSchedules(api string, every time.Duration) []config.Schedule {
	drive := []string{"odometer", "location", "lock_status"}
	if api == config.APIV3 {
		drive = append(drive, "connectivity", "transmission-gearstate") // API v3 only
	}
	return []config.Schedule{{
		Name:     "drive",
		Cron:     fmt.Sprintf("@every %s", every),
		Signals:  drive,
		Vehicles: config.Vehicles{All: true},
		Emit:     config.EmitAlways,
	}, {
		Name:     "electric",
		Cron:     fmt.Sprintf("@every %s", 2*every),
		Signals:  []string{"battery", "charge"},
		Vehicles: config.Vehicles{Tags: []string{"bev", "phev"}},
		Emit:     config.EmitOnChange,
	}, {
		Name:     "fuel",
		Cron:     fmt.Sprintf("@every %s", 2*every),
		Signals:  []string{"fuel"},
		Vehicles: config.Vehicles{Tags: []string{"ice", "phev"}},
		Emit:     config.EmitOnChange,
	}}
}

// demoCallsPerMinute bounds the Smartcar calls of the demo's schedules: at
// most two calls (a batch, or a /signals) per vehicle per poll interval (the
// drive schedule every interval, the electric and fuel schedules every
// other), doubled for the calls that catch up after a Retry-After.
func demoCallsPerMinute(vehicles int, every time.Duration) float64 {
	return 4 * float64(vehicles) * time.Minute.Seconds() / every.Seconds()
}

// demoStart is the simulated time the demo starts at. The simulated vehicles
// live by their local time of day (a commuter in Berlin, an errand runner in
// San Francisco, a delivery van in Tokyo): a Monday 06:00 UTC has all three
// busy or about to be, whenever the demo runs.
var demoStart = time.Date(2026, 6, 1, 6, 0, 0, 0, time.UTC)

// demoSimOptions are the simulator of the demo. Smartcar advises about 20
// calls per vehicle per hour, and the simulator's default vehicle bucket (10,
// one more every 3 minutes) enforces that: the demo's fast schedules would
// drain it in half a minute and then wait minutes on every vehicle. So the
// bucket is refilled four times per poll interval, twice what the schedules
// use, and the application bucket likewise holds demoCallsPerMinute; the
// limits still apply, they are just not what the demo is about.
func demoSimOptions(vehicles int, every time.Duration, timeScale float64) []smartcartest.Option {
	perMinute := demoCallsPerMinute(vehicles, every)
	return []smartcartest.Option{
		smartcartest.WithVehicles(vehicles),
		smartcartest.WithSeed(1),
		smartcartest.WithTimeScale(timeScale),
		smartcartest.WithStartTime(demoStart),
		smartcartest.WithVehicleRateLimit(smartcartest.DefaultVehicleBurst, every/4),
		smartcartest.WithAppRateLimit(max(smartcartest.DefaultAppBurst, int(perMinute)), perMinute),
		// The vehicles live on the fast clock; the application token lives
		// its real hour, as Smartcar's does.
		smartcartest.WithAppTokenLifetime(time.Duration(timeScale * float64(smartcartest.DefaultAppTokenLifetime))),
	}
}

// throttle makes the simulator answer one vehicle's next call (a batch, or
// on v3 a /signals) with 429 RATE_LIMIT:VEHICLE and a Retry-After of
// demoRetryAfter intervals, first after demoThrottleFirst intervals and then
// every demoThrottleEvery, taking the vehicles in turn, until ctx ends. The
// fault opens the vehicle's Retry-After window in the simulator, which
// counts any call made inside it.
func throttle(ctx context.Context, sim *smartcartest.Server, ids []string, every time.Duration, api string) {
	if len(ids) == 0 {
		return
	}
	path := "/v3/vehicles/x/signals"
	if api == config.APIV2 {
		path = "/batch"
	}
	t := time.NewTimer(demoThrottleFirst * every)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sim.SetFault(ids[i%len(ids)], path, smartcartest.Fault{
			Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: demoRetryAfter * every, Times: 1,
		})
		t.Reset(demoThrottleEvery * every)
	}
}
