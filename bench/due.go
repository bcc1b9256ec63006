package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
)

// The due scenario: o.DueVehicles vehicles on one adaptive schedule, their
// due times spread evenly over dueSpread; a tick claims one minute's due
// vehicles in pages of duePage and enqueues their jobs.
const (
	dueSchedule   = "adaptive"
	dueSpread     = 12 * time.Hour
	duePage       = 1000
	dueLease      = 10 * time.Minute
	dueSweeps     = 3
	dueSweepLimit = time.Second
	dueRSSLimit   = 1024 // bytes per registered vehicle
)

// dueBase is the first vehicle's due time (virtual: the stores take now).
var dueBase = time.Date(2027, 1, 4, 0, 0, 0, 0, time.UTC)

// dueAt is the i-th of n vehicles' due time, in the stores' milliseconds.
func dueAt(i, n int) time.Time {
	return dueBase.Add(time.Duration(float64(dueSpread) * float64(i) / float64(n))).Truncate(time.Millisecond)
}

// runDue is the due scenario on o.Store. It loads n registered vehicles
// with a plan each (bulk writes of the stores' documented keys: async
// publishes on KV, pipelines on Redis), then, as a starting daemon, opens
// the store (KV: restarts the embedded server on its files and loads the
// mirror: vehicles and due index), reads the process's RSS, and times
// dueSweeps successive one-minute ticks: ClaimDue pages and the jobs'
// Enqueue on the job queue (embedded JetStream).
func runDue(ctx context.Context, o options) (Result, error) {
	var res Result
	n := o.DueVehicles
	e, err := startNATS()
	if err != nil {
		return res, err
	}
	defer func() {
		if e != nil {
			e.Close()
		}
	}()

	var store registry.Planner
	t0 := time.Now()
	switch o.Store {
	case "kv":
		if err := loadDueKV(ctx, e, n); err != nil {
			return res, err
		}
		load := time.Since(t0)
		if o.DueRestartAfter > 0 {
			select {
			case <-ctx.Done():
				return res, ctx.Err()
			case <-time.After(o.DueRestartAfter):
			}
			res.detail("kv: the server restarted %v after the bulk load", o.DueRestartAfter)
		}
		if e, err = e.restart(); err != nil {
			return res, err
		}
		debug.FreeOSMemory()
		s, err := kvregistry.Open(ctx, e.js, kvregistry.Config{Prefix: "bench"})
		if err != nil {
			return res, err
		}
		t1 := time.Now()
		if err := s.StartMirror(ctx, nil); err != nil {
			return res, err
		}
		defer s.Close()
		res.detail("kv: bulk load of %d vehicles and plans %.1f s; the restarted daemon's StartMirror (vehicles, holds, due index) %.1f s",
			n, load.Seconds(), time.Since(t1).Seconds())
		if vs, err := s.ListVehicles(ctx); err != nil || len(vs) != n {
			return res, fmt.Errorf("mirror holds %d vehicles (%v), want %d", len(vs), err, n)
		}
		store = s
	case "redis":
		rdb, prefix, cleanup, err := openRedis(ctx, o)
		if err != nil {
			return res, err
		}
		defer cleanup()
		if err := loadDueRedis(ctx, rdb, prefix, n); err != nil {
			return res, err
		}
		load := time.Since(t0)
		used := redisKeysMemory(ctx, rdb, prefix+"vehicles", prefix+"vehicle_state", prefix+"due:"+dueSchedule,
			prefix+"plans:"+dueSchedule, prefix+"calls:"+registry.BillingMonth(dueBase))
		res.detail("redis: pipelined load of %d vehicles and plans %.1f s; their keys take %.0f B per vehicle in Redis (MEMORY USAGE: registration, state, due entry, plan, calls)",
			n, load.Seconds(), float64(used)/float64(n))
		s := redisregistry.New(rdb, prefix)
		if _, err := s.GetVehicle(ctx, vehicleID(n-1)); err != nil {
			return res, fmt.Errorf("loaded vehicle: %w", err)
		}
		store = s
	}
	if p, err := store.GetPlan(ctx, dueSchedule, vehicleID(n/2)); err != nil || !p.Due.Equal(dueAt(n/2, n)) {
		return res, fmt.Errorf("loaded plan = %+v, %v; want due %v", p, err, dueAt(n/2, n))
	}

	debug.FreeOSMemory()
	rss, err := procStatus("VmRSS")
	if err != nil {
		return res, err
	}
	hwm, _ := procStatus("VmHWM")
	res.Rows = append(res.Rows, Row{
		Scenario: "due", Unit: "B/vehicle",
		Figure:   fmt.Sprintf("process RSS per registered vehicle, %s vehicles on the %s store, after loading%s", groupThousands(int64(n)), o.Store, restartedAfter(o)),
		Measured: float64(rss) / float64(n), Target: "< 1 KiB", Met: rss < uint64(dueRSSLimit*n),
	})
	if err := writeHeapProfile(o, "due"); err != nil {
		return res, err
	}
	res.detail("RSS %.0f MiB after loading (peak %.0f MiB, the bulk load included); live heap %.0f MiB",
		mb(rss), mb(hwm), mb(liveHeap()))

	q, err := queue.New(ctx, e.js, queue.Config{Prefix: "bd", Storage: jetstream.FileStorage})
	if err != nil {
		return res, fmt.Errorf("job queue: %w", err)
	}
	// The first tick claims what is due at dueBase; each measured one, a
	// minute's worth.
	if _, _, err := dueSweep(ctx, store, q, dueBase); err != nil {
		return res, err
	}
	var worst, worstClaim time.Duration
	total := 0
	for m := 1; m <= dueSweeps; m++ {
		now := dueBase.Add(time.Duration(m) * time.Minute)
		t0 := time.Now()
		claimed, claim, err := dueSweep(ctx, store, q, now)
		took := time.Since(t0)
		if err != nil {
			return res, err
		}
		if want := n / 720; claimed < want-2 || claimed > want+2 { // due evenly over 12 h
			return res, fmt.Errorf("tick %d claimed %d vehicles, want about %d", m, claimed, want)
		}
		total += claimed
		if took > worst {
			worst, worstClaim = took, claim
		}
	}
	// Every claimed vehicle is leased: claiming again at the last tick finds none.
	if ids, err := store.ClaimDue(ctx, dueSchedule, dueBase.Add(dueSweeps*time.Minute), dueLease, duePage); err != nil || len(ids) != 0 {
		return res, fmt.Errorf("claim after the sweeps = %d, %v; want none", len(ids), err)
	}
	if got, err := e.streamMsgs(ctx, q.Stream()); err != nil {
		return res, err
	} else if want := total + 1; got != uint64(want) {
		return res, fmt.Errorf("job stream holds %d jobs, want %d", got, want)
	}
	res.Rows = append(res.Rows, Row{
		Scenario: "due", Unit: unitSeconds,
		Figure: fmt.Sprintf("one minute's due (%s of %s vehicles): ClaimDue pages of %d + Enqueue, %s store, slowest of %d ticks",
			groupThousands(int64(n/720)), groupThousands(int64(n)), duePage, o.Store, dueSweeps),
		Measured: worst.Seconds(), Target: "< 1 s", Met: worst < dueSweepLimit,
	})
	res.detail("slowest tick %.3f s, of which ClaimDue %.3f s; %d vehicles claimed and enqueued over %d ticks",
		worst.Seconds(), worstClaim.Seconds(), total, dueSweeps)
	if o.DueSettle > 0 {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(o.DueSettle):
		}
		debug.FreeOSMemory()
		rss, err := procStatus("VmRSS")
		if err != nil {
			return res, err
		}
		res.detail("after %v idle: RSS %.0f MiB, %.0f B per vehicle; live heap %.0f MiB", o.DueSettle, mb(rss), float64(rss)/float64(n), mb(liveHeap()))
	}
	return res, nil
}

