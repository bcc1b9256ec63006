// Command smartcar-poller keeps connected vehicles' data flowing from the
// Smartcar API to NATS: cron schedules enqueue poll jobs on JetStream,
// workers call Smartcar within its limits and publish normalized CloudEvents.
//
// Usage:
//
//	smartcar-poller demo                          # zero configuration: embedded NATS + simulator, API v3
//	smartcar-poller run --config poller.yaml      # the daemon
//	smartcar-poller connect --code CODE           # or --refresh-token TOKEN [--tags a,b]
//	smartcar-poller vehicles list | remove ID
//	smartcar-poller webhooks subscribe --webhook ID  # or list: subscriptions through the Management API v3
//	smartcar-poller tail [--vehicle ID] [--signal NAME]
//	smartcar-poller config validate [--strict] FILE
//	smartcar-poller tokens rotate-key --config FILE  # re-encrypt grants with the current key
//	smartcar-poller migrate v3 --config FILE        # fill in the vehicles' Smartcar user ids
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// errUsage marks a command-line mistake (exit code 2).
var errUsage = errors.New("usage")

const usage = `smartcar-poller keeps Smartcar vehicle data flowing to NATS.

Usage:
  smartcar-poller demo [--vehicles N] [--duration D]
  smartcar-poller run --config FILE
  smartcar-poller connect --config FILE (--code CODE | --refresh-token TOKEN) [--tags a,b]
  smartcar-poller vehicles list --config FILE
  smartcar-poller vehicles remove --config FILE ID
  smartcar-poller webhooks subscribe --config FILE --webhook ID [--vehicles id1,id2]
  smartcar-poller webhooks list --config FILE --webhook ID
  smartcar-poller tail --config FILE [--vehicle ID] [--signal NAME]
  smartcar-poller config validate [--strict] FILE
  smartcar-poller tokens rotate-key --config FILE
  smartcar-poller migrate v3 --config FILE [--dry-run]

Run "smartcar-poller COMMAND --help" for what a command does and its flags.
`

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "demo":
		err = cmdDemo(ctx, args[1:], stdout, stderr)
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "connect":
		err = cmdConnect(ctx, args[1:], stdout, stderr)
	case "vehicles":
		err = cmdVehicles(ctx, args[1:], stdout, stderr)
	case "webhooks":
		err = cmdWebhooks(ctx, args[1:], stdout, stderr)
	case "tail":
		err = cmdTail(ctx, args[1:], stdout, stderr)
	case "config":
		err = cmdConfig(ctx, args[1:], stdout, stderr)
	case "tokens":
		err = cmdTokens(ctx, args[1:], stdout, stderr)
	case "migrate":
		err = cmdMigrate(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		err = fmt.Errorf("%w: unknown command %q", errUsage, args[0])
	}
	var help *helpError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &help):
		help.print(stdout)
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "smartcar-poller: %v\n\n%s", err, usage)
		return 2
	default:
		fmt.Fprintf(stderr, "smartcar-poller: %v\n", err)
		return 1
	}
}
