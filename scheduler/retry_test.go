package scheduler_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

// flaky is a registry whose first fails calls fail.
type flaky struct {
	registry
	mu    sync.Mutex
	fails int
	calls []time.Time
}

func (f *flaky) ListVehicles(ctx context.Context) ([]scheduler.Vehicle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, time.Now())
	if f.fails != 0 {
		f.fails--
		return nil, errBoom
	}
	return f.registry.ListVehicles(ctx)
}

// logEntry is one log record with its attributes.
type logEntry struct {
	at    time.Time
	level slog.Level
	msg   string
	attrs map[string]any
}

// logBook is a slog handler keeping records with their attributes.
type logBook struct {
	mu      *sync.Mutex // shared with the handlers made by WithAttrs
	entries *[]logEntry
	attrs   []slog.Attr
}

func newLogBook() *logBook { return &logBook{mu: new(sync.Mutex), entries: new([]logEntry)} }

func (b *logBook) Enabled(context.Context, slog.Level) bool { return true }
func (b *logBook) Handle(_ context.Context, r slog.Record) error {
	e := logEntry{at: r.Time, level: r.Level, msg: r.Message, attrs: map[string]any{}}
	for _, a := range b.attrs {
		e.attrs[a.Key] = a.Value.Any()
	}
	r.Attrs(func(a slog.Attr) bool { e.attrs[a.Key] = a.Value.Any(); return true })
	b.mu.Lock()
	defer b.mu.Unlock()
	*b.entries = append(*b.entries, e)
	return nil
}
func (b *logBook) WithAttrs(as []slog.Attr) slog.Handler {
	return &logBook{mu: b.mu, entries: b.entries, attrs: append(slices.Clone(b.attrs), as...)}
}
func (b *logBook) WithGroup(string) slog.Handler { return b }

// add appends a record made by the test itself.
func (b *logBook) add(msg string, kv ...any) {
	r := slog.NewRecord(time.Now(), slog.LevelInfo, msg, 0)
	r.Add(kv...)
	_ = b.Handle(context.Background(), r)
}

// index returns the position of the first record for which match is true,
// or -1.
func (b *logBook) index(match func(logEntry) bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.IndexFunc(*b.entries, match)
}

// find returns the records with message msg.
func (b *logBook) find(msg string) []logEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []logEntry
	for _, e := range *b.entries {
		if e.msg == msg {
			out = append(out, e)
		}
	}
	return out
}

func newLoggedScheduler(t *testing.T, cfg scheduler.Config, v scheduler.Vehicles, enq scheduler.Enqueuer) (*scheduler.Scheduler, *logBook) {
	t.Helper()
	logs := newLogBook()
	s, err := scheduler.New(cfg, slog.New(logs), v, enq)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, logs
}

// failJobs makes a recorder refuse the jobs for which bad reports true, as
// the queue does: the others are stored, the error names the refused ones.
func failJobs(bad func(j queue.PollJob) bool) *partialRecorder {
	return &partialRecorder{bad: bad}
}

// partialRecorder is an Enqueuer that stores some jobs of a call and
// returns a *queue.EnqueueError for the rest; it counts how often each job
// was handed to it.
type partialRecorder struct {
	recorder
	bad    func(j queue.PollJob) bool
	handed map[string]int
	calls  []enqueueCall // every call, failed or not
	// book, when set, gets an "enqueue" record per call, in sequence with
	// the scheduler's own records.
	book *logBook
}

func (p *partialRecorder) Enqueue(ctx context.Context, jobs ...queue.PollJob) (queue.EnqueueResult, error) {
	p.mu.Lock()
	if p.handed == nil {
		p.handed = map[string]int{}
	}
	p.calls = append(p.calls, enqueueCall{at: time.Now(), jobs: slices.Clone(jobs)})
	if p.book != nil && len(jobs) > 0 {
		p.book.add("enqueue", "schedule", jobs[0].Schedule, "tick", jobs[0].Tick)
	}
	var ok []queue.PollJob
	var failed []int
	for i, j := range jobs {
		p.handed[j.ID]++
		if p.bad(j) {
			failed = append(failed, i)
		} else {
			ok = append(ok, j)
		}
	}
	p.mu.Unlock()
	var res queue.EnqueueResult
	if len(ok) > 0 {
		res, _ = p.recorder.Enqueue(ctx, ok...)
	}
	if len(failed) > 0 {
		return res, &queue.EnqueueError{Failed: failed, Err: errBoom}
	}
	return res, nil
}

