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
	fmt.Fprintf(stdout, "%s: ok\n\n", args[1])
	return config.FormatProjections(stdout, cfg.Projections(), cfg.Smartcar.MonthlyQuota)
}
