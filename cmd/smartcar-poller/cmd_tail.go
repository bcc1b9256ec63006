package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/smartcar-poller/smartcar-poller/events"
)

func cmdTail(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var vehicle, signal string
	cfg, _, err := loadConfig("tail", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&vehicle, "vehicle", "", "only this vehicle id")
		fs.StringVar(&signal, "signal", "", "only this signal (odometer, location, status, ...)")
	})
	if err != nil {
		return err
	}
	if cfg.NATS.URL == "" {
		return fmt.Errorf("%w: tail needs nats.url (the embedded server lives inside the daemon)", errUsage)
	}
	filter, err := events.SubjectFilter(cfg.NATS.SubjectPrefix, vehicle, events.Signal(signal))
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	secOpts, err := natsSecurityOptions(cfg.NATS)
	if err != nil {
		return err
	}
	nc, err := nats.Connect(cfg.NATS.URL, append(secOpts, nats.Name("smartcar-poller tail"))...)
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
	<-ctx.Done()
	return nil
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
