package main

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smartcar-poller/smartcar-poller/worker"
)

// metricsHandler serves Prometheus metrics read from the parts' counters at
// scrape time.
func (a *App) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	snap := func() worker.Snapshot { return a.worker.Stats().Snapshot() }
	counter := func(name, help string, f func() float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "smartcar_poller", Name: name, Help: help}, f))
	}
	for outcome, f := range map[string]func(worker.Snapshot) int64{
		"ok":      func(s worker.Snapshot) int64 { return s.OK },
		"snoozed": func(s worker.Snapshot) int64 { return s.Snoozed },
		"dropped": func(s worker.Snapshot) int64 { return s.Dropped },
		"failed":  func(s worker.Snapshot) int64 { return s.Failed },
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: "smartcar_poller", Name: "polls_total", Help: "Poll jobs handled, by outcome.",
			ConstLabels: prometheus.Labels{"outcome": outcome},
		}, func() float64 { return float64(f(snap())) }))
	}
	counter("smartcar_calls_total", "Calls to the Smartcar batch endpoint.", func() float64 { return float64(snap().Calls) })
	counter("smartcar_call_seconds_total", "Time spent in Smartcar batch calls.", func() float64 { return snap().CallTime.Seconds() })
	counter("events_published_total", "Events published by the workers.", func() float64 { return float64(snap().Events) })
	counter("events_unchanged_total", "Values not emitted because they did not change (emit: on_change).", func() float64 { return float64(snap().Unchanged) })
	counter("holds_total", "Retry-After holds set on vehicles.", func() float64 { return float64(snap().Holds) })
	counter("followup_jobs_total", "Follow-up jobs enqueued for paths to retry.", func() float64 { return float64(snap().FollowUps) })
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "smartcar_poller", Name: "queue_pending_jobs", Help: "Jobs waiting in the work queue.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		d, err := a.queue.Depth(ctx)
		if err != nil {
			return -1
		}
		return float64(d.Pending)
	}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
