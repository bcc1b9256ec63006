package main

import (
	"context"
	"fmt"
	"io"

	"github.com/smartcar-poller/smartcar-poller/config"
)

func cmdConfig(_ context.Context, args []string, stdout, _ io.Writer) error {
	if len(args) != 2 || args[0] != "validate" {
		return fmt.Errorf("%w: config validate FILE", errUsage)
	}
	cfg, err := config.Load(args[1])
	if err != nil {
		return err
	}
	if _, err := cfg.TokenKey(); err != nil { // what `run` would refuse
		return fmt.Errorf("%s: %w", args[1], err)
	}
	fmt.Fprintf(stdout, "%s: ok\n\n", args[1])
	return config.FormatProjections(stdout, cfg.Projections(), cfg.Smartcar.MonthlyQuota)
}
