package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Tokens hands out the access token of a v2 grant (*credentials.Manager).
// An error wrapping credentials.ErrReauthRequired means the user must
// reconnect.
type Tokens interface {
	AccessToken(ctx context.Context, grantID string) (string, error)
	// ForceRefresh refreshes after Smartcar rejected the given access token.
	ForceRefresh(ctx context.Context, grantID, rejected string) (string, error)
}

// API is the part of Smartcar API v2 the worker calls (*smartcar.Client).
type API interface {
	Batch(ctx context.Context, accessToken, vehicleID string, paths []string) (*smartcar.BatchResponse, error)
}

// SignalsAPI is the part of Smartcar API v3 the worker calls, as the
// application (one application token per process, renewed by the client):
// cmd adapts *smartcar.AppClient to it.
type SignalsAPI interface {
	// Signals returns every signal of the vehicle (all pages of GET
	// /v3/vehicles/{id}/signals) on behalf of userID (sent as sc-user-id).
	Signals(ctx context.Context, vehicleID, userID string) (*smartcar.Signals, error)
	// UserOf returns the Smartcar user id of the vehicle's connection to
	// the application (GET /v3/connections?filter[vehicleId]=, not billed),
	// or an error wrapping ErrNoConnection when it has none.
	UserOf(ctx context.Context, vehicleID string) (string, error)
}

// ErrNoConnection is what SignalsAPI.UserOf wraps when the application has
// no connection to the vehicle (its user revoked it).
var ErrNoConnection = errors.New("no connection to the vehicle")

// Latest returns a vehicle's latest event of a signal, or an error wrapping
// events.ErrNotFound when there is none (*events.Publisher): an API v3 job
// completes a signal the vehicle returned only part of from it (see package
// normalize).
type Latest interface {
	Get(ctx context.Context, vehicleID string, s events.Signal) (events.Event, error)
}

// Registry holds what replicas share about a vehicle (a registry.Store,
// every backend of which implements all of it): its poll lease, taken with
// the vehicle's Retry-After hold and registry entry (StartPoll: see
// registry.Store for the errors), the hold, the status and when it was
// last polled.
type Registry interface {
	StartPoll(ctx context.Context, vehicleID string, ttl time.Duration) (registry.PollStart, error)
	SetHold(ctx context.Context, vehicleID string, until time.Time) error
	SetStatus(ctx context.Context, vehicleID string, status events.Status, reason string) error
	TouchPoll(ctx context.Context, vehicleID string, at time.Time) error
	// SetUserID keeps the Smartcar user id an API v3 job looked up.
	SetUserID(ctx context.Context, vehicleID, userID string) error
}

// Publisher publishes events (deduplicated by event id).
type Publisher interface {
	Publish(ctx context.Context, evs ...events.Event) error
}

// ChangeDetector tells whether an event differs from the latest one of its
// vehicle and signal (for emit: on_change).
type ChangeDetector interface {
	Changed(ctx context.Context, ev events.Event) (bool, error)
}

// Enqueuer puts follow-up jobs (the paths that must be retried) on the queue.
type Enqueuer interface {
	Enqueue(ctx context.Context, jobs ...queue.PollJob) (queue.EnqueueResult, error)
}

// Limiter is the app-level rate limiter; *rate.Limiter and limiter.Chain
// satisfy it. When Wait fails with an error that has a Delay() time.Duration
// method (the next slot is too far away), the job is snoozed for that long.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Deps are the worker's collaborators. Registry, Publisher, Enqueuer and
// Limiter are required; so are Tokens and API for API v2 jobs (a job with
// paths) and V3 for API v3 jobs (a job with signals): a job whose API is
// not wired is dropped. Latest is optional (without it a v3 signal returned
// in part is published as generic signal events), Changes too (without it
// every schedule behaves as emit: always), and Observer (metrics beyond
// Stats).
type Deps struct {
	Tokens    Tokens
	API       API
	V3        SignalsAPI
	Latest    Latest
	Registry  Registry
	Publisher Publisher
	Changes   ChangeDetector
	Enqueuer  Enqueuer
	Limiter   Limiter
	Observer  Observer
	// Plans, optional, counts every job's billed calls and keeps adaptive
	// schedules' plans (Config.Policies).
	Plans Plans
}