func (p *partialRecorder) handedCount(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.handed[id]
}

var everyMinute = scheduler.Schedule{Name: "m", Cron: "* * * * *", Paths: []string{"/odometer"}, Vehicles: scheduler.Selector{All: true}}

func TestScheduler_Fire_retriesTheVehicleList(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := &flaky{registry: vehicles(20), fails: 3}
		rec := &recorder{}
		s, logs := newLoggedScheduler(t, scheduler.Config{Schedules: []scheduler.Schedule{everyMinute}}, reg, rec)
		tick := time.Now()
		if err := s.Fire(t.Context(), "m", tick); err != nil {
			t.Fatalf("Fire = %v, want nil once the list succeeds", err)
		}
		at := rec.enqueuedAt(t)
		if len(at) != 20 {
			t.Fatalf("%d jobs enqueued, want 20", len(at))
		}
		// Three backoffs of 250 ms, 500 ms and 1 s, each jittered to
		// between half and all of it.
		took := at[queue.JobID("m", "v0000", tick)].Sub(tick)
		if took < 875*time.Millisecond || took > 1750*time.Millisecond {
			t.Errorf("jobs enqueued %s after the tick, want after three backoffs (875 ms to 1.75 s)", took)
		}
		for i := 1; i < len(reg.calls); i++ {
			if gap, floor := reg.calls[i].Sub(reg.calls[i-1]), (125*time.Millisecond)<<(i-1); gap < floor || gap > 2*floor {
				t.Errorf("retry %d came %s after the attempt before, want between %s and %s", i, gap, floor, 2*floor)
			}
		}
		if got := s.Stats().Snapshot(); got.FiringRetries != 3 || got.FiringsAbandoned != 0 || got.Firings != 1 {
			t.Errorf("stats = %+v, want 1 firing, 3 retries, none abandoned", got)
		}
		if w := logs.find("firing failed; retrying"); len(w) != 1 || w[0].level != slog.LevelWarn {
			t.Errorf("logged %d \"firing failed; retrying\" records, want one warning for the firing", len(w))
		}
		if got := logs.find("schedule fired"); len(got) != 1 || got[0].attrs["retries"] != int64(3) {
			t.Errorf("\"schedule fired\" records: %+v, want one with retries=3", got)
		}
	})
}

func TestScheduler_Fire_retriesOnlyTheFailedJobs(t *testing.T) {
	for _, jitter := range []time.Duration{0, 10 * time.Minute} {
		t.Run("jitter="+jitter.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 200
				tick := time.Now()
				// Shorter than RetryFor (5 min), so every refused job gets through.
				outageEnds := tick.Add(jitter/5 + 3*time.Second)
				// Every third vehicle's job is refused until the outage ends:
				// a partial failure inside each call.
				third := map[string]bool{}
				for i, v := range vehicles(n) {
					third[v.ID] = i%3 == 0
				}
				enq := failJobs(func(j queue.PollJob) bool { return third[j.VehicleID] && time.Now().Before(outageEnds) })
				sched := everyMinute
				sched.Cron, sched.Jitter = "@hourly", jitter
				s, _ := newLoggedScheduler(t, scheduler.Config{Schedules: []scheduler.Schedule{sched}}, vehicles(n), enq)
				if err := s.Fire(t.Context(), "m", tick); err != nil {
					t.Fatalf("Fire = %v, want nil", err)
				}
				at := enq.enqueuedAt(t) // fails on a job stored twice
				if len(at) != n {
					t.Fatalf("%d jobs enqueued, want %d", len(at), n)
				}
				for _, v := range vehicles(n) {
					id := queue.JobID("m", v.ID, tick)
					due := tick.Add(scheduler.Offset("m", v.ID, jitter).Truncate(groupWidth(jitter)))
					handed := enq.handedCount(id)
					switch {
					case !third[v.ID] && handed != 1:
						t.Errorf("vehicle %s: job stored at the first try but handed to Enqueue %d times", v.ID, handed)
					case third[v.ID] && due.Before(outageEnds) && handed < 2:
						t.Errorf("vehicle %s: job refused but handed to Enqueue %d times", v.ID, handed)
					}
					// Retried as soon as the outage is over (at most one
					// 10 s backoff), not after the whole spread.
					if third[v.ID] && due.Before(outageEnds) {
						if late := at[id].Sub(outageEnds); late < 0 || late > 10*time.Second {
							t.Errorf("vehicle %s: refused job stored %s after the outage ended, want within 10 s", v.ID, late)
						}
					}
				}
				st := s.Stats().Snapshot()
				if st.FiringRetries == 0 || st.FiringsAbandoned != 0 {
					t.Errorf("stats = %+v, want retries and nothing abandoned", st)
				}
			})
		})
	}
}

