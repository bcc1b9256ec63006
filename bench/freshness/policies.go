package main

import (
	"context"
	"errors"
	"time"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/worker"
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

// Adaptive polls as the daemon's worker decides (worker.Plan and
// worker.Webhook, on package adaptive's policy), keeping each vehicle's
// plan state encoded, as the registry does. With webhooks, every EV's
// charge signals come by webhook too.
func Adaptive(name string, cfg adaptive.Config, webhooks []string) Policy {
	return Policy{Name: name, Webhooks: webhooks, New: func(w *World) (Step, Hook, error) {
		p, err := adaptive.New(cfg)
		if err != nil {
			return nil, nil, err
		}
		reg := map[string][]byte{}
		step := func(ctx context.Context, id string, now time.Time) time.Time {
			sig, err := w.App.Vehicle(id, w.User).Signals(ctx)
			r := worker.PollResult{Err: err, Calls: 1}
			switch {
			case err == nil:
				r.Signals = sig.Items
			case quotaExhausted(err):
				r.Calls = 0 // a 430 is not billed
			}
			state, due, _ := worker.Plan(p, reg[id], r, now)
			reg[id] = state
			return due
		}
		hook := func(ev *smartcar.WebhookEvent, now time.Time) (time.Time, bool) {
			if ev.Type != smartcar.WebhookVehicleState {
				return time.Time{}, false
			}
			state, due := worker.Webhook(p, reg[ev.Vehicle.ID], adaptive.FromSignals(ev.Signals, now))
			reg[ev.Vehicle.ID] = state
			return due, true
		}
		return step, hook, nil
	}}
}