// Config tunes the worker. Zero fields take defaults.
type Config struct {
	// UnitSystem is the unit system the API client requests; events are
	// always metric. Default metric.
	UnitSystem smartcar.UnitSystem
	// MaxAttempts bounds how often a job (or a follow-up of it) is tried
	// before its paths are reported as failed: each failed delivery and
	// each follow-up is a try; a snooze (a Retry-After hold, a busy lease,
	// the rate limiter) is none. Default 10.
	MaxAttempts int
	// MaxSnooze is the longest Retry-After hold a job waits for; a job for a
	// vehicle held longer is dropped (its tick is skipped). Default 30m.
	MaxSnooze time.Duration
	// AppBackoff is the first pause after RATE_LIMIT:SMARTCAR_API; it doubles
	// on each consecutive one, up to AppBackoffMax. Defaults 30s and 10m.
	AppBackoff, AppBackoffMax time.Duration
	// LeaseTTL is the expiry of a vehicle's poll lease (Registry.StartPoll), which
	// bounds how long a crashed replica keeps the vehicle from being polled.
	// A poll's calls are cancelled at 90% of it, so it must exceed the
	// Smartcar call timeout. Default 1m.
	LeaseTTL time.Duration
	// LeaseBusy is the shortest snooze of a job whose vehicle another
	// replica is polling; jitter of up to as much again is added. Default 1s.
	LeaseBusy time.Duration
	// Source is the CloudEvents source attribute. Default "smartcar-poller".
	Source string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Policies are the adaptive schedules' policies by schedule name: after
	// an adaptive job's poll the worker sets the vehicle's next due time
	// with Plan (it needs Deps.Plans).
	Policies map[string]*adaptive.Policy
}

func (c Config) withDefaults() Config {
	c.UnitSystem = cmp.Or(c.UnitSystem, smartcar.Metric)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, 10)
	c.MaxSnooze = cmp.Or(c.MaxSnooze, 30*time.Minute)
	c.AppBackoff = cmp.Or(c.AppBackoff, 30*time.Second)
	c.AppBackoffMax = cmp.Or(c.AppBackoffMax, 10*time.Minute)
	c.LeaseTTL = cmp.Or(c.LeaseTTL, time.Minute)
	c.LeaseBusy = cmp.Or(c.LeaseBusy, time.Second)
	c.Source = cmp.Or(c.Source, "smartcar-poller")
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Worker handles poll jobs. It is safe for concurrent use.
type Worker struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	st   *Stats

	vehicles vehicleLocks

	mu        sync.Mutex
	appPause  time.Time                  // no Smartcar call before this (RATE_LIMIT:SMARTCAR_API)
	appPauses backoff.ExponentialBackOff // their lengths, reset by a successful call
}

