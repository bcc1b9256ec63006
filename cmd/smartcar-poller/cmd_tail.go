package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/daemon"
	"github.com/smartcar-poller/smartcar-poller/internal/datadir"
)

func cmdTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var vehicle, signal string
	// tail only reads NATS: no Smartcar credentials.
	cfg, _, err := loadConfig("tail", args, func(fs *flag.FlagSet) {
		fs.StringVar(&vehicle, "vehicle", "", "only this vehicle id")
		fs.StringVar(&signal, "signal", "", "only this signal (odometer, location, connectivity, status, ...; signal: every generic one), or an API v3 signal code (transmission-gearstate)")
	}, config.SkipCredentials())
	if err != nil {
		return err
	}
	filter, err := tailFilter(cfg.NATS.SubjectPrefix, vehicle, signal)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	url, gone := cfg.NATS.URL, "nats connection closed"
	opts, err := daemon.NATSSecurityOptions(cfg.NATS)
	if err != nil {
		return err
	}
	if url == "" {
		gone = "the daemon on data_dir " + cfg.DataDir + " stopped"
		// The embedded server lives in the daemon: use it. When the daemon
		// stops, its server goes with it and tail stops too.
		if url, opts, err = daemonNATS(cfg.DataDir); err != nil {
			return err
		}
		opts = append(opts, nats.NoReconnect())
	}
	closed := make(chan struct{})
	nc, err := nats.Connect(url, append(opts,
		nats.Name("smartcar-poller tail"),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
	)...)
	if err != nil {
		return fmt.Errorf("connect nats: %w", err)
	}
	defer nc.Close()
	p := &printer{w: stdout}
	sub, err := nc.Subscribe(filter, func(m *nats.Msg) { p.print(m.Data) })
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", filter, err)
	}
	defer sub.Unsubscribe()
	fmt.Fprintf(stderr, "tailing %s (Ctrl-C to stop)\n", filter)
	select {
	case <-ctx.Done():
		return nil
	case <-closed:
		return fmt.Errorf("%s: %w", gone, cmp.Or(nc.LastError(), errors.New("connection closed")))
	}
}

// tailFilter is the subject tail subscribes to: every event of the vehicles
// (vehicle "" is all of them), one signal's, or one API v3 code's generic
// signal events.
func tailFilter(prefix, vehicle, signal string) (string, error) {
	if signal == "" || events.Signal(signal).Valid() {
		return events.SubjectFilter(prefix, vehicle, events.Signal(signal))
	}
	if events.ValidateCode(signal) != nil {
		return "", fmt.Errorf("signal %q: neither a signal nor an API v3 signal code", signal)
	}
	return events.GenericSubjectFilter(prefix, vehicle, signal)
}

// printer writes one line per event under a header row:
//
//	RECEIVED  DATA AGE  VEHICLE  SIGNAL  DATA
//
// RECEIVED is when the event reached this process, so the column only grows.
// DATA AGE is how old the vehicle's data was then: RECEIVED minus the event's
// time, which for data events is Smartcar's SC-Data-Age (a car that has not
// reported for a while shows an old age, not an old line). Status and error
// events have no data age ("-").
type printer struct {
	mu      sync.Mutex
	w       io.Writer
	now     func() time.Time // default time.Now
	maxData int              // longer data is cut (0: never)
	// resumes adds a line when a vehicle that was rate_limited publishes
	// again, saying how long it was held (the demo shows Retry-After so).
	resumes bool
	started bool                 // the header is out
	limited map[string]time.Time // vehicle → when its rate_limited status came
}

// printerHeader names the columns of printer lines.
const printerHeader = "RECEIVED  DATA AGE  VEHICLE                               SIGNAL           DATA"

func (p *printer) print(raw []byte) {
	var ev events.Event
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.now != nil {
		now = p.now()
	}
	if !p.started {
		p.started = true
		fmt.Fprintln(p.w, printerHeader)
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		fmt.Fprintf(p.w, "(undecodable event: %v)\n", err)
		return
	}
	sig := ev.Type
	s, known := events.SignalFromType(ev.Type)
	if known {
		sig = string(s)
	}
	if code, err := ev.Code(); known && s == events.SignalGeneric && err == nil {
		sig = code // the API v3 code of a generic signal event
	}
	age := "-"
	if known && s != events.SignalStatus && s != events.SignalError && !ev.Time.IsZero() {
		age = formatAge(now.Sub(ev.Time))
	}
	if p.resumes {
		p.noteResume(now, ev, s)
	}
	data := string(ev.Data)
	if p.maxData > 0 && len(data) > p.maxData {
		data = data[:p.maxData] + "…"
	}
	fmt.Fprintf(p.w, "%-8s  %-8s  %-36s  %-16s %s\n", now.Local().Format(time.TimeOnly), age, ev.Subject, sig, data)
}

// noteResume tracks rate_limited vehicles and, on the first data or error
// event after one, prints how long the vehicle was held.
func (p *printer) noteResume(now time.Time, ev events.Event, s events.Signal) {
	if s == events.SignalStatus {
		var st events.StatusData
		if json.Unmarshal(ev.Data, &st) == nil && st.Status == events.StatusRateLimited {
			if p.limited == nil {
				p.limited = map[string]time.Time{}
			}
			if _, ok := p.limited[ev.Subject]; !ok {
				p.limited[ev.Subject] = now
			}
		}
		return
	}
	since, ok := p.limited[ev.Subject]
	if !ok {
		return
	}
	delete(p.limited, ev.Subject)
	fmt.Fprintf(p.w, "%-8s  %-8s  %-36s  %-16s polling again, %s after rate_limited\n",
		now.Local().Format(time.TimeOnly), "-", ev.Subject, "(resumed)", formatAge(now.Sub(since)))
}

// formatAge writes d in whole seconds, at most two units: 42s, 1m42s, 3h04m, 2d03h.
func formatAge(d time.Duration) string {
	s := int64(max(d, 0).Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	default:
		return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
	}
}

// errNoDaemon is returned by tail when no daemon runs on the data_dir.
var errNoDaemon = errors.New("no daemon is running")

// daemonNATS finds the NATS server of the daemon running on dir, without
// taking the data_dir lock.
func daemonNATS(dir string) (string, []nats.Option, error) {
	h, held, err := datadir.Probe(dir)
	if err != nil {
		return "", nil, err
	}
	switch {
	case !held:
		return "", nil, fmt.Errorf("%w on data_dir %s: start smartcar-poller run first", errNoDaemon, dir)
	case !h.Reachable():
		return "", nil, fmt.Errorf("%w on data_dir %s: it is in use by %s", errNoDaemon, dir, h)
	}
	return h.NATSURL, []nats.Option{nats.Token(h.NATSToken)}, nil
}
