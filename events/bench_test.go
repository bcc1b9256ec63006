package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

// benchJS connects to an in-process nats-server with JetStream (file storage,
// like production) and creates the stream and bucket of a fresh prefix.
func benchJS(b *testing.B) (jetstream.JetStream, string) {
	b.Helper()
	s := testserver.EmbeddedNATS(b)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	return js, ensure(b, js, events.StreamConfig{})
}

// benchEvents returns n distinct events (distinct ids, vehicles and signals).
func benchEvents(b *testing.B, run string, n int) []events.Event {
	b.Helper()
	sigs := events.Signals()
	evs := make([]events.Event, n)
	for i := range n {
		s := sigs[i%len(sigs)]
		ev, err := events.New(s, fmt.Sprintf("v%d", i/len(sigs)), samples[s], events.Meta{
			ID: events.EventID(run+fmt.Sprint(i), "/"), Time: dataAge, FetchedAt: dataAge,
		})
		if err != nil {
			b.Fatal(err)
		}
		evs[i] = ev
	}
	return evs
}

// BenchmarkPublish measures events/s through Publisher.Publish (event plus
// latest-state update, both acked) against a baseline of bare JetStream async
// publishes of the same events with Nats-Msg-Id (no latest state), in
// batches of 3 events per call (one poll of three paths) from 32 goroutines.
func BenchmarkPublish(b *testing.B) {
	const batch, callers = 3, 32
	run := func(b *testing.B, publish func(ctx context.Context, evs []events.Event) error) {
		evs := benchEvents(b, testserver.Unique(""), b.N*batch)
		var next atomic.Int64
		b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := int(next.Add(1)-1) * batch
				if err := publish(context.Background(), evs[i:i+batch]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "events/s")
	}
	b.Run("baseline", func(b *testing.B) {
		js, prefix := benchJS(b)
		run(b, func(ctx context.Context, evs []events.Event) error {
			futs := make([]jetstream.PubAckFuture, 0, len(evs))
			for _, ev := range evs {
				s, _ := ev.Signal()
				subj, _ := events.Subject(prefix, ev.Subject, s)
				raw, err := json.Marshal(ev)
				if err != nil {
					return err
				}
				f, err := js.PublishMsgAsync(&nats.Msg{Subject: subj, Data: raw}, jetstream.WithMsgID(ev.ID))
				if err != nil {
					return err
				}
				futs = append(futs, f)
			}
			for _, f := range futs {
				select {
				case <-f.Ok():
				case err := <-f.Err():
					return err
				}
			}
			return nil
		})
	})
	b.Run("publisher", func(b *testing.B) {
		js, prefix := benchJS(b)
		p := newPublisher(b, js, events.PublisherConfig{Prefix: prefix})
		run(b, func(ctx context.Context, evs []events.Event) error { return p.Publish(ctx, evs...) })
	})
}
