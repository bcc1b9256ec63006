package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/smartcar-poller/smartcar-poller/config"
)

// cmdConfig runs "config validate FILE": the file's problems, then what run
// would refuse before connecting anywhere (checkRun, with run's messages),
// then the projections.
func cmdConfig(_ context.Context, args []string, stdout, _ io.Writer) error {
	if helpRequested(args) {
		return &helpError{name: "config"}
	}
	if len(args) == 0 || args[0] != "validate" {
		return fmt.Errorf("%w: config validate FILE", errUsage)
	}
	fs := flag.NewFlagSet("config validate", flag.ContinueOnError)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: config validate FILE", errUsage)
	}
	path := fs.Arg(0)
	cfg, err := config.Load(path)
	if err != nil {
		return err
	}
	if err := checkRun(cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok\n\n", path)
	return config.FormatProjections(stdout, cfg.Projections(), cfg.Smartcar.MonthlyQuota)
}