// groupWidth mirrors the scheduler's width of one enqueue group.
func groupWidth(jitter time.Duration) time.Duration {
	if jitter == 0 {
		return 1
	}
	return max(min(time.Second, jitter/10), 1)
}

func TestScheduler_Fire_unknownFailuresRetryTheWholeCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		rec := &recorder{fail: func([]queue.PollJob) error {
			calls++
			if calls <= 2 {
				return errBoom // no *queue.EnqueueError: which jobs failed is unknown
			}
			return nil
		}}
		s, _ := newLoggedScheduler(t, scheduler.Config{Schedules: []scheduler.Schedule{everyMinute}}, vehicles(10), rec)
		if err := s.Fire(t.Context(), "m", time.Now()); err != nil {
			t.Fatalf("Fire = %v, want nil", err)
		}
		if c := rec.snapshot(); len(c) != 1 || len(c[0].jobs) != 10 {
			t.Errorf("successful Enqueue calls %+v, want the third with all 10 jobs", c)
		}
		if got := s.Stats().Snapshot().FiringRetries; got != 2 {
			t.Errorf("FiringRetries = %d, want 2", got)
		}
	})
}

func TestScheduler_Fire_givesUpAtTheNextTick(t *testing.T) {
	t.Run("list", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := &flaky{registry: vehicles(5), fails: -1}
			s, logs := newLoggedScheduler(t, scheduler.Config{Schedules: []scheduler.Schedule{everyMinute}}, reg, &recorder{})
			tick := time.Now() // midnight: the next tick is a minute away
			err := s.Fire(t.Context(), "m", tick)
			if !errors.Is(err, scheduler.ErrAbandoned) || !errors.Is(err, errBoom) {
				t.Errorf("Fire = %v, want ErrAbandoned wrapping the list error", err)
			}
			if took := time.Since(tick); took != time.Minute {
				t.Errorf("Fire returned %s after the tick, want at the next tick (1m)", took)
			}
			w := logs.find("firing abandoned: vehicles not listed")
			if len(w) != 1 || w[0].level != slog.LevelWarn || w[0].attrs["schedule"] != "m" || !w[0].attrs["tick"].(time.Time).Equal(tick) {
				t.Fatalf("abandon records %+v, want one warning naming the schedule and tick", w)
			}
			st := s.Stats().Snapshot()
			if st.FiringsAbandoned != 1 || st.FiringRetries < 6 || st.FiringRetries != int64(len(reg.calls)-1) {
				t.Errorf("stats = %+v after %d list calls, want 1 abandoned and every call but the first a retry", st, len(reg.calls))
			}
			// Capped at 10 s: about one call per 5-10 s at the end.
			if last := reg.calls[len(reg.calls)-1]; tick.Add(time.Minute).Sub(last) > 10*time.Second {
				t.Errorf("last retry at %s, want within the last 10 s before the next tick", last.Sub(tick))
			}
		})
	})

	t.Run("jobs", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			enq := failJobs(func(j queue.PollJob) bool { return j.VehicleID >= "v0007" })
			s, logs := newLoggedScheduler(t, scheduler.Config{Schedules: []scheduler.Schedule{everyMinute}}, vehicles(10), enq)
			tick := time.Now()
			err := s.Fire(t.Context(), "m", tick)
			if !errors.Is(err, scheduler.ErrAbandoned) || !errors.Is(err, errBoom) {
				t.Errorf("Fire = %v, want ErrAbandoned wrapping the enqueue error", err)
			}
			if took := time.Since(tick); took != time.Minute {
				t.Errorf("Fire returned %s after the tick, want at the next tick (1m)", took)
			}
			w := logs.find("firing abandoned: jobs not enqueued")
			if len(w) != 1 || w[0].level != slog.LevelWarn || w[0].attrs["not_enqueued"] != int64(3) || w[0].attrs["schedule"] != "m" {
				t.Fatalf("abandon records %+v, want one warning with not_enqueued=3", w)
			}
			if got := len(enq.enqueuedAt(t)); got != 7 {
				t.Errorf("%d jobs enqueued, want the 7 that never failed", got)
			}
			if st := s.Stats().Snapshot(); st.FiringsAbandoned != 1 || st.JobsAbandoned != 3 {
				t.Errorf("stats = %+v, want 1 firing and 3 jobs abandoned", st)
			}
		})
	})

	t.Run("RetryFor before a far tick", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			reg := &flaky{registry: vehicles(5), fails: -1}
			sched := everyMinute
			sched.Cron = "*/30 * * * *"
			s, _ := newLoggedScheduler(t, scheduler.Config{Schedules: []scheduler.Schedule{sched}}, reg, &recorder{})
			tick := time.Now()
			if err := s.Fire(t.Context(), "m", tick); !errors.Is(err, scheduler.ErrAbandoned) {
				t.Errorf("Fire = %v, want ErrAbandoned", err)
			}
			if took := time.Since(tick); took != queue.DefaultDuplicates/2 {
				t.Errorf("Fire gave up %s after the tick, want after RetryFor's default %s", took, queue.DefaultDuplicates/2)
			}
		})
	})

	t.Run("invalid jobs are not retried", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rec := &recorder{fail: func([]queue.PollJob) error { return errInvalid }}
			s, _ := newLoggedScheduler(t, scheduler.Config{Schedules: []scheduler.Schedule{everyMinute}}, vehicles(4), rec)
			tick := time.Now()
			if err := s.Fire(t.Context(), "m", tick); !errors.Is(err, scheduler.ErrAbandoned) || !errors.Is(err, queue.ErrInvalidJob) {
				t.Errorf("Fire = %v, want ErrAbandoned wrapping ErrInvalidJob", err)
			}
			if took := time.Since(tick); took != 0 {
				t.Errorf("Fire returned %s after the tick, want at once", took)
			}
			if st := s.Stats().Snapshot(); st.FiringRetries != 0 || st.JobsAbandoned != 4 {
				t.Errorf("stats = %+v, want no retries and 4 jobs abandoned", st)
			}
		})
	})
}

