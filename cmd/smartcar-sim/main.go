// Command smartcar-sim runs the Smartcar simulator of package smartcartest
// as a standalone server, so the daemon or any other Smartcar client can be
// pointed at it. On start it prints the origins and credentials as shell
// export lines, with one ready-made refresh token per simulated user; it
// stops on SIGINT or SIGTERM.
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
	if err := printSettings(stdout, s); err != nil {
		return fmt.Errorf("print settings: %w", err)
	}
	<-ctx.Done()
	logger.Info("shutting down")
	return nil
}

// printSettings writes the origins, credentials, vehicles and one refresh
// token per user as lines a shell can source.
func printSettings(w io.Writer, s *smartcartest.Server) error {
	var b strings.Builder
	o := s.Origins()
	fmt.Fprintf(&b, "# Smartcar simulator on %s (admin API under %s/admin/)\n", s.URL, s.URL)
	fmt.Fprintf(&b, "export SMARTCAR_API_ORIGIN=%s\n", o.API)
	fmt.Fprintf(&b, "export SMARTCAR_AUTH_ORIGIN=%s\n", o.Auth)
	fmt.Fprintf(&b, "export SMARTCAR_CONNECT_ORIGIN=%s\n", o.Connect)
	fmt.Fprintf(&b, "export SMARTCAR_MANAGEMENT_API_ORIGIN=%s\n", o.Management)
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
	b.WriteString("# ready\n")
	_, err := io.WriteString(w, b.String())
	return err
}
