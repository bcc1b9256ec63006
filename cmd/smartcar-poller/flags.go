package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// commandHelp is what --help prints for a Command: its synopsis and purpose.
type commandHelp struct{ synopsis, about string }

// commands are every command and subcommand with a --help.
var commands = map[string]commandHelp{
	"demo": {"demo [flags]",
		"Runs the whole pipeline with zero configuration: an embedded NATS server, the embedded token store,\n" +
			"the Smartcar simulator with a few vehicles connected, and every event printed as it arrives."},
	"run": {"run --config FILE",
		"Runs the daemon: schedules, workers and the HTTP endpoints. SIGTERM stops scheduling, finishes or\n" +
			"hands back the jobs in flight and drains NATS. With the embedded NATS server (empty nats.url) one\n" +
			"daemon runs per data_dir; with the embedded token store (empty redis.url) one replica runs per NATS."},
	"connect": {"connect --config FILE (--code CODE | --refresh-token TOKEN) [--tags a,b]",
		"Registers the vehicles of a grant (from a Connect code or a refresh token) for polling, with their\n" +
			"Smartcar user id. On API v2 (smartcar.api: v2) it stores the new token pair to poll with; on v3 it\n" +
			"keeps none: v3 polls with the application token. With the embedded NATS server it goes through\n" +
			"the running daemon's server, if one runs."},
	"vehicles": {"vehicles (list | remove) --config FILE",
		"Lists or removes the registered vehicles. Needs no Smartcar credentials."},
	"vehicles list": {"vehicles list --config FILE",
		"Lists the vehicles: grant, Smartcar user id, tags, status, last poll (written every 5 s by the\n" +
			"daemon) and hold. Needs no Smartcar credentials."},
	"vehicles remove": {"vehicles remove --config FILE ID",
		"Removes a vehicle from polling. Needs no Smartcar credentials."},
	"webhooks": {"webhooks (subscribe | list) --config FILE --webhook ID",
		"Manages the registered vehicles' subscriptions to a Smartcar webhook through the Management API v3,\n" +
			"with the application's client credentials."},
	"webhooks subscribe": {"webhooks subscribe --config FILE --webhook ID [--vehicles id1,id2] [--batch N]",
		"Subscribes registered vehicles to the webhook: those given, or every registered vehicle not\n" +
			"disconnected. Vehicles already subscribed are left out; the others go in requests of --batch\n" +
			"vehicles (Smartcar answers 202 and applies them shortly). Prints what each request did; exits 1 if\n" +
			"any failed. Origins: SMARTCAR_IAM_ORIGIN, SMARTCAR_MANAGEMENT_API_V3_ORIGIN."},
	"webhooks list": {"webhooks list --config FILE --webhook ID",
		"Lists the webhook's subscriptions with each vehicle's registry status, and counts the registered\n" +
			"vehicles it does not have."},
	"tail": {"tail --config FILE [--vehicle ID] [--signal NAME]",
		"Prints the events as the daemon publishes them. With the embedded NATS server it connects to the\n" +
			"running daemon's server. Needs no Smartcar credentials."},
	"config": {"config validate [--strict] FILE",
		"Checks a configuration file."},
	"config validate": {"config validate [--strict] FILE",
		"Checks FILE as run would (the problems as file:line: key: problem, and what run would refuse before\n" +
			"connecting: missing credentials, keys and files) and prints the projected requests per vehicle."},
	"migrate": {"migrate v3 --config FILE [--dry-run]",
		"Prepares the registry for API v3."},
	"migrate v3": {"migrate v3 --config FILE [--dry-run]",
		"Fills in the Smartcar user id of every registered vehicle that has none (connected before user ids\n" +
			"were kept), from the application's connections (GET /v3/connections: not billed), and lists the\n" +
			"vehicles it could not match: API v3 cannot poll those until they are connected again. Safe while\n" +
			"daemons run (they look a missing user id up themselves on a vehicle's first v3 poll)."},
	"tokens": {"tokens rotate-key --config FILE",
		"Manages the stored token pairs."},
	"tokens rotate-key": {"tokens rotate-key --config FILE",
		"Re-encrypts every stored grant with the current key of tokens.encryption_key_*, reading older ones\n" +
			"with tokens.previous_key_*. Safe while daemons run. Needs no Smartcar credentials."},
}

// helpError asks run to print a command's help to stdout and exit 0.
type helpError struct {
	name string
	fs   *flag.FlagSet // nil for a command with subcommands
}

func (e *helpError) Error() string { return "help requested for " + e.name }

// print writes the command's synopsis, purpose and flags.
func (e *helpError) print(w io.Writer) {
	h := commands[e.name]
	fmt.Fprintf(w, "Usage: smartcar-poller %s\n\n%s\n", h.synopsis, h.about)
	if e.fs == nil {
		fmt.Fprintln(w, "\nCommands:")
		for _, name := range slices.Sorted(maps.Keys(commands)) {
			if strings.HasPrefix(name, e.name+" ") {
				fmt.Fprintf(w, "  smartcar-poller %s\n", commands[name].synopsis)
			}
		}
		return
	}
	has := false
	e.fs.VisitAll(func(*flag.Flag) { has = true })
	if has {
		fmt.Fprintln(w, "\nFlags:")
		e.fs.SetOutput(w)
		e.fs.PrintDefaults()
		e.fs.SetOutput(io.Discard)
	}
}

// helpRequested reports whether args asks for help (-h, -help, --help) as
// its first argument, for commands with subcommands.
func helpRequested(args []string) bool {
	return len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help")
}

// parseFlags parses a command's flags. It prints nothing: -h or --help gives
// a *helpError (run prints the usage to stdout and exits 0), any other
// problem an errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return &helpError{name: fs.Name(), fs: fs}
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
