package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
	vehicleregistry "github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

// storeVehicles lists a registry's vehicles as the daemon's adapter does,
// keeping the errors it met.
type storeVehicles struct {
	s    vehicleregistry.Store
	mu   sync.Mutex
	errs []error
}

func (l *storeVehicles) ListVehicles(ctx context.Context) ([]scheduler.Vehicle, error) {
	vs, err := l.s.ListVehicles(ctx)
	if err != nil {
		l.mu.Lock()
		l.errs = append(l.errs, err)
		l.mu.Unlock()
		return nil, err
	}
	out := make([]scheduler.Vehicle, 0, len(vs))
	for _, v := range vs {
		out = append(out, scheduler.Vehicle{ID: v.ID, Tags: v.Tags, Paused: !v.Status.Pollable()})
	}
	return out, nil
}

func (l *storeVehicles) Vehicle(ctx context.Context, id string) (scheduler.Vehicle, error) {
	v, err := l.s.GetVehicle(ctx, id)
	if errors.Is(err, vehicleregistry.ErrNotFound) {
		return scheduler.Vehicle{}, fmt.Errorf("%w: %w", scheduler.ErrNotFound, err)
	}
	if err != nil {
		l.mu.Lock()
		l.errs = append(l.errs, err)
		l.mu.Unlock()
		return scheduler.Vehicle{}, err
	}
	return scheduler.Vehicle{ID: v.ID, Tags: v.Tags, Paused: !v.Status.Pollable()}, nil
}

func (l *storeVehicles) errors() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

// callLog wraps a real Enqueuer and records every call: the job ids, and
// which of them the error said were not stored.
type callLog struct {
	scheduler.Enqueuer
	mu    sync.Mutex
	calls []loggedCall
	ch    chan struct{} // signalled after every call
}

type loggedCall struct {
	ids    []string
	failed []int // nil when every job was stored
	err    error
}

func newCallLog(enq scheduler.Enqueuer) *callLog {
	return &callLog{Enqueuer: enq, ch: make(chan struct{}, 1)}
}

func (c *callLog) Enqueue(ctx context.Context, jobs ...queue.PollJob) (queue.EnqueueResult, error) {
	res, err := c.Enqueuer.Enqueue(ctx, jobs...)
	lc := loggedCall{err: err}
	for _, j := range jobs {
		lc.ids = append(lc.ids, j.ID)
	}
	var qe *queue.EnqueueError
	switch {
	case errors.As(err, &qe):
		lc.failed = qe.Failed
	case err != nil:
		for i := range jobs {
			lc.failed = append(lc.failed, i)
		}
	}
	c.mu.Lock()
	c.calls = append(c.calls, lc)
	c.mu.Unlock()
	select {
	case c.ch <- struct{}{}:
	default:
	}
	return res, err
}

func (c *callLog) snapshot() []loggedCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// waitCalls waits until cond holds for the calls so far.
func (c *callLog) waitCalls(t *testing.T, what string, cond func([]loggedCall) bool) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for !cond(c.snapshot()) {
		select {
		case <-c.ch:
		case <-timeout:
			t.Fatalf("waiting for %s: not after 30s (%d calls)", what, len(c.snapshot()))
		}
	}
}

// streamJobIDs counts the messages of the queue's stream by Nats-Msg-Id.
func streamJobIDs(t *testing.T, js jetstream.JetStream, stream string) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		ids[m.Header.Get(jetstream.MsgIDHeader)]++
	}
	if n := uint64(len(ids)); info.State.Msgs < n {
		t.Fatalf("stream reports %d messages, read %d ids", info.State.Msgs, n)
	}
	return ids
}

// checkOnce fails t unless every vehicle has exactly one job for tick in
// the stream, and nothing else is there.
func checkOnce(t *testing.T, got map[string]int, schedule string, vehicleIDs []string, tick time.Time) {
	t.Helper()
	want := map[string]int{}
	for _, v := range vehicleIDs {
		want[queue.JobID(schedule, v, tick)] = 1
	}
	for id, n := range got {
		if want[id] != n {
			t.Errorf("job %s in the stream %d times, want %d", id, n, want[id])
		}
	}
	for id := range want {
		if got[id] == 0 {
			t.Errorf("job %s missing from the stream", id)
		}
	}
}

// once is a yearly schedule: its next tick is far, so only RetryFor bounds
// the retries.
func once(jitter time.Duration) scheduler.Schedule {
	return scheduler.Schedule{Name: "outage", Cron: "@yearly", Paths: []string{"/odometer"},
		Vehicles: scheduler.Selector{All: true}, Jitter: jitter}
}

