package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// registry is a fixed list of vehicles.
type registry []scheduler.Vehicle

func (r registry) ListVehicles(context.Context) ([]scheduler.Vehicle, error) {
	return slices.Clone(r), nil
}

func (r registry) Vehicle(_ context.Context, id string) (scheduler.Vehicle, error) {
	for _, v := range r {
		if v.ID == id {
			return v, nil
		}
	}
	return scheduler.Vehicle{}, scheduler.ErrNotFound
}

// vehicles returns n unpaused vehicles v0000..v(n-1).
func vehicles(n int) registry {
	r := make(registry, n)
	for i := range r {
		r[i] = scheduler.Vehicle{ID: fmt.Sprintf("v%04d", i)}
	}
	return r
}

// recorder is an Enqueuer that records every call and the (fake) time of it.
type recorder struct {
	mu    sync.Mutex
	calls []enqueueCall
	fail  func(jobs []queue.PollJob) error // optional
}

type enqueueCall struct {
	at   time.Time
	jobs []queue.PollJob
}

func (r *recorder) Enqueue(_ context.Context, jobs ...queue.PollJob) (queue.EnqueueResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(jobs); err != nil {
			return queue.EnqueueResult{}, err
		}
	}
	r.calls = append(r.calls, enqueueCall{at: time.Now(), jobs: slices.Clone(jobs)})
	return queue.EnqueueResult{Enqueued: len(jobs)}, nil
}

func (r *recorder) snapshot() []enqueueCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// enqueuedAt maps each job id to the time it was enqueued; a job enqueued
// twice fails the test.
func (r *recorder) enqueuedAt(t *testing.T) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	for _, c := range r.snapshot() {
		for _, j := range c.jobs {
			if _, dup := out[j.ID]; dup {
				t.Errorf("job %s enqueued twice", j.ID)
			}
			out[j.ID] = c.at
		}
	}
	return out
}

func newScheduler(t *testing.T, v scheduler.Vehicles, enq scheduler.Enqueuer, schedules ...scheduler.Schedule) *scheduler.Scheduler {
	t.Helper()
	s, err := scheduler.New(scheduler.Config{Schedules: schedules}, testLogger(t), v, enq)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// testLogger logs through t.Log when -v is given.
func testLogger(t *testing.T) *slog.Logger { return testserver.Logger(t) }

// records is a slog handler keeping the messages it gets.
type records struct {
	mu   sync.Mutex
	msgs []string
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, rec.Message)
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) has(msg string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.msgs, msg)
}

var errBoom = errors.New("boom")