// New returns a Worker; it fails when a required dependency is missing.
func New(cfg Config, logger *slog.Logger, deps Deps) (*Worker, error) {
	switch {
	case (deps.Tokens == nil) != (deps.API == nil):
		return nil, errors.New("worker: API v2 needs both Tokens and API")
	case deps.API == nil && deps.V3 == nil:
		return nil, errors.New("worker: API (v2) or V3 is required")
	case deps.Registry == nil:
		return nil, errors.New("worker: Registry is required")
	case deps.Publisher == nil:
		return nil, errors.New("worker: Publisher is required")
	case deps.Enqueuer == nil:
		return nil, errors.New("worker: Enqueuer is required")
	case deps.Limiter == nil:
		return nil, errors.New("worker: Limiter is required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LeaseTTL < 0 || cfg.LeaseBusy < 0 {
		return nil, fmt.Errorf("worker: negative lease TTL %v or busy snooze %v", cfg.LeaseTTL, cfg.LeaseBusy)
	}
	if cfg.UnitSystem != "" && cfg.UnitSystem != smartcar.Metric && cfg.UnitSystem != smartcar.Imperial {
		return nil, fmt.Errorf("worker: unknown unit system %q", cfg.UnitSystem)
	}
	cfg = cfg.withDefaults()
	st := newStats(cfg.Now)
	return &Worker{
		cfg: cfg, deps: st.wrap(deps), log: logger.With("component", "worker"), st: st,
		appPauses: backoff.ExponentialBackOff{InitialInterval: cfg.AppBackoff, Multiplier: 2, MaxInterval: cfg.AppBackoffMax},
	}, nil
}

// Stats returns the worker's counters.
func (w *Worker) Stats() *Stats { return w.st }

var (
	errHeld       = errors.New("vehicle under a Retry-After hold")
	errAppLimited = errors.New("application rate limit (RATE_LIMIT:SMARTCAR_API)")
)

// Handle polls one job. Its result steers the queue: nil acks, a
// queue.Snooze redelivers after the hold, queue.Drop discards, any other
// error is retried with the queue's backoff. A panic is recovered and
// returned as a queue.PanicError (the queue logs its stack and counts it);
// the panic that reaches d.MaxPanics reports every path of the job as
// failed (an error event each) and drops it, as a permanent error does.
func (w *Worker) Handle(ctx context.Context, job queue.PollJob, d queue.Delivery) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = w.panicked(ctx, job, d, queue.Recovered(p))
		}
		w.st.observe(err)
	}()
	return w.handle(ctx, job, d)
}

// panicked handles a panic of handle: the queue retries the job until its
// panics reach d.MaxPanics; the last one is reported like a permanent error.
// The description names no panic value: it may hold anything, and events
// leave the process. The queue logs the value and the stack.
func (w *Worker) panicked(ctx context.Context, job queue.PollJob, d queue.Delivery, p *queue.PanicError) error {
	if d.MaxPanics == 0 || d.Panics+1 < d.MaxPanics {
		return p
	}
	e := &smartcar.Error{Type: smartcar.TypeSDK, Code: "PANIC",
		Description: fmt.Sprintf("the poller panicked on this job %d times; see its logs", d.Panics+1)}
	if err := w.publishErrors(ctx, job, e); err != nil {
		return fmt.Errorf("report panic: %w (after %w)", err, p) // the queue terminates it all the same
	}
	return queue.Drop(fmt.Errorf("job panicked %d times: %w", d.Panics+1, p))
}

func (w *Worker) handle(ctx context.Context, job queue.PollJob, d queue.Delivery) error {
	v3 := len(job.Signals) > 0
	switch {
	case job.VehicleID == "" || len(job.Paths) == 0 && !v3:
		return queue.Drop(fmt.Errorf("malformed job %q: no vehicle, or no paths or signals", job.ID))
	case v3 && len(job.Paths) > 0:
		return queue.Drop(fmt.Errorf("malformed job %q: both paths (API v2) and signals (API v3)", job.ID))
	case v3 && w.deps.V3 == nil:
		return queue.Drop(fmt.Errorf("job %q asks API v3 for signals: this worker has no API v3 client", job.ID))
	case !v3 && w.deps.API == nil:
		return queue.Drop(fmt.Errorf("job %q asks API v2 for paths: this worker has no API v2 client", job.ID))
	}
	unlock, err := w.vehicles.lock(ctx, job.VehicleID)
	if err != nil {
		return fmt.Errorf("wait for the vehicle's other poll: %w", err)
	}
	defer unlock()
	pollCtx, start, release, err := w.startPoll(ctx, job.VehicleID)
	if err != nil {
		return err
	}
	defer release()
	var rec pollRecord
	err = w.poll(pollCtx, job, d, start, &rec)
	// The calls were billed even if the lease's time ran out or the worker
	// is stopping: they are counted, and planned, on a context of their own.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	w.afterPoll(actx, job, &rec, start.Hold, err)
	cancel()
	return err
}

