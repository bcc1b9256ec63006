package scheduler_test

import (
	"encoding/json"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

const benchVehicles = 100_000

// benchJS connects to a fresh embedded server.
func benchJS(b *testing.B) jetstream.JetStream {
	b.Helper()
	srv := testserver.EmbeddedNATS(b)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	return js
}

// benchRegistry is 100,000 vehicles with UUID-sized ids and a tag each.
func benchRegistry() registry {
	r := make(registry, benchVehicles)
	for i := range r {
		r[i] = scheduler.Vehicle{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), Tags: []string{"fleet"}}
	}
	return r
}

func heapMiB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// BenchmarkFire100k is the "scale" figure: one Fire of a schedule over
// 100,000 registered vehicles, jitter 0, into the real queue on an embedded
// NATS server (file storage, dedup window on). Each op is a new tick, so
// every job is new. heap-MiB is the heap in use once the registry, the
// scheduler and the queue are built (the embedded server's heap included).
func BenchmarkFire100k(b *testing.B) {
	b.Run("scheduler", func(b *testing.B) {
		base := heapMiB()
		js := benchJS(b)
		q, err := queue.New(b.Context(), js, queue.Config{Prefix: testserver.Unique("sb")})
		if err != nil {
			b.Fatal(err)
		}
		reg := benchRegistry()
		s, err := scheduler.New(scheduler.Config{Schedules: []scheduler.Schedule{{
			Name: "default", Cron: "*/30 * * * *", Paths: []string{"/odometer", "/location", "/battery"},
			Vehicles: scheduler.Selector{All: true}, Emit: "on_change",
		}}}, nil, reg, q)
		if err != nil {
			b.Fatal(err)
		}
		heap, state := heapMiB(), heapMiB()-base
		tick := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		cpu0 := cpuTime()
		for b.Loop() {
			tick = tick.Add(30 * time.Minute)
			if err := s.Fire(b.Context(), "default", tick); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e6/float64(b.N), "cpu-ms/op")
		b.ReportMetric(heap, "heap-MiB")
		b.ReportMetric(state, "state-heap-MiB")
	})
	b.Run("baseline_publish_async", func(b *testing.B) {
		js := benchJS(b)
		prefix := testserver.Unique("sb")
		if _, err := queue.New(b.Context(), js, queue.Config{Prefix: prefix}); err != nil {
			b.Fatal(err)
		}
		reg := benchRegistry()
		paths := []string{"/odometer", "/location", "/battery"}
		tick := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		cpu0 := cpuTime()
		for b.Loop() {
			tick = tick.Add(30 * time.Minute)
			for _, v := range reg {
				j := queue.PollJob{ID: queue.JobID("default", v.ID, tick), Schedule: "default", VehicleID: v.ID,
					Paths: paths, Tick: tick, Emit: "on_change"}
				data, err := json.Marshal(&j)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := js.PublishAsync(queue.Subject(prefix, v.ID), data, jetstream.WithMsgID(j.ID), jetstream.WithStallWait(time.Minute)); err != nil {
					b.Fatal(err)
				}
			}
			<-js.PublishAsyncComplete()
		}
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e6/float64(b.N), "cpu-ms/op")
	})
}

// cpuTime returns the process's user+system CPU time (the embedded server's
// included): a figure less at the mercy of other load than ns/op.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
