package scheduler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/smartcar-poller/smartcar-poller/queue"
)

// Vehicle is a registered vehicle as the scheduler sees it.
type Vehicle struct {
	ID   string
	Tags []string
	// Paused vehicles (needing re-authentication, disabled, disconnected)
	// are skipped.
	Paused bool
	// LastWebhook is when Smartcar last sent a webhook about the vehicle
	// (zero: never); schedules with WebhooksSilentFor use it.
	LastWebhook time.Time
}

// Vehicles is the vehicle registry as the scheduler reads it.
type Vehicles interface {
	// ListVehicles lists the registered vehicles; it is read at every
	// firing of a cron schedule, and every Due.Reseed by a due loop.
	ListVehicles(ctx context.Context) ([]Vehicle, error)
	// Vehicle returns one registered vehicle (its LastWebhook may be left
	// zero), an error wrapping ErrNotFound when it is not registered. A due
	// loop reads a vehicle it claims that the last reading of the list saw
	// paused, to poll it at once when it is no longer paused.
	Vehicle(ctx context.Context, id string) (Vehicle, error)
}

// ErrNotFound is wrapped by Vehicles.Vehicle's error for a vehicle that is
// not registered.
var ErrNotFound = errors.New("vehicle not found")

// Enqueuer puts jobs on the work queue; *queue.Queue implements it.
type Enqueuer interface {
	Enqueue(ctx context.Context, jobs ...queue.PollJob) (queue.EnqueueResult, error)
}

// Config configures a Scheduler.
type Config struct {
	Schedules []Schedule
	// Location interprets cron expressions (default UTC).
	Location *time.Location
	// Now is the clock (default time.Now). cron itself always follows the
	// real clock, so Now must too; tests use testing/synctest.
	Now func() time.Time
	// RetryFor bounds how long after a job was due a firing that failed
	// keeps retrying it (default 5 min, half of queue.DefaultDuplicates).
	// Retries stop at the schedule's next tick in any case. Keep it well
	// below the queue's duplicate window: a copy of the job that another
	// replica enqueued on time must still be there to drop a late retry.
	RetryFor time.Duration
	// Plans is the due index of adaptive schedules; required when a
	// schedule is Adaptive.
	Plans Plans
	// Due tunes the due loops of adaptive schedules.
	Due Due
}

var (
	// ErrUnknownSchedule is returned by Fire for a name no schedule has.
	ErrUnknownSchedule = errors.New("unknown schedule")
	// ErrAbandoned is wrapped by Fire's error when the firing ended with
	// jobs not enqueued (or its vehicles not listed): they still failed when
	// their retries stopped, or failed for good. Fire has logged a warning.
	ErrAbandoned = errors.New("firing abandoned")
)

// Scheduler fires schedules and enqueues their jobs.
type Scheduler struct {
	loc      *time.Location
	now      func() time.Time
	log      *slog.Logger
	vehicles Vehicles
	enq      Enqueuer
	entries  []*entry
	byName   map[string]*entry
	retryFor time.Duration
	stats    *Stats
	plans    Plans
	due      Due
}

// New validates cfg and returns a Scheduler. A schedule with a bad cron
// expression, a duplicate or malformed name, no paths, a negative jitter or
// an empty selector is an error naming the schedule, and so is a negative
// RetryFor. A nil logger discards.
func New(cfg Config, logger *slog.Logger, vehicles Vehicles, enq Enqueuer) (*Scheduler, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if vehicles == nil || enq == nil {
		return nil, errors.New("scheduler: nil vehicles or enqueuer")
	}
	s := &Scheduler{
		loc:      cfg.Location,
		now:      cfg.Now,
		log:      logger.With("component", "scheduler"),
		vehicles: vehicles,
		enq:      enq,
		byName:   make(map[string]*entry, len(cfg.Schedules)),
		retryFor: cmp.Or(cfg.RetryFor, queue.DefaultDuplicates/2),
		stats:    &Stats{},
		plans:    cfg.Plans,
		due:      cfg.Due.withDefaults(),
	}
	if cfg.RetryFor < 0 {
		return nil, fmt.Errorf("scheduler: retry_for %s: want >= 0", cfg.RetryFor)
	}
	if err := cfg.Due.validate(); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, sc := range cfg.Schedules {
		e, err := compile(sc)
		if err != nil {
			return nil, fmt.Errorf("scheduler: %w", err)
		}
		if _, dup := s.byName[sc.Name]; dup {
			return nil, fmt.Errorf("scheduler: schedule %q: duplicate name", sc.Name)
		}
		if sc.Adaptive && cfg.Plans == nil {
			return nil, fmt.Errorf("scheduler: schedule %q: adaptive without a due index (Config.Plans)", sc.Name)
		}
		s.byName[sc.Name] = e
		s.entries = append(s.entries, e)
	}
	return s, nil
}

// Stats returns the scheduler's counters.
func (s *Scheduler) Stats() *Stats { return s.stats }

// Run fires every cron schedule at its cron times until ctx is cancelled,
// with one cron entry per schedule, and runs a due loop per adaptive
// schedule. It returns nil once cron has stopped and every firing and due
// loop it started has returned. Run one Run at a time per Scheduler.
func (s *Scheduler) Run(ctx context.Context) error {
	cl := cronLogger{s.log}
	c := cron.New(
		cron.WithLocation(s.loc),
		cron.WithParser(parser),
		cron.WithLogger(cl),
		cron.WithChain(cron.Recover(cl)),
	)
	// Our cursors start no later than cron's own, so the first activation
	// cron fires is never ahead of them.
	now := s.now().In(s.loc)
	var loops sync.WaitGroup
	for _, e := range s.entries {
		if e.Adaptive {
			loops.Go(func() { s.runDue(ctx, e) })
			continue
		}
		c.Schedule(e.spec, &cronJob{s: s, e: e, ctx: ctx, next: e.spec.Next(now)})
	}
	c.Start()
	s.log.InfoContext(ctx, "scheduler started", "schedules", len(s.entries))
	<-ctx.Done()
	<-c.Stop().Done() // waits for running firings, which stop on ctx
	loops.Wait()
	s.log.Info("scheduler stopped")
	return nil
}

// cronJob is one schedule's cron entry. cron's Job.Run gets no tick, so the
// job keeps its own cursor on the schedule and fires the latest activation
// that is due; activations missed while the process was stalled are folded
// into that one.
type cronJob struct {
	s   *Scheduler
	e   *entry
	ctx context.Context // Run's, the component's own lifecycle

	mu   sync.Mutex
	next time.Time
}

func (j *cronJob) Run() {
	now := j.s.now().In(j.s.loc)
	var tick time.Time
	j.mu.Lock()
	for !j.next.IsZero() && !j.next.After(now) {
		tick, j.next = j.next, j.e.spec.Next(j.next)
	}
	j.mu.Unlock()
	if tick.IsZero() {
		j.s.log.Debug("cron woke before the schedule was due", "schedule", j.e.Name)
		return
	}
	// An abandoned firing has logged its warning already.
	if err := j.s.Fire(j.ctx, j.e.Name, tick); err != nil && j.ctx.Err() == nil && !errors.Is(err, ErrAbandoned) {
		j.s.log.Error("fire schedule", "schedule", j.e.Name, "tick", tick, "err", err)
	}
}

// cronLogger adapts slog to cron.Logger; cron's chatter goes to debug.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, keysAndValues ...any) {
	c.l.Debug("cron "+msg, keysAndValues...)
}

func (c cronLogger) Error(err error, msg string, keysAndValues ...any) {
	c.l.Error("cron "+msg, append(keysAndValues, "err", err)...)
}
