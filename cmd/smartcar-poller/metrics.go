package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/inbox"
	"github.com/smartcar-poller/smartcar-poller/internal/daemon"
	"github.com/smartcar-poller/smartcar-poller/onboard"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// namespace starts every metric name of the daemon.
const namespace = "smartcar_poller"

// Buckets of the histograms. Smartcar calls may take up to its 300 s
// request limit (a vehicle being woken up); data may be days old when a car
// has been parked with its telematics off.
var (
	callBuckets    = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	dataAgeBuckets = []float64{1, 10, 30, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 24 * 3600, 7 * 24 * 3600}
	waitBuckets    = []float64{0.001, 0.01, 0.1, 0.5, 1, 5, 10, 30, 60}
)

// observer is the worker's Observer: it feeds the histograms and the
// freshness tracker. The series of the scheduled paths (outcome "ok" for the
// calls) are made up front, so a poll finds its series in a read-only map
// instead of the vector's locked one.
type observer struct {
	callSeconds *prometheus.HistogramVec // path, outcome
	callOK      map[string]prometheus.Observer
	dataAge     *prometheus.HistogramVec // path
	dataAgeOf   map[string]prometheus.Observer
	limiterWait prometheus.Histogram
	fresh       *freshness
	burn        burn            // billed calls this month, for budget_burn_rate
	known       map[string]bool // paths that may be a label; others are "other"
}

var _ worker.Observer = (*observer)(nil)

func newObserver(cfg *config.Config) *observer {
	o := &observer{
		callSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "smartcar_call_duration_seconds",
			Help:    "Duration of Smartcar calls: an API v2 batch under each path it asked for, by the path's outcome; an API v3 /signals call under /signals.",
			Buckets: callBuckets,
		}, []string{"path", "outcome"}),
		dataAge: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "data_age_seconds",
			Help:    "Age of the data a poll returned when it was fetched (v2: SC-Fetched-At minus SC-Data-Age; v3: retrievedAt minus oemUpdatedAt), by path (v3: the signal's v2 path, else its name, signals for generic ones).",
			Buckets: dataAgeBuckets,
		}, []string{"path"}),
		limiterWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "limiter_wait_seconds",
			Help:    "Time spent waiting on the app-level rate limiter before a Smartcar call.",
			Buckets: waitBuckets,
		}),
		callOK:    map[string]prometheus.Observer{},
		dataAgeOf: map[string]prometheus.Observer{},
		known:     map[string]bool{},
		fresh:     newFreshness(forgetAfter(cfg)),
	}
	// Labels: v2 paths; on v3 the /signals call, and the data of the
	// signals without a v2 path under their name (generic signal events
	// under "signals").
	for _, p := range config.KnownPaths {
		o.known[p] = true
	}
	for _, k := range config.KnownSignals {
		if len(k.Paths) == 0 {
			o.known[k.Name] = true
		}
	}
	o.known[worker.PathSignals] = true
	o.known[genericLabel] = true
	for _, s := range daemon.Schedules(cfg) {
		calls, ages := s.Paths, s.Paths
		if len(s.Signals) > 0 {
			calls, ages = []string{worker.PathSignals}, dataAgeLabels(s.Signals)
		}
		for _, p := range calls {
			o.callOK[p] = o.callSeconds.WithLabelValues(p, worker.OutcomeOK)
		}
		for _, p := range ages {
			o.dataAgeOf[p] = o.dataAge.WithLabelValues(p)
		}
	}
	return o
}

