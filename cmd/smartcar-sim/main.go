// Command smartcar-sim runs the Smartcar simulator of package smartcartest
// as a standalone server, so the daemon or any other Smartcar client can be
// pointed at it. On start it prints the credentials and the origins as shell
// export lines, with one ready-made refresh token per simulated user; the
// origins come in one block per kind of client, because the official SDKs
// read the same variables differently (-sdk picks the block that is
// exported). It stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "smartcar-sim:", err)
		}
		os.Exit(2)
	}
}

// run starts the simulator with the flags in args, prints its settings to
// stdout, logs to stderr and serves until ctx ends.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("smartcar-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		addr         = fs.String("addr", "127.0.0.1:7080", "listen address")
		vehicles     = fs.Int("vehicles", smartcartest.DefaultVehicles, "number of vehicles (BEV, ICE, PHEV, ...)")
		users        = fs.Int("users", 1, "number of users the vehicles are dealt out to")
		seed         = fs.Int64("seed", 1, "seed for ids, credentials and vehicle journeys")
		latency      = fs.Duration("latency", 0, "delay added to every API and token response")
		accessTTL    = fs.Duration("access-ttl", smartcartest.DefaultAccessTokenLifetime, "access token lifetime")
		refreshGrace = fs.Duration("refresh-grace", smartcartest.DefaultRefreshGrace, "how long a spent refresh token keeps working")
		appBurst     = fs.Int("app-burst", smartcartest.DefaultAppBurst, "application token bucket size (0 = off)")
		appPerMinute = fs.Float64("app-per-minute", smartcartest.DefaultAppPerMinute, "application bucket refill per minute")
		vehBurst     = fs.Int("vehicle-burst", smartcartest.DefaultVehicleBurst, "per-vehicle bucket size (0 = off)")
		vehEvery     = fs.Duration("vehicle-every", smartcartest.DefaultVehicleEvery, "per-vehicle bucket refill interval")
		noLimits     = fs.Bool("no-limits", false, "switch off every rate limit and the quota")
		quota        = fs.Int("quota", 0, "billed requests per vehicle per month (0 = no quota)")
		timeScale    = fs.Float64("time-scale", 1, "simulated seconds per real second")
		redirectURI  = fs.String("redirect-uri", smartcartest.DefaultRedirectURI, "the application's registered redirect URI")
		logLevel     = fs.String("log-level", "info", "debug, info, warn or error")
		sdk          = fs.String("sdk", "go", "whose origin variables to export: go (smartcar-poller), node or python; the others are printed as comments")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("parse -log-level: %w", err)
	}
	switch {
	case *vehicles < 0:
		return fmt.Errorf("-vehicles must not be negative")
	case *users < 1:
		return fmt.Errorf("-users must be at least 1")
	case *timeScale <= 0:
		return fmt.Errorf("-time-scale must be positive")
	case *accessTTL <= 0:
		return fmt.Errorf("-access-ttl must be positive")
	case !slices.Contains(sdks, *sdk):
		return fmt.Errorf("-sdk must be one of %s, got %q", strings.Join(sdks, ", "), *sdk)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	opts := []smartcartest.Option{
		smartcartest.WithAddr(*addr),
		smartcartest.WithVehicles(*vehicles),
		smartcartest.WithUsers(*users),
		smartcartest.WithSeed(*seed),
		smartcartest.WithLatency(*latency),
		smartcartest.WithAccessTokenLifetime(*accessTTL),
		smartcartest.WithRefreshGrace(*refreshGrace),
		smartcartest.WithAppRateLimit(*appBurst, *appPerMinute),
		smartcartest.WithVehicleRateLimit(*vehBurst, *vehEvery),
		smartcartest.WithMonthlyQuota(*quota),
		smartcartest.WithTimeScale(*timeScale),
		smartcartest.WithRedirectURI(*redirectURI),
		smartcartest.WithLogger(logger),
	}
	if *noLimits {
		opts = append(opts, smartcartest.WithoutLimits())
	}
	s, err := smartcartest.Start(opts...)
	if err != nil {
		return fmt.Errorf("start simulator: %w", err)
	}
	defer s.Close()
	if err := printSettings(stdout, s, *sdk); err != nil {
		return fmt.Errorf("print settings: %w", err)
	}
	<-ctx.Done()
	logger.Info("shutting down")
	return nil
}

