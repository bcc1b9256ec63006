package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/internal/daemon"
)

const configUsage = "config validate [--strict] FILE"

// cmdConfig runs "config validate [--strict] FILE": the file's problems, then
// what run would refuse before connecting anywhere (daemon.Check, with run's
// messages), then what its schedules cost each vehicle; a schedule over
// smartcar.monthly_quota is a WARNING on stderr, and an error with --strict.
func cmdConfig(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if helpRequested(args) {
		return &helpError{name: "config"}
	}
	if len(args) == 0 || args[0] != "validate" {
		return fmt.Errorf("%w: %s", errUsage, configUsage)
	}
	fs := flag.NewFlagSet("config validate", flag.ContinueOnError)
	strict := fs.Bool("strict", false, "fail when the schedules go over smartcar.monthly_quota")
	// The flag may come before or after FILE.
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	path := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[min(1, fs.NArg()):]); err != nil {
		return err
	}
	if path == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: %s", errUsage, configUsage)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if err := daemon.Check(cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n\n", path)
	ps := cfg.Projections()
	if err := config.FormatProjections(stdout, ps, cfg.Smartcar.MonthlyQuota); err != nil {
		return err
	}
	warnings := config.QuotaWarnings(ps, cfg.Smartcar.MonthlyQuota)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "WARNING: %s\n", w)
	}
	if *strict && len(warnings) > 0 {
		return fmt.Errorf("%s: over smartcar.monthly_quota (--strict)", path)
	}
	return nil
}