// TestScheduler_Fire_redisRestart kills the Redis holding the vehicle
// registry just before a firing and starts it again while the firing
// retries; Redis then replays its AOF (slowly: key-load-delay), answering
// LOADING, which fails the list transaction. The firing lists the vehicles
// once Redis has loaded and enqueues every job exactly once.
func TestScheduler_Fire_redisRestart(t *testing.T) {
	rs := testserver.StartRedis(t, "--appendonly", "yes",
		"--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024")
	rdb := rs.Client(t)
	ctx := t.Context()
	store := redisregistry.New(rdb, testserver.Unique("sched")+":")
	var ids []string
	for i := range 30 {
		id := fmt.Sprintf("veh-%02d", i)
		ids = append(ids, id)
		if err := store.PutVehicle(ctx, vehicleregistry.Vehicle{ID: id, GrantID: "g1"}); err != nil {
			t.Fatal(err)
		}
	}
	// 3,000 more keys take 3 s to load at 1 ms each, once a rewrite has put
	// them in the AOF's RDB base.
	pipe := rdb.Pipeline()
	for i := range 3000 {
		pipe.Set(ctx, fmt.Sprintf("filler:%d", i), i, 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rdb.BgRewriteAOF(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for {
		info, err := rdb.Info(ctx, "persistence").Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(info, "aof_rewrite_in_progress:0") && strings.Contains(info, "aof_rewrite_scheduled:0") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}

	url := testserver.EmbeddedNATS(t).ClientURL()
	q, js := replicaQueue(t, url, testserver.Unique("so"))
	reg := &storeVehicles{s: store}
	s := newScheduler(t, reg, q, once(0))

	rs.Kill()
	tick := time.Now().Truncate(time.Second)
	fired := make(chan error, 1)
	go func() { fired <- s.Fire(ctx, "outage", tick) }()
	deadline := time.Now().Add(30 * time.Second)
	for s.Stats().Snapshot().FiringRetries < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("no retries of the vehicle list after 30s with Redis down: %+v", s.Stats().Snapshot())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !rs.StartLoading(t) {
		t.Fatal("Redis loaded its data before the test could see LOADING; raise key-load-delay")
	}
	select {
	case err := <-fired:
		if err != nil {
			t.Fatalf("Fire = %v, want nil once Redis is back", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Fire still running 60s after Redis came back")
	}

	errs := reg.errors()
	loading := slices.ContainsFunc(errs, func(err error) bool {
		return strings.Contains(err.Error(), "LOADING") || strings.Contains(err.Error(), "EXECABORT")
	})
	if !loading {
		t.Errorf("list errors %v: want one from Redis loading its AOF (LOADING or EXECABORT)", errs)
	}
	checkOnce(t, streamJobIDs(t, js, q.Stream()), "outage", ids, tick)
	st := s.Stats().Snapshot()
	if st.FiringsAbandoned != 0 || st.FiringRetries != int64(len(errs)) {
		t.Errorf("stats = %+v after %d failed lists, want a retry per failure and nothing abandoned", st, len(errs))
	}
	t.Logf("list failures before Redis was back: %d (first %v, last %v)", len(errs), errs[0], errs[len(errs)-1])
}

// TestScheduler_Fire_natsRestart shuts the NATS server (JetStream, file
// storage) down in the middle of a firing's spread and starts it again on
// the same port and store: the groups that fail meanwhile are enqueued
// again once it is back, the groups stored before are not sent again, and
// the stream holds every vehicle's job for the tick exactly once.
func TestScheduler_Fire_natsRestart(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.EmbeddedNATSAt(t, dir, -1)
	port := srv.Addr().(*net.TCPAddr).Port
	// No reconnect buffer: while the server is down a publish fails at
	// once, as it does with the daemon's buffer once that is full, instead
	// of waiting in the buffer (where a short outage never fails Enqueue).
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond), nats.ReconnectBufSize(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	prefix := testserver.Unique("sn")
	q, err := queue.New(t.Context(), js, queue.Config{Prefix: prefix, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	reg := vehicles(40)
	var ids []string
	for _, v := range reg {
		ids = append(ids, v.ID)
	}
	calls := newCallLog(q)
	// Ten groups 600 ms apart.
	s := newScheduler(t, reg, calls, once(6*time.Second))

	tick := time.Now()
	fired := make(chan error, 1)
	go func() { fired <- s.Fire(t.Context(), "outage", tick) }()
	calls.waitCalls(t, "a group stored", func(cs []loggedCall) bool { return len(cs) > 0 && cs[0].err == nil })
	srv.Shutdown()
	srv.WaitForShutdown()
	calls.waitCalls(t, "two failed calls", func(cs []loggedCall) bool {
		return len(slices.DeleteFunc(cs, func(c loggedCall) bool { return c.err == nil })) >= 2
	})
	testserver.EmbeddedNATSAt(t, dir, port)
	select {
	case err := <-fired:
		if err != nil {
			t.Fatalf("Fire = %v, want nil once NATS is back", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Fire still running 60s after NATS came back")
	}

	checkOnce(t, streamJobIDs(t, js, queue.StreamName(prefix)), "outage", ids, tick)
	// A job whose call stored it was never handed to Enqueue again.
	handed := map[string]int{}
	storedAt := map[string]int{} // call index that stored the job
	var failedCalls int
	for i, c := range calls.snapshot() {
		if c.err != nil {
			failedCalls++
		}
		for k, id := range c.ids {
			handed[id]++
			if !slices.Contains(c.failed, k) {
				if first, seen := storedAt[id]; seen {
					t.Errorf("job %s stored by call %d, handed again in call %d", id, first, i)
				} else {
					storedAt[id] = i
				}
			}
		}
	}
	if len(storedAt) != len(ids) {
		t.Errorf("%d jobs acknowledged as stored, want %d", len(storedAt), len(ids))
	}
	st := s.Stats().Snapshot()
	if st.FiringRetries == 0 || st.FiringsAbandoned != 0 {
		t.Errorf("stats = %+v, want retries and nothing abandoned", st)
	}
	var resent int
	for _, n := range handed {
		resent += n - 1
	}
	t.Logf("%d Enqueue calls, %d failed; %d retries; %d job sends repeated", len(calls.snapshot()), failedCalls, st.FiringRetries, resent)
}
