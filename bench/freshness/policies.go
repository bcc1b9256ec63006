package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// nextMonth is the start of the billing month after t's.
func nextMonth(t time.Time) time.Time {
	u := t.UTC()
	return time.Date(u.Year(), u.Month()+1, 1, 0, 0, 0, 0, time.UTC)
}

// quotaExhausted reports a 430.
func quotaExhausted(err error) bool {
	var e *smartcar.Error
	return errors.As(err, &e) && e.QuotaExhausted()
}

// Fixed polls every vehicle every interval, as a cron schedule does; a 430
// parks the vehicle until the next billing month, as the daemon does.
func Fixed(name string, every time.Duration) Policy {
	return Policy{Name: name, New: func(w *World) (Step, Hook, error) {
		return func(ctx context.Context, id string, now time.Time) time.Time {
			if _, err := w.App.Vehicle(id, w.User).Signals(ctx); quotaExhausted(err) {
				return nextMonth(now)
			}
			return now.Add(every)
		}, nil, nil
	}}
}

// Adaptive polls as package adaptive decides, keeping each vehicle's
// record encoded, as the registry will. With webhooks, every EV's charge
// signals come by webhook too.
func Adaptive(name string, cfg adaptive.Config, webhooks []string) Policy {
	return Policy{Name: name, Webhooks: webhooks, New: func(w *World) (Step, Hook, error) {
		p, err := adaptive.New(cfg)
		if err != nil {
			return nil, nil, err
		}
		reg := map[string][]byte{}
		load := func(id string) *adaptive.Vehicle {
			v := &adaptive.Vehicle{}
			if b := reg[id]; b != nil {
				if err := v.UnmarshalBinary(b); err != nil {
					panic(fmt.Sprintf("decode vehicle %s: %v", id, err)) // our own encoding: a bug
				}
			}
			return v
		}
		store := func(id string, v *adaptive.Vehicle) {
			b, _ := v.MarshalBinary() // cannot fail
			reg[id] = b
		}
		step := func(ctx context.Context, id string, now time.Time) time.Time {
			v := load(id)
			defer store(id, v)
			sig, err := w.App.Vehicle(id, w.User).Signals(ctx)
			switch {
			case err == nil:
				return p.Polled(v, adaptive.FromSignals(sig.Items, now), 1)
			case quotaExhausted(err):
				return p.QuotaExhausted(v, now)
			}
			if o, ok := adaptive.FromError(err, now); ok {
				return p.Polled(v, o, 1)
			}
			return now.Add(5 * time.Minute) // the worker's retry
		}
		hook := func(ev *smartcar.WebhookEvent, now time.Time) (time.Time, bool) {
			if ev.Type != smartcar.WebhookVehicleState {
				return time.Time{}, false
			}
			v := load(ev.Vehicle.ID)
			defer store(ev.Vehicle.ID, v)
			return p.Webhook(v, adaptive.FromSignals(ev.Signals, now)), true
		}
		return step, hook, nil
	}}
}
