package main

import (
	"container/heap"
	"context"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Step polls one vehicle at now and returns when it is due next: the
// worker's part of a poll, the one function a policy swaps. The run records
// what the poll showed from the traffic itself, whatever Step does.
type Step func(ctx context.Context, vehicleID string, now time.Time) time.Time

// Hook takes in a webhook delivery at now and returns its vehicle's new due
// time, or false to keep the one it has.
type Hook func(ev *smartcar.WebhookEvent, now time.Time) (time.Time, bool)

// Policy is a way to decide polls, run against a world of its own.
type Policy struct {
	Name string
	// Webhooks subscribes every EV to these signals, delivered when one of
	// them changes (nil: no webhooks).
	Webhooks []string
	// New makes the policy's Step (and Hook, with webhooks) for world w.
	New func(w *World) (Step, Hook, error)
}

// RunConfig is the world and the time a run covers.
type RunConfig struct {
	Vehicles int
	Seed     int64
	Start    time.Time
	Days     int
	Quota    int
	// HookEvery is how often (simulated) the simulator looks for webhook
	// deliveries.
	HookEvery time.Duration
	// Warmup is how long the policy runs before Start, unmeasured: what it
	// learned of each vehicle by then carries into the measured days.
	Warmup time.Duration
}

// webhookTriggers are the charge signals whose change sends a webhook.
var webhookTriggers = []string{"charge-ischarging", "charge-ischargingcableconnected"}

// Run runs pol for the configured days and measures it.
func Run(ctx context.Context, cfg RunConfig, pol Policy) (*Result, error) {
	began := time.Now()
	begin := cfg.Start.Add(-cfg.Warmup)
	wc := WorldConfig{Vehicles: cfg.Vehicles, Seed: cfg.Seed, Start: begin, Quota: cfg.Quota}
	if pol.Webhooks != nil {
		wc.WebhookSignals, wc.WebhookTriggers = pol.Webhooks, webhookTriggers
	}
	w, err := NewWorld(ctx, wc)
	if err != nil {
		return nil, err
	}
	defer w.Close()
	step, hook, err := pol.New(w)
	if err != nil {
		return nil, err
	}
	end := cfg.Start.AddDate(0, 0, cfg.Days)
	q := &queue{}
	index := map[string]int{}
	for i, id := range w.IDs {
		index[id] = i
		// The first polls spread over half an hour.
		q.push(i, begin.Add(time.Duration(i)*30*time.Minute/time.Duration(len(w.IDs))))
	}
	rescheduled := func(evs []*smartcar.WebhookEvent, now time.Time) {
		for _, ev := range evs {
			if i, ok := index[ev.Vehicle.ID]; ok && hook != nil {
				if due, ok := hook(ev, now); ok {
					q.update(i, later(due, now))
				}
			}
		}
	}
	rescheduled(w.Initial, begin)
	nextCheck := begin.Add(cfg.HookEvery)
	for q.Len() > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t := q.items[0].due
		if pol.Webhooks != nil && !nextCheck.After(t) {
			if !nextCheck.Before(end) {
				break
			}
			w.Clock.Set(nextCheck)
			evs, err := w.CheckWebhooks(ctx)
			if err != nil {
				return nil, fmt.Errorf("webhooks at %v: %w", nextCheck, err)
			}
			rescheduled(evs, nextCheck)
			nextCheck = nextCheck.Add(cfg.HookEvery)
			continue
		}
		if !t.Before(end) {
			break
		}
		w.Clock.Set(t)
		i := q.items[0].vehicle
		due := step(ctx, w.IDs[i], t)
		q.update(i, later(due, t.Add(time.Second)))
	}
	res := measure(w, pol.Name, cfg.Start, end)
	res.Elapsed = time.Since(began)
	return res, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// queue is a priority queue of vehicles by due time.
type queue struct {
	items []queued
	pos   map[int]int // vehicle → index in items
}

type queued struct {
	vehicle int
	due     time.Time
}

func (q *queue) Len() int { return len(q.items) }
func (q *queue) Less(i, j int) bool {
	if q.items[i].due.Equal(q.items[j].due) {
		return q.items[i].vehicle < q.items[j].vehicle
	}
	return q.items[i].due.Before(q.items[j].due)
}
func (q *queue) Swap(i, j int) {
	q.items[i], q.items[j] = q.items[j], q.items[i]
	q.pos[q.items[i].vehicle], q.pos[q.items[j].vehicle] = i, j
}
func (q *queue) Push(x any) {
	it := x.(queued)
	q.pos[it.vehicle] = len(q.items)
	q.items = append(q.items, it)
}
func (q *queue) Pop() any {
	it := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	delete(q.pos, it.vehicle)
	return it
}

func (q *queue) push(vehicle int, due time.Time) {
	if q.pos == nil {
		q.pos = map[int]int{}
	}
	heap.Push(q, queued{vehicle, due})
}

// update moves vehicle to due.
func (q *queue) update(vehicle int, due time.Time) {
	i := q.pos[vehicle]
	q.items[i].due = due
	heap.Fix(q, i)
}