// dataAgeLabels are the data age labels of a v3 job's signals: a daemon
// signal's first v2 path, else its name; genericLabel for raw codes; every
// one of them for all.
func dataAgeLabels(signals []string) []string {
	var out []string
	add := func(l string) {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	for _, name := range signals {
		for _, k := range config.KnownSignals {
			if (name == k.Name || name == config.SignalAll) && k.V3 {
				if len(k.Paths) > 0 {
					add(k.Paths[0])
				} else {
					add(k.Name)
				}
			}
		}
		if config.IsSignalCode(name) || name == config.SignalAll {
			add(genericLabel)
		}
	}
	return out
}

// genericLabel is the path label of the data age of generic signal events
// (their keys are signals/<code>).
const genericLabel = "signals"

// forgetAfter is how long a vehicle not polled stays in the freshness gauge:
// a day, or three periods of the slowest schedule if that is longer.
func forgetAfter(cfg *config.Config) time.Duration {
	d := 24 * time.Hour
	for _, p := range cfg.Projections() {
		if p.FiringsPerMonth > 0 {
			d = max(d, time.Duration(3*float64(30*24*time.Hour)/p.FiringsPerMonth))
		}
	}
	return d
}

func (o *observer) label(path string) string {
	if o.known[path] {
		return path
	}
	if strings.HasPrefix(path, genericLabel+"/") {
		return genericLabel
	}
	return "other"
}

func (o *observer) ObserveCall(path string, d time.Duration, outcome string) {
	if outcome == worker.OutcomeOK {
		if h, ok := o.callOK[path]; ok {
			h.Observe(d.Seconds())
			return
		}
	}
	o.callSeconds.WithLabelValues(o.label(path), outcome).Observe(d.Seconds())
}

func (o *observer) ObserveDataAge(path string, age time.Duration) {
	if h, ok := o.dataAgeOf[path]; ok {
		h.Observe(age.Seconds())
		return
	}
	o.dataAge.WithLabelValues(o.label(path)).Observe(age.Seconds())
}

func (o *observer) ObserveNewestData(vehicleID string, recorded time.Time) {
	o.fresh.observe(vehicleID, recorded, time.Now())
}

func (o *observer) ObserveBilled(vehicleID string, at time.Time, monthTotal int) {
	o.burn.observe(vehicleID, at, monthTotal)
}

func (o *observer) ObserveLimiterWait(d time.Duration, _ bool) { o.limiterWait.Observe(d.Seconds()) }

// metricsHandler serves the Prometheus metrics: the observer's histograms,
// and the parts' counters read at scrape time.
func (a *App) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		a.metrics.callSeconds, a.metrics.dataAge, a.metrics.limiterWait,
		newStatsCollector(a),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// scrape is what one scrape reads from the parts.
type scrape struct {
	w        worker.Snapshot
	q        queue.Stats
	depth    queue.Depth
	depthErr error
	t        credentials.RefreshStats
	o        onboard.Stats
	ib       inbox.Stats // zero when webhooks are disabled
	ibDepth  inbox.Depth
	ibErr    error
	sc       scheduler.Snapshot
	oldest   time.Duration
	tracked  int
}

// metric is one series of the stats collector.
type metric struct {
	desc   *prometheus.Desc
	typ    prometheus.ValueType
	value  func(*scrape) float64
	labels []string
}

// statsCollector turns one read of every part's counters per scrape into
// metrics.
type statsCollector struct {
	a       *App
	metrics []metric
}

func newStatsCollector(a *App) *statsCollector {
	c := &statsCollector{a: a}
	descs := map[string]*prometheus.Desc{}
	add := func(typ prometheus.ValueType, name, help string, value func(*scrape) float64, labels ...string) {
		var keys []string
		for i := 0; i < len(labels); i += 2 {
			keys = append(keys, labels[i])
		}
		d, ok := descs[name]
		if !ok {
			d = prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, keys, nil)
			descs[name] = d
		}
		var values []string
		for i := 1; i < len(labels); i += 2 {
			values = append(values, labels[i])
		}
		c.metrics = append(c.metrics, metric{desc: d, typ: typ, value: value, labels: values})
	}
	counter := func(name, help string, value func(*scrape) float64, labels ...string) {
		add(prometheus.CounterValue, name, help, value, labels...)
	}
	gauge := func(name, help string, value func(*scrape) float64, labels ...string) {
		add(prometheus.GaugeValue, name, help, value, labels...)
	}
	f := func(n int64) float64 { return float64(n) }
	u := func(n uint64) float64 { return float64(n) }

	// Polls and Smartcar calls (worker).
	const polls = "Poll jobs handled, by outcome."
	counter("polls_total", polls, func(s *scrape) float64 { return f(s.w.OK) }, "outcome", "ok")
	counter("polls_total", polls, func(s *scrape) float64 { return f(s.w.Snoozed) }, "outcome", "snoozed")
	counter("polls_total", polls, func(s *scrape) float64 { return f(s.w.Dropped) }, "outcome", "dropped")
	counter("polls_total", polls, func(s *scrape) float64 { return f(s.w.Failed) }, "outcome", "failed")
	counter("smartcar_calls_total", "Calls to Smartcar polling a vehicle (API v2 batch, API v3 /signals).", func(s *scrape) float64 { return f(s.w.Calls) })
	counter("smartcar_call_seconds_total", "Time spent in Smartcar calls polling a vehicle.", func(s *scrape) float64 { return s.w.CallTime.Seconds() })
	counter("user_lookups_total", "Smartcar user ids API v3 jobs looked up from the vehicle's connection.", func(s *scrape) float64 { return f(s.w.UserLookups) })
	counter("events_published_total", "Events published by the workers.", func(s *scrape) float64 { return f(s.w.Events) })
	counter("events_unchanged_total", "Values not emitted because they did not change (emit: on_change).", func(s *scrape) float64 { return f(s.w.Unchanged) })
	counter("billed_calls_total", "Billed Smartcar calls (API v3: one per /signals call; API v2: one per path of a batch), every schedule.",
		func(s *scrape) float64 { return f(s.w.Billed) })
	counter("holds_total", "Retry-After holds set on vehicles.", func(s *scrape) float64 { return f(s.w.Holds) })
	gauge("holds_active", "Vehicles under a Retry-After hold this replica set and that is not over (sum over replicas).", func(s *scrape) float64 { return float64(s.w.HoldsActive) })
	counter("followup_jobs_total", "Follow-up jobs enqueued for paths to retry.", func(s *scrape) float64 { return f(s.w.FollowUps) })
	counter("lease_busy_total", "Jobs snoozed because another replica held the vehicle's poll lease.", func(s *scrape) float64 { return f(s.w.LeaseBusy) })
	counter("limiter_denied_total", "Waits on the rate limiter that gave no slot soon enough (the job was snoozed).", func(s *scrape) float64 { return f(s.w.LimiterDenied) })

	// Data freshness.
	gauge("data_newest_age_max_seconds", "Over the vehicles this replica polled, the largest age of a vehicle's newest data (0 with none; min over replicas bounds the fleet's).",
		func(s *scrape) float64 { return s.oldest.Seconds() })
	gauge("data_tracked_vehicles", "Vehicles in data_newest_age_max_seconds.", func(s *scrape) float64 { return float64(s.tracked) })

	// Queue: the backlog all replicas share (-1: it could not be read), and this replica's consumer.
	depth := func(v func(queue.Depth) float64) func(*scrape) float64 {
		return func(s *scrape) float64 {
			if s.depthErr != nil {
				return -1
			}
			return v(s.depth)
		}
	}
	gauge("queue_pending_jobs", "Jobs waiting in the work queue, not yet delivered (-1: unreadable).", depth(func(d queue.Depth) float64 { return float64(d.Pending) }))
	gauge("queue_ack_pending_jobs", "Jobs delivered and not yet acknowledged, snoozed ones included (-1: unreadable).", depth(func(d queue.Depth) float64 { return float64(d.AckPending) }))
	gauge("queue_redelivered_jobs", "Jobs not yet acknowledged that were delivered more than once (-1: unreadable).", depth(func(d queue.Depth) float64 { return float64(d.Redelivered) }))
	gauge("queue_waiting_pulls", "Pull requests of all replicas waiting for jobs (-1: unreadable).", depth(func(d queue.Depth) float64 { return float64(d.Waiting) }))
	gauge("queue_consumer_running", "1 while this replica pulls jobs from the queue.", func(s *scrape) float64 {
		if s.q.Consuming {
			return 1
		}
		return 0
	})
	counter("queue_deliveries_total", "Jobs this replica's consumer handed to a worker.", func(s *scrape) float64 { return u(s.q.Deliveries) })
	counter("queue_redeliveries_total", "Deliveries of jobs delivered before (snoozes, retries, hand-backs, ack timeouts).", func(s *scrape) float64 { return u(s.q.Redeliveries) })
	counter("queue_pull_errors_total", "Pulls of jobs that failed.", func(s *scrape) float64 { return u(s.q.PullErrors) })

	// Scheduler firings.
	counter("firings_total", "Schedule firings started on this replica.", func(s *scrape) float64 { return f(s.sc.Firings) })
	counter("firing_retries_total", "Vehicle lists or job enqueues of a firing tried again after a failure (Redis loading, NATS down).", func(s *scrape) float64 { return f(s.sc.FiringRetries) })
	counter("firings_abandoned_total", "Firings that still had jobs not enqueued when the next tick (or the retry limit) came.", func(s *scrape) float64 { return f(s.sc.FiringsAbandoned) })
	counter("firing_jobs_abandoned_total", "Jobs those firings did not enqueue (their vehicles miss the tick).", func(s *scrape) float64 { return f(s.sc.JobsAbandoned) })

	// Token refreshes.
	const refreshes = "Token refreshes that called Smartcar, by outcome."
	counter("token_refreshes_total", refreshes, func(s *scrape) float64 { return u(s.t.OK) }, "outcome", "ok")
	counter("token_refreshes_total", refreshes, func(s *scrape) float64 { return u(s.t.Recovered) }, "outcome", "recovered")
	counter("token_refreshes_total", refreshes, func(s *scrape) float64 { return u(s.t.InvalidGrant) }, "outcome", "invalid_grant")
	counter("token_refreshes_total", refreshes, func(s *scrape) float64 { return u(s.t.Failed) }, "outcome", "error")
	counter("token_refreshes_total", refreshes, func(s *scrape) float64 { return u(s.t.StoreFailed) }, "outcome", "store_failed")
	counter("token_refresh_superseded_total", "Refreshed pairs not stored because another writer changed the grant first.", func(s *scrape) float64 { return u(s.t.Superseded) })

	// Connect and webhooks (zero when they are disabled).
	const callbacks, deliveries = "Smartcar Connect callbacks, by outcome.", "Webhook deliveries, by signature check."
	counter("connect_callbacks_total", callbacks, func(s *scrape) float64 { return u(s.o.Connected) }, "outcome", "ok")
	counter("connect_callbacks_total", callbacks, func(s *scrape) float64 { return u(s.o.ConnectErrors) }, "outcome", "error")
	counter("webhook_deliveries_total", deliveries, func(s *scrape) float64 { return u(s.o.Webhooks) }, "outcome", "verified")
	counter("webhook_deliveries_total", deliveries, func(s *scrape) float64 { return u(s.o.BadSignatures) }, "outcome", "bad_signature")
	counter("webhook_duplicates_total", "Webhook deliveries whose eventId was seen before.", func(s *scrape) float64 { return u(s.o.Duplicates) })
	counter("webhook_events_published_total", "Events published from webhooks.", func(s *scrape) float64 { return u(s.o.EventsPublished) })
	counter("webhook_rejected_signals_total", "Webhook signals not published: an error in place of a body, or a body refused (malformed, out of range).", func(s *scrape) float64 { return u(s.o.RejectedSignals) })
	counter("webhook_unknown_vehicles_total", "Webhook deliveries about vehicles not registered (ignored).", func(s *scrape) float64 { return u(s.o.UnknownVehicles) })
	counter("webhook_accepted_total", "Webhook deliveries stored in the inbox and answered.", func(s *scrape) float64 { return u(s.o.Accepted) })
	counter("webhook_unavailable_total", "Webhook deliveries answered 503: the marks or the inbox failed (Smartcar retries them).", func(s *scrape) float64 { return u(s.o.Unavailable) })
	counter("webhook_processed_total", "Stored webhook deliveries processed by this replica.", func(s *scrape) float64 { return u(s.o.Processed) })
	counter("webhook_processing_failures_total", "Attempts to process a stored webhook delivery that failed (each retried after a backoff).", func(s *scrape) float64 { return u(s.ib.Failures) })
	counter("webhook_stale_events_total", "Webhook events left out: the vehicle's latest state of their signal was newer (a delivery out of order).", func(s *scrape) float64 { return u(s.o.StaleEvents) })
	counter("webhook_status_changes_total", "Vehicle statuses set by VEHICLE_ERROR webhooks, or set back to connected by their RESOLVED.", func(s *scrape) float64 { return u(s.o.StatusChanges) })
	gauge("webhook_inbox_deliveries", "Webhook deliveries answered and not yet processed, all replicas (-1: unreadable).", func(s *scrape) float64 {
		if s.ibErr != nil {
			return -1
		}
		return float64(s.ibDepth.Pending) + float64(s.ibDepth.InProgress)
	})

	// The configured budget: requests per vehicle and month.
	cfg := a.cfg
	gauge("monthly_quota_requests", "smartcar.monthly_quota: the plan's requests per vehicle per month (0: unknown).",
		func(*scrape) float64 { return float64(cfg.Smartcar.MonthlyQuota) })
	budget := fleetBudget(cfg)
	gauge("budget_burn_rate", "Billed calls this month of the vehicles this replica polled, over their budget pro rata of the month elapsed (1: on course to spend it by the month's end).",
		func(*scrape) float64 { return a.metrics.burn.rate(time.Now(), budget) })
	for _, p := range cfg.Projections() {
		gauge("projected_monthly_requests", "Requests per month a schedule makes for each vehicle it selects (firings x paths over 30 days).",
			func(*scrape) float64 { return p.RequestsPerVehiclePerMonth }, "schedule", p.Schedule)
	}
	return c
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	seen := map[*prometheus.Desc]bool{}
	for _, m := range c.metrics {
		if !seen[m.desc] {
			seen[m.desc] = true
			ch <- m.desc
		}
	}
}

// depthTimeout bounds the read of the queue's backlog in a scrape.
const depthTimeout = 2 * time.Second

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	s := &scrape{w: a.Worker().Stats().Snapshot(), q: a.Queue().Stats(), t: a.Tokens().Stats(), sc: a.Scheduler().Stats().Snapshot()}
	if a.Onboarding() != nil {
		s.o = a.Onboarding().Stats()
	}
	s.oldest, s.tracked = a.metrics.fresh.oldest(time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), depthTimeout)
	s.depth, s.depthErr = a.Queue().Depth(ctx)
	if a.Inbox() != nil {
		s.ib = a.Inbox().Stats()
		s.ibDepth, s.ibErr = a.Inbox().Depth(ctx)
	}
	cancel()
	for _, m := range c.metrics {
		ch <- prometheus.MustNewConstMetric(m.desc, m.typ, m.value(s), m.labels...)
	}
}
