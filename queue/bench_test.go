package queue_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
)

// benchQueue returns a queue on a fresh embedded server (file storage).
func benchQueue(b *testing.B) (*queue.Queue, jetstream.JetStream, queue.Config) {
	b.Helper()
	srv := testserver.EmbeddedNATS(b)
	_, js := connectB(b, srv.ClientURL())
	cfg := queue.Config{Prefix: testserver.Unique("qb"), FetchWait: 200 * time.Millisecond}
	q, err := queue.New(b.Context(), js, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return q, js, cfg
}

// BenchmarkEnqueue enqueues 100,000 jobs per op (new ids each op) beside a
// baseline of bare JetStream async publishes of the same messages.
func BenchmarkEnqueue(b *testing.B) {
	const n = 100_000
	b.Run("queue", func(b *testing.B) {
		q, _, _ := benchQueue(b)
		i := 0
		cpu0 := cpuTime()
		for b.Loop() {
			i++
			res, err := q.Enqueue(b.Context(), jobs("bench", n, tick.Add(time.Duration(i)*time.Minute))...)
			if err != nil || res.Enqueued != n {
				b.Fatalf("Enqueue = %+v, %v", res, err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(n*b.N), "cpu-µs/job")
	})
	b.Run("baseline_publish_async", func(b *testing.B) {
		_, js, cfg := benchQueue(b)
		i := 0
		cpu0 := cpuTime()
		for b.Loop() {
			i++
			js2 := js
			for _, j := range jobs("bench", n, tick.Add(time.Duration(i)*time.Minute)) {
				if _, err := js2.PublishAsync(queue.Subject(cfg.Prefix, j.VehicleID), []byte(j.ID), jetstream.WithMsgID(j.ID), jetstream.WithStallWait(time.Minute)); err != nil {
					b.Fatal(err)
				}
			}
			<-js2.PublishAsyncComplete()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(n*b.N), "cpu-µs/job")
	})
}

// BenchmarkConsume measures jobs/s through Consume with a no-op handler at
// several concurrencies, beside a baseline of the library's Messages()
// iterator acking each message on one goroutine.
func BenchmarkConsume(b *testing.B) {
	const n = 20_000
	for _, conc := range []int{4, 64, 256} {
		b.Run(fmt.Sprintf("queue/concurrency=%d", conc), func(b *testing.B) {
			q, _, _ := benchQueue(b)
			i := 0
			var cpu time.Duration
			for b.Loop() {
				i++
				b.StopTimer()
				if _, err := q.Enqueue(b.Context(), jobs("bench", n, tick.Add(time.Duration(i)*time.Minute))...); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				cpu0 := cpuTime()
				var done atomic.Int64
				ctx, cancel := context.WithCancel(b.Context())
				all := make(chan struct{})
				errc := make(chan error, 1)
				go func() {
					errc <- q.Consume(ctx, conc, func(context.Context, queue.PollJob, queue.Delivery) error {
						if done.Add(1) == n {
							close(all)
						}
						return nil
					})
				}()
				<-all
				cpu += cpuTime() - cpu0
				b.StopTimer() // shutdown waits for open pulls to expire
				cancel()
				if err := <-errc; err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
			b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(n*b.N), "cpu-µs/job")
		})
	}
	b.Run("baseline_messages_iterator", func(b *testing.B) {
		q, js, cfg := benchQueue(b)
		cons, err := js.Consumer(b.Context(), q.Stream(), queue.ConsumerName(cfg.Prefix))
		if err != nil {
			b.Fatal(err)
		}
		i := 0
		var cpu time.Duration
		for b.Loop() {
			i++
			b.StopTimer()
			if _, err := q.Enqueue(b.Context(), jobs("bench", n, tick.Add(time.Duration(i)*time.Minute))...); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			cpu0 := cpuTime()
			it, err := cons.Messages()
			if err != nil {
				b.Fatal(err)
			}
			for range n {
				m, err := it.Next()
				if err != nil {
					b.Fatal(err)
				}
				_ = m.Ack()
			}
			it.Stop()
			cpu += cpuTime() - cpu0
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
		b.ReportMetric(float64(cpu.Nanoseconds())/1e3/float64(n*b.N), "cpu-µs/job")
	})
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