// poll polls the job's vehicle, with its lease held, and notes its calls
// in rec.
func (w *Worker) poll(ctx context.Context, job queue.PollJob, d queue.Delivery, start registry.PollStart, rec *pollRecord) error {
	// The lease came with the hold: nobody else can set one until we let go.
	if err := w.heldUntil(start.Hold); err != nil {
		return err
	}
	if err := w.paused(); err != nil {
		return err
	}
	v := start.Vehicle
	if err := v.CheckPollable(); err != nil {
		if errors.Is(err, registry.ErrNeedsReauth) {
			return queue.Drop(w.markStatus(ctx, job, events.StatusNeedsReauth, "grant cannot be refreshed", err))
		}
		// Disabled or disconnected since the job was enqueued.
		return queue.Drop(fmt.Errorf("start poll: %w", err))
	}
	if stale, err := w.staleAdaptive(ctx, job); err != nil {
		return err
	} else if stale {
		return nil
	}
	if len(job.Signals) > 0 {
		return w.pollV3(ctx, job, d, v, rec)
	}
	return w.pollV2(ctx, job, d, v, rec)
}

// pollV2 makes the API v2 batch call of a job for v, with the access token
// of v's grant, and delivers its items.
func (w *Worker) pollV2(ctx context.Context, job queue.PollJob, d queue.Delivery, v registry.Vehicle, rec *pollRecord) error {
	// The limiter first, so the token is fresh when the call goes out.
	if err := w.waitLimiter(ctx); err != nil {
		return err
	}
	tok, err := w.deps.Tokens.AccessToken(ctx, v.GrantID)
	if err != nil {
		switch {
		case errors.Is(err, credentials.ErrReauthRequired):
			return queue.Drop(w.markStatus(ctx, job, events.StatusNeedsReauth, "grant cannot be refreshed", err))
		case errors.Is(err, credentials.ErrNotFound):
			// The vehicle's grant is gone (removed, or never stored).
			return queue.Drop(fmt.Errorf("access token: %w", err))
		}
		return fmt.Errorf("access token: %w", err)
	}
	res, err := w.call(ctx, job, tok, rec)
	if e, ok := smartcar.AsError(err); ok && e.Type == smartcar.TypeAuthentication {
		// The token was rejected: refresh once (only if nobody did yet) and retry.
		tok, err = w.deps.Tokens.ForceRefresh(ctx, v.GrantID, tok)
		if err != nil {
			if errors.Is(err, credentials.ErrReauthRequired) {
				return queue.Drop(w.markStatus(ctx, job, events.StatusNeedsReauth, "grant cannot be refreshed", err))
			}
			return fmt.Errorf("refresh after 401: %w", err)
		}
		if err := w.waitLimiter(ctx); err != nil {
			return err
		}
		res, err = w.call(ctx, job, tok, rec)
	}
	if err != nil {
		return w.callFailed(ctx, job, d, err)
	}
	w.appOK()
	return w.deliver(ctx, job, d, res)
}

// heldUntil returns a Snooze (or a Drop, when too long) while the vehicle
// is under a Retry-After hold until until.
func (w *Worker) heldUntil(until time.Time) error {
	now := w.cfg.Now()
	if wait := until.Sub(now); wait > 0 {
		if wait > w.cfg.MaxSnooze {
			return queue.Drop(fmt.Errorf("%w for %s more (longer than %s): tick skipped", errHeld, wait.Round(time.Second), w.cfg.MaxSnooze))
		}
		return queue.Snooze(wait, errHeld)
	}
	return nil
}

// paused returns a Snooze while calls pause after RATE_LIMIT:SMARTCAR_API.
func (w *Worker) paused() error {
	w.mu.Lock()
	pause := w.appPause.Sub(w.cfg.Now())
	w.mu.Unlock()
	if pause > 0 {
		return queue.Snooze(pause, errAppLimited)
	}
	return nil
}

// waitLimiter waits for the app-level rate limiter. A slot too far away
// snoozes the job rather than holding a worker (and the vehicle's lease).
func (w *Worker) waitLimiter(ctx context.Context) error {
	err := w.deps.Limiter.Wait(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("rate limiter: %w", err)
	}
	d := w.busySnooze()
	var de interface{ Delay() time.Duration }
	if errors.As(err, &de) {
		d = max(d, de.Delay())
	}
	return queue.Snooze(d, fmt.Errorf("rate limiter: %w", err))
}