// sdks are the values of -sdk.
var sdks = []string{"go", "node", "python"}

// envVar is one exported variable.
type envVar struct{ name, value string }

// originBlock is the origin variables of the clients named by sdks.
type originBlock struct {
	label string
	sdks  []string
	vars  []envVar
}

// originBlocks are the origin variables each kind of client reads. Every
// origin is the simulator's URL; what differs is the name and the shape of
// the value. This project's Go client and the Node SDK take bare origins and
// append /oauth/token themselves; the Python SDK reads SMARTCAR_AUTH_ORIGIN
// as the full token URL (given a bare origin it posts to the root and gets
// RESOURCE_NOT_FOUND:PATH) and names the v3 vehicle API
// SMARTCAR_VEHICLE_API_V3_ORIGIN.
func originBlocks(url string) []originBlock {
	return []originBlock{{
		label: "Origins for smartcar-poller's Go client (package smartcar) and the Node SDK: bare origins",
		sdks:  []string{"go", "node"},
		vars: []envVar{
			{"SMARTCAR_API_ORIGIN", url},
			{"SMARTCAR_AUTH_ORIGIN", url},
			{"SMARTCAR_CONNECT_ORIGIN", url},
			{"SMARTCAR_MANAGEMENT_API_ORIGIN", url},
			{"SMARTCAR_IAM_ORIGIN", url},
			{"SMARTCAR_API_V3_ORIGIN", url},
			{"SMARTCAR_MANAGEMENT_API_V3_ORIGIN", url},
		},
	}, {
		label: "Origins for the Python SDK, which reads SMARTCAR_AUTH_ORIGIN as the full token URL",
		sdks:  []string{"python"},
		vars: []envVar{
			{"SMARTCAR_API_ORIGIN", url},
			{"SMARTCAR_AUTH_ORIGIN", url + "/oauth/token"},
			{"SMARTCAR_CONNECT_ORIGIN", url},
			{"SMARTCAR_MANAGEMENT_API_ORIGIN", url},
			{"SMARTCAR_IAM_ORIGIN", url},
			{"SMARTCAR_VEHICLE_API_V3_ORIGIN", url},
			{"SMARTCAR_MANAGEMENT_API_V3_ORIGIN", url},
		},
	}}
}

// printSettings writes the credentials, one refresh token per user and the
// origins as lines a shell can source: the origin block for sdk is
// exported, the others are commented out (a variable has one value per
// shell, and the SDKs disagree about SMARTCAR_AUTH_ORIGIN).
func printSettings(w io.Writer, s *smartcartest.Server, sdk string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Smartcar simulator on %s (admin API under %s/admin/)\n", s.URL, s.URL)
	b.WriteString("#\n# Credentials, for every client\n")
	fmt.Fprintf(&b, "export SMARTCAR_CLIENT_ID=%s\n", s.ClientID)
	fmt.Fprintf(&b, "export SMARTCAR_CLIENT_SECRET=%s\n", s.ClientSecret)
	fmt.Fprintf(&b, "export SMARTCAR_REDIRECT_URI=%s\n", s.RedirectURI)
	fmt.Fprintf(&b, "export SMARTCAR_AMT=%s\n", s.ManagementToken)
	vehicles := s.Vehicles()
	for i, user := range s.Users() {
		tok, _ := s.ConnectUser(user, nil, nil)
		fmt.Fprintf(&b, "# user %d %s\n", i+1, user)
		for _, v := range vehicles {
			if v.UserID == user {
				fmt.Fprintf(&b, "#   vehicle %s %s %s %s %d VIN %s\n", v.ID, v.Kind, v.Make, v.Model, v.Year, v.VIN)
			}
		}
		fmt.Fprintf(&b, "export SMARTCAR_REFRESH_TOKEN_%d=%s\n", i+1, tok.RefreshToken)
	}
	for _, block := range originBlocks(s.URL) {
		prefix := "export "
		fmt.Fprintf(&b, "#\n# %s", block.label)
		if !slices.Contains(block.sdks, sdk) {
			prefix = "# export "
			fmt.Fprintf(&b, " (-sdk %s exports these)", block.sdks[0])
		}
		b.WriteString("\n")
		for _, v := range block.vars {
			fmt.Fprintf(&b, "%s%s=%s\n", prefix, v.name, v.value)
		}
	}
	b.WriteString("# ready\n")
	_, err := io.WriteString(w, b.String())
	return err
}