var errInvalid = errors.Join(queue.ErrInvalidJob, errors.New(`vehicle id "a.b"`))

func TestScheduler_Fire_retriesStopOnCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reg := &flaky{registry: vehicles(5), fails: -1}
		s, logs := newLoggedScheduler(t, scheduler.Config{Schedules: []scheduler.Schedule{everyMinute}}, reg, &recorder{})
		ctx, cancel := context.WithCancel(t.Context())
		tick := time.Now()
		done := make(chan error, 1)
		go func() { done <- s.Fire(ctx, "m", tick) }()
		time.Sleep(20 * time.Second) // mid-backoff
		cancel()
		synctest.Wait()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) || errors.Is(err, scheduler.ErrAbandoned) {
				t.Errorf("Fire = %v, want the context's error, not ErrAbandoned", err)
			}
		default:
			t.Fatal("Fire still retrying after its context was cancelled")
		}
		if st := s.Stats().Snapshot(); st.FiringsAbandoned != 0 {
			t.Errorf("stats = %+v, want a stopped firing not counted as abandoned", st)
		}
		if w := logs.find("firing abandoned: vehicles not listed"); len(w) != 0 {
			t.Errorf("logged %d abandon warnings on shutdown, want none", len(w))
		}
	})
}

func TestScheduler_Fire_nextFiringStopsTheRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Jobs of tick 1 fail; tick 2 is fired by hand before tick 1's
		// retries run out (as a late cron or another caller would).
		tick1 := time.Now()
		tick2 := tick1.Add(30 * time.Second)
		enq := failJobs(func(j queue.PollJob) bool { return j.Tick.Equal(tick1) })
		s, logs := newLoggedScheduler(t, scheduler.Config{Schedules: []scheduler.Schedule{everyMinute}}, vehicles(3), enq)
		enq.book = logs
		first := make(chan error, 1)
		go func() { first <- s.Fire(t.Context(), "m", tick1) }()
		time.Sleep(tick2.Sub(tick1))
		if err := s.Fire(t.Context(), "m", tick2); err != nil {
			t.Errorf("second Fire = %v", err)
		}
		if err := <-first; !errors.Is(err, scheduler.ErrAbandoned) {
			t.Errorf("first Fire = %v, want ErrAbandoned", err)
		}
		w := logs.find("firing abandoned: jobs not enqueued")
		if len(w) != 1 || !w[0].at.Equal(tick2) {
			t.Fatalf("abandon records %+v, want one when the second firing came (%s)", w, tick2)
		}
		// The second firing enqueued only once the first had given up.
		abandoned := logs.index(func(e logEntry) bool { return e.msg == "firing abandoned: jobs not enqueued" })
		second := logs.index(func(e logEntry) bool { return e.msg == "enqueue" && e.attrs["tick"].(time.Time).Equal(tick2) })
		if second < abandoned {
			t.Errorf("second firing enqueued (record %d) before the first gave up (record %d)", second, abandoned)
		}
		if got := len(enq.enqueuedAt(t)); got != 3 {
			t.Errorf("%d jobs enqueued, want the second tick's 3", got)
		}
	})
}

