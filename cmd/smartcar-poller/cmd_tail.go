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
)

func cmdTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var vehicle, signal string
	// tail only reads NATS: no Smartcar credentials.
	cfg, _, err := loadConfig("tail", args, func(fs *flag.FlagSet) {
		fs.StringVar(&vehicle, "vehicle", "", "only this vehicle id")
		fs.StringVar(&signal, "signal", "", "only this signal (odometer, location, status, ...)")
	}, config.SkipCredentials())
	if err != nil {
		return err
	}
	filter, err := events.SubjectFilter(cfg.NATS.SubjectPrefix, vehicle, events.Signal(signal))
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	url, gone := cfg.NATS.URL, "nats connection closed"
	opts, err := natsSecurityOptions(cfg.NATS)
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

// printer writes one line per event: time, vehicle, signal and data.
type printer struct {
	mu      sync.Mutex
	w       io.Writer
	maxData int // longer data is cut (0: never)
}

func (p *printer) print(raw []byte) {
	var ev events.Event
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := json.Unmarshal(raw, &ev); err != nil {
		fmt.Fprintf(p.w, "(undecodable event: %v)\n", err)
		return
	}
	at := "-"
	if !ev.Time.IsZero() {
		at = ev.Time.Local().Format(time.TimeOnly)
	}
	sig := ev.Type
	if s, ok := events.SignalFromType(ev.Type); ok {
		sig = string(s)
	}
	data := string(ev.Data)
	if p.maxData > 0 && len(data) > p.maxData {
		data = data[:p.maxData] + "…"
	}
	fmt.Fprintf(p.w, "%s  %-36s  %-16s %s\n", at, ev.Subject, sig, data)
}