// dueSweep claims everything due at now, page by page, and enqueues a job
// for each page; it returns how many it claimed and the time spent claiming.
func dueSweep(ctx context.Context, s registry.Planner, q *queue.Queue, now time.Time) (int, time.Duration, error) {
	total := 0
	var claiming time.Duration
	for {
		t0 := time.Now()
		ids, err := s.ClaimDue(ctx, dueSchedule, now, dueLease, duePage)
		claiming += time.Since(t0)
		if err != nil {
			return total, claiming, err
		}
		if len(ids) > 0 {
			jobs := make([]queue.PollJob, len(ids))
			for i, id := range ids {
				jobs[i] = queue.PollJob{ID: queue.JobID(dueSchedule, id, now), Schedule: dueSchedule, VehicleID: id,
					Paths: benchPaths, Tick: now, Emit: "on_change"}
			}
			if _, err := q.Enqueue(ctx, jobs...); err != nil {
				return total, claiming, fmt.Errorf("enqueue: %w", err)
			}
		}
		total += len(ids)
		if len(ids) < duePage {
			return total, claiming, nil
		}
	}
}

// kvDueVehicle is the vehicles bucket's JSON of a registered vehicle (see
// kvregistry's doc).
type kvDueVehicle struct {
	ID          string    `json:"id"`
	GrantID     string    `json:"grant_id"`
	Tags        []string  `json:"tags,omitempty"`
	Status      string    `json:"status"`
	ConnectedAt time.Time `json:"connected_at"`
}