// call calls Smartcar unless calls pause after RATE_LIMIT:SMARTCAR_API
// (which may have begun while we waited for the limiter). The hold needs no
// second look: with the lease held nobody else can set one.
func (w *Worker) call(ctx context.Context, job queue.PollJob, tok string, rec *pollRecord) (*smartcar.BatchResponse, error) {
	if err := w.paused(); err != nil {
		return nil, err
	}
	start := w.cfg.Now()
	res, err := w.deps.API.Batch(ctx, tok, job.VehicleID, job.Paths)
	w.observeCall(job, start, res, err)
	rec.record(len(job.Paths), nil, err) // a batch bills each path
	return res, err
}

// callFailed decides what a failure of the whole call (a v2 batch, a v3
// /signals) does: a hold for a Retry-After, or until the next billing period
// for a spent monthly quota; a pause for the app's rate limit; needs_reauth
// or disabled for errors an operator or user must fix; a retry for retryable
// ones within max_attempts (on v3 a 401 too: the application client has
// already renewed its token once, and no user can fix it); else an error
// event per path or signal and the job dropped.
func (w *Worker) callFailed(ctx context.Context, job queue.PollJob, d queue.Delivery, err error) error {
	if isSnooze(err) || queue.IsDrop(err) {
		return err
	}
	what := "batch"
	v3 := len(job.Signals) > 0
	if v3 {
		what = "signals"
	}
	e, ok := smartcar.AsError(err)
	if !ok {
		return fmt.Errorf("%s: %w", what, err)
	}
	log := w.log.With("vehicle_id", job.VehicleID, "schedule", job.Schedule, "request_id", e.RequestID)
	switch {
	case e.RetryAfter > 0:
		if err := w.hold(ctx, job, w.cfg.Now().Add(e.RetryAfter), events.StatusRateLimited, fmt.Sprintf("Retry-After %s: %v", e.RetryAfter, e)); err != nil {
			// Other replicas will not see it, but this job still waits it out.
			log.WarnContext(ctx, "Retry-After hold not stored", "retry_after", e.RetryAfter, "err", err)
		}
		return w.waitOut(e.RetryAfter, e)
	case e.QuotaExhausted():
		// Nothing for this vehicle can succeed before the next billing
		// period: hold it until then, and skip this tick.
		until := e.NotBefore(w.cfg.Now())
		if err := w.hold(ctx, job, until, events.StatusQuotaExhausted, fmt.Sprintf("monthly quota spent, no call before %s: %v", until.Format(time.RFC3339), e)); err != nil {
			log.WarnContext(ctx, "quota hold not stored", "until", until, "err", err)
		}
		return queue.Drop(fmt.Errorf("%s: vehicle held until %s: %w", what, until.Format(time.RFC3339), e))
	case e.IsRateLimit() && e.Code != "VEHICLE":
		pause := w.appLimited()
		log.WarnContext(ctx, "application rate limit hit; pausing calls", "pause", pause)
		return queue.Snooze(pause, e)
	case v3 && e.Type == smartcar.TypeAuthentication && tries(job, d) < w.cfg.MaxAttempts:
		return fmt.Errorf("%s: application token refused after a renewal: %w", what, e)
	case v3 && e.Type == smartcar.TypeAuthentication:
	case e.NeedsReauth():
		return queue.Drop(w.markStatus(ctx, job, events.StatusNeedsReauth, e.Type+":"+e.Code, e))
	case disables(e):
		return queue.Drop(w.markStatus(ctx, job, events.StatusDisabled, e.Type+":"+e.Code, e))
	case e.Retryable() && tries(job, d) < w.cfg.MaxAttempts:
		return fmt.Errorf("%s: %w", what, e)
	}
	// Permanent, or out of attempts: report every path as failed.
	if err := w.publishErrors(ctx, job, e); err != nil {
		return err
	}
	return queue.Drop(fmt.Errorf("%s failed for good after %d attempts: %w", what, tries(job, d), e))
}