func TestScheduler_Run_retriesBlockNeitherOtherSchedulesNorTheNextFiring(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now() // 00:00:00
		enq := failJobs(func(j queue.PollJob) bool { return j.Schedule == "bad" })
		all := scheduler.Selector{All: true}
		s, logs := newLoggedScheduler(t, scheduler.Config{Schedules: []scheduler.Schedule{
			{Name: "bad", Cron: "* * * * *", Paths: []string{"/odometer"}, Vehicles: all},
			{Name: "good", Cron: "@every 20s", Paths: []string{"/odometer"}, Vehicles: all},
		}}, vehicles(2), enq)
		enq.book = logs
		runFor(t, s, 3*time.Minute+30*time.Second)

		// good fired at each of its ticks, on time, while bad retried.
		var want []time.Time
		for at := 20 * time.Second; at <= 3*time.Minute+20*time.Second; at += 20 * time.Second {
			want = append(want, start.Add(at))
		}
		if got := ticks(&enq.recorder)["good"]; !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("good ticks = %v, want %v", got, want)
		}
		for _, c := range enq.recorder.snapshot() {
			if !c.at.Equal(c.jobs[0].Tick) {
				t.Errorf("%s tick %s enqueued at %s, want at the tick", c.jobs[0].Schedule, c.jobs[0].Tick, c.at)
			}
		}

		// bad: each firing retried until the next tick and gave up before
		// the next firing enqueued anything; the last one stopped with Run.
		var badTicks []time.Time
		for _, c := range enq.calls {
			tk := c.jobs[0].Tick
			if c.jobs[0].Schedule != "bad" {
				continue
			}
			if c.at.Before(tk) || !c.at.Before(tk.Add(time.Minute)) {
				t.Errorf("bad tick %s: Enqueue at %s, want within [tick, next tick)", tk.Sub(start), c.at.Sub(start))
			}
			if len(badTicks) == 0 || !badTicks[len(badTicks)-1].Equal(tk) {
				badTicks = append(badTicks, tk)
			}
		}
		if want := []time.Time{start.Add(time.Minute), start.Add(2 * time.Minute), start.Add(3 * time.Minute)}; !slices.EqualFunc(badTicks, want, time.Time.Equal) {
			t.Fatalf("bad ticks tried %v, want %v", badTicks, want)
		}
		abandons := logs.find("firing abandoned: jobs not enqueued")
		if len(abandons) != 2 {
			t.Fatalf("%d abandon warnings, want 2 (ticks 1m and 2m; 3m stopped by Run)", len(abandons))
		}
		for _, a := range abandons {
			tk := a.attrs["tick"].(time.Time)
			if !a.at.Equal(tk.Add(time.Minute)) {
				t.Errorf("tick %s abandoned at %s, want at the next tick", tk.Sub(start), a.at.Sub(start))
			}
			gaveUp := logs.index(func(e logEntry) bool { return e.msg == a.msg && e.attrs["tick"] == a.attrs["tick"] })
			next := logs.index(func(e logEntry) bool {
				return e.msg == "enqueue" && e.attrs["schedule"] == "bad" && e.attrs["tick"].(time.Time).Equal(tk.Add(time.Minute))
			})
			if next < gaveUp {
				t.Errorf("tick %s: the next firing enqueued (record %d) before this one gave up (record %d)", tk.Sub(start), next, gaveUp)
			}
		}
		st := s.Stats().Snapshot()
		if st.FiringsAbandoned != 2 || st.JobsAbandoned != 4 || st.Firings != 3+10 {
			t.Errorf("stats = %+v, want 13 firings, 2 abandoned with 4 jobs", st)
		}
	})
}