// dueState stands for a plan's state: adaptive.Vehicle's binary form is
// about 250 bytes.
var dueState = make([]byte, 250)

// loadDueKV writes n vehicles, their plans (due time and a dueState) and a
// calls key each to the KV store's buckets with async publishes, in the
// formats kvregistry documents.
func loadDueKV(ctx context.Context, e *natsEnv, n int) error {
	if _, err := kvregistry.Open(ctx, e.js, kvregistry.Config{Prefix: "bench"}); err != nil {
		return err
	}
	vb, _ := kvregistry.Buckets("bench")
	pb, cb := kvregistry.PlanBuckets("bench")
	at := dueBase.Add(-24 * time.Hour)
	calls := []byte(registry.BillingMonth(dueBase) + "=3")
	for i := range n {
		id := vehicleID(i)
		v, err := json.Marshal(kvDueVehicle{ID: id, GrantID: fmt.Sprintf("grant-%d", i%1000), Tags: []string{"fleet"}, Status: "connected", ConnectedAt: at})
		if err != nil {
			return err
		}
		plan := append(binary.BigEndian.AppendUint64(nil, uint64(dueAt(i, n).UnixMilli())), dueState...)
		for _, m := range []struct {
			subject string
			data    []byte
		}{
			{"$KV." + vb + "." + kvbucket.Key(id), v},
			{"$KV." + pb + "." + kvbucket.Key(id) + "." + dueSchedule, plan},
			{"$KV." + cb + "." + kvbucket.Key(id), calls},
		} {
			if _, err := e.js.PublishAsync(m.subject, m.data, jetstream.WithStallWait(time.Minute)); err != nil {
				return fmt.Errorf("load: %w", err)
			}
		}
	}
	select {
	case <-e.js.PublishAsyncComplete():
	case <-ctx.Done():
		return ctx.Err()
	}
	for _, b := range []string{vb, pb, cb} {
		if got, err := e.streamMsgs(ctx, "KV_"+b); err != nil {
			return err
		} else if got != uint64(n) {
			return fmt.Errorf("bucket %s holds %d keys, want %d", b, got, n)
		}
	}
	return nil
}

// loadDueRedis writes n vehicles (registration, state), their plans (due
// entry, dueState) and calls in pipelines of 10,000, in the keys
// redisregistry documents.
func loadDueRedis(ctx context.Context, rdb *redis.Client, prefix string, n int) error {
	at := dueBase.Add(-24 * time.Hour).Format(time.RFC3339Nano)
	const batch = 10_000
	for start := 0; start < n; start += batch {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := start; i < min(start+batch, n); i++ {
				id := vehicleID(i)
				p.HSet(ctx, prefix+"vehicles", id, `{"grant_id":"grant-`+strconv.Itoa(i%1000)+`","tags":["fleet"],"connected_at":"`+at+`"}`)
				p.HSet(ctx, prefix+"vehicle_state", id, "connected||")
				p.ZAdd(ctx, prefix+"due:"+dueSchedule, redis.Z{Score: float64(dueAt(i, n).UnixMilli()), Member: id})
				p.HSet(ctx, prefix+"plans:"+dueSchedule, id, dueState)
				p.HSet(ctx, prefix+"calls:"+registry.BillingMonth(dueBase), id, 3)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	return nil
}

// redisKeysMemory sums MEMORY USAGE of keys (every element counted), 0
// for those it cannot read.
func redisKeysMemory(ctx context.Context, rdb *redis.Client, keys ...string) int64 {
	var sum int64
	for _, k := range keys {
		n, _ := rdb.MemoryUsage(ctx, k, 0).Result()
		sum += n
	}
	return sum
}

// restartedAfter notes a -due-restart-after wait in the RSS row's figure.
func restartedAfter(o options) string {
	if o.Store != "kv" || o.DueRestartAfter <= 0 {
		return ""
	}
	return fmt.Sprintf(" (restart %v after the bulk load)", o.DueRestartAfter)
}