// publishErrors reports everything the job asked for (its paths, or on v3
// its signals' error paths) as failed with e: an error event each. An event
// that cannot be built drops the job (it never could be); a failed publish
// is returned to be retried.
func (w *Worker) publishErrors(ctx context.Context, job queue.PollJob, e *smartcar.Error) error {
	keys := job.Paths
	if len(job.Signals) > 0 {
		keys = errorPaths(job.Signals)
	}
	evs := make([]events.Event, 0, len(keys))
	for _, p := range keys {
		ev, err := w.errorEvent(job, p, e)
		if err != nil {
			return queue.Drop(err)
		}
		evs = append(evs, ev)
	}
	if err := w.deps.Publisher.Publish(ctx, evs...); err != nil {
		return fmt.Errorf("publish error events: %w", err)
	}
	w.st.events.Add(int64(len(evs)))
	return nil
}

// disables reports whether an error means the vehicle should not be polled
// until an operator acts.
func disables(e *smartcar.Error) bool {
	switch e.Type {
	case smartcar.TypeBilling:
		return !e.QuotaExhausted()
	case smartcar.TypePermission, smartcar.TypeCompatibility:
		return true
	}
	return false
}

// hold keeps every replica off the job's vehicle until until (a Retry-After,
// or a spent monthly quota): the hold every replica reads before it calls
// Smartcar for the vehicle (Registry.SetHold), then a status event st
// (rate_limited, quota_exhausted) with reason. The error is SetHold's:
// without it the hold is not shared. The status event only informs: one
// that cannot be published is logged and skipped, so it costs neither the
// hold nor the job.
func (w *Worker) hold(ctx context.Context, job queue.PollJob, until time.Time, st events.Status, reason string) error {
	if err := w.deps.Registry.SetHold(ctx, job.VehicleID, until); err != nil {
		return fmt.Errorf("set hold: %w", err)
	}
	w.st.holds.Add(1)
	ev, err := w.statusEvent(job, st, reason)
	if err == nil {
		err = w.deps.Publisher.Publish(ctx, ev)
	}
	if err != nil {
		w.log.WarnContext(ctx, "publish status", "status", st, "vehicle_id", job.VehicleID, "err", err)
	}
	return nil
}

// waitOut is the outcome of a job that must wait d for its vehicle: a
// snooze, or a drop (its tick skipped) when d is longer than MaxSnooze.
func (w *Worker) waitOut(d time.Duration, cause error) error {
	if d > w.cfg.MaxSnooze {
		return queue.Drop(fmt.Errorf("%w for %s: tick skipped: %w", errHeld, d, cause))
	}
	return queue.Snooze(d, cause)
}

// markStatus stores a vehicle status and publishes the status event; it
// returns cause (wrapped) for the caller to Drop.
func (w *Worker) markStatus(ctx context.Context, job queue.PollJob, s events.Status, reason string, cause error) error {
	if err := w.deps.Registry.SetStatus(ctx, job.VehicleID, s, reason); err != nil {
		return fmt.Errorf("set status %s: %w (cause: %w)", s, err, cause)
	}
	ev, err := w.statusEvent(job, s, reason)
	if err != nil {
		return err
	}
	if err := w.deps.Publisher.Publish(ctx, ev); err != nil {
		return fmt.Errorf("publish status %s: %w (cause: %w)", s, err, cause)
	}
	w.log.WarnContext(ctx, "vehicle status changed", "vehicle_id", job.VehicleID, "status", s, "reason", reason)
	return fmt.Errorf("vehicle %s: %w", s, cause)
}

// appLimited pauses every call after RATE_LIMIT:SMARTCAR_API and returns
// for how long: AppBackoff, doubled by each one in a row, up to
// AppBackoffMax.
func (w *Worker) appLimited() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	d := min(w.appPauses.NextBackOff(), w.cfg.AppBackoffMax)
	w.appPause = w.cfg.Now().Add(d)
	return d
}

// appOK ends a row of RATE_LIMIT:SMARTCAR_API: the next pause is AppBackoff.
func (w *Worker) appOK() {
	w.mu.Lock()
	w.appPauses.Reset()
	w.mu.Unlock()
}
