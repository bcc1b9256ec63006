package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

func newPublisher(t testing.TB, js jetstream.JetStream, cfg events.PublisherConfig) *events.Publisher {
	t.Helper()
	p, err := events.NewPublisher(js, cfg)
	if err != nil {
		t.Fatalf("NewPublisher() error = %v", err)
	}
	return p
}

// streamMsgs returns the number of messages in prefix's events stream.
func streamMsgs(t testing.TB, ctx context.Context, js jetstream.JetStream, prefix string) uint64 {
	t.Helper()
	st, err := js.Stream(ctx, events.StreamName(prefix))
	if err != nil {
		t.Fatalf("stream: %v", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	return info.State.Msgs
}

func TestPublisher_Publish(t *testing.T) {
	forEachServer(t, func(t *testing.T, js jetstream.JetStream) {
		ctx := testCtx(t)
		prefix := ensure(t, js, events.StreamConfig{})
		p := newPublisher(t, js, events.PublisherConfig{Prefix: prefix})

		var evs []events.Event
		for i := range 3 {
			for _, s := range events.Signals() {
				evs = append(evs, sampleEvent(t, s, fmt.Sprintf("vehicle-%d", i)))
			}
		}
		if err := p.Publish(ctx, evs...); err != nil {
			t.Fatalf("Publish() error = %v", err)
		}
		n := uint64(len(evs))
		if diff := cmp.Diff(events.PublisherStats{Published: n}, p.Stats()); diff != "" {
			t.Errorf("Stats() after first publish mismatch (-want +got):\n%s", diff)
		}
		// A redelivered job publishes the same events again: all duplicates.
		if err := p.Publish(ctx, evs...); err != nil {
			t.Fatalf("Publish() again error = %v", err)
		}
		if diff := cmp.Diff(events.PublisherStats{Published: n, Duplicates: n}, p.Stats()); diff != "" {
			t.Errorf("Stats() after second publish mismatch (-want +got):\n%s", diff)
		}

		st, err := js.Stream(ctx, events.StreamName(prefix))
		if err != nil {
			t.Fatal(err)
		}
		info, err := st.Info(ctx, jetstream.WithSubjectFilter(prefix+".vehicles.>"))
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != uint64(len(evs)) {
			t.Errorf("stream holds %d messages, want %d", info.State.Msgs, len(evs))
		}
		for _, want := range evs {
			s, _ := want.Signal()
			subj, err := events.Subject(prefix, want.Subject, s)
			get := func() (events.Event, error) { return p.Get(ctx, want.Subject, s) }
			if s == events.SignalGeneric {
				code, cerr := want.Code()
				if cerr != nil {
					t.Fatal(cerr)
				}
				subj, err = events.GenericSubject(prefix, want.Subject, code)
				get = func() (events.Event, error) { return p.GetGeneric(ctx, want.Subject, code) }
			}
			if err != nil {
				t.Fatal(err)
			}
			if n := info.State.Subjects[subj]; n != 1 {
				t.Errorf("subject %s holds %d messages, want 1", subj, n)
			}
			msg, err := st.GetLastMsgForSubject(ctx, subj)
			if err != nil {
				t.Fatalf("last message on %s: %v", subj, err)
			}
			if got := msg.Header.Get(jetstream.MsgIDHeader); got != want.ID {
				t.Errorf("%s: Nats-Msg-Id = %q, want %q", subj, got, want.ID)
			}
			if err := events.Validate(msg.Data); err != nil {
				t.Errorf("%s: stored event does not validate: %v", subj, err)
			}
			got, err := events.Parse(msg.Data)
			if err != nil {
				t.Fatalf("%s: parse stored event: %v", subj, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: stored event mismatch (-want +got):\n%s", subj, diff)
			}
			latest, err := get()
			if err != nil {
				t.Fatalf("Get(%s, %s) error = %v", want.Subject, s, err)
			}
			if diff := cmp.Diff(want, latest); diff != "" {
				t.Errorf("Get(%s, %s) mismatch (-want +got):\n%s", want.Subject, s, diff)
			}
		}
	})
}

func TestPublisher_latestOfDuplicate(t *testing.T) {
	forEachServer(t, func(t *testing.T, js jetstream.JetStream) {
		ctx := testCtx(t)
		prefix := ensure(t, js, events.StreamConfig{Storage: jetstream.MemoryStorage})
		p := newPublisher(t, js, events.PublisherConfig{Prefix: prefix})
		kv, err := js.KeyValue(ctx, events.LatestBucket(prefix))
		if err != nil {
			t.Fatal(err)
		}
		older := sampleEvent(t, events.SignalOdometer, "v1")
		newer := sampleEvent(t, events.SignalOdometer, "v1")
		newer.ID = events.EventID("default/v1/1772370000", "/odometer")
		newer.Time = older.Time.Add(30 * time.Minute)
		newer.Data = []byte(`{"distance_km":150}`)

		latestID := func(t *testing.T) string {
			t.Helper()
			ev, err := p.Get(ctx, "v1", events.SignalOdometer)
			if err != nil {
				t.Fatalf("Get() error = %v", err)
			}
			return ev.ID
		}

		if err := p.Publish(ctx, older); err != nil {
			t.Fatal(err)
		}
		// The bucket lost its entry (e.g. the publisher died between the
		// event's ack and the put); republishing the duplicate repairs it.
		if err := kv.Delete(ctx, "v1.odometer"); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Get(ctx, "v1", events.SignalOdometer); !errors.Is(err, events.ErrNotFound) {
			t.Fatalf("Get() after delete error = %v, want ErrNotFound", err)
		}
		if err := p.Publish(ctx, older); err != nil {
			t.Fatal(err)
		}
		if got := latestID(t); got != older.ID {
			t.Errorf("latest after duplicate = %s, want the repaired %s", got, older.ID)
		}
		// A late duplicate of an older event does not replace a newer one.
		if err := p.Publish(ctx, newer); err != nil {
			t.Fatal(err)
		}
		if err := p.Publish(ctx, older); err != nil {
			t.Fatal(err)
		}
		if got := latestID(t); got != newer.ID {
			t.Errorf("latest after old duplicate = %s, want %s", got, newer.ID)
		}
		if diff := cmp.Diff(events.PublisherStats{Published: 2, Duplicates: 2}, p.Stats()); diff != "" {
			t.Errorf("Stats() mismatch (-want +got):\n%s", diff)
		}
		if n := streamMsgs(t, ctx, js, prefix); n != 2 {
			t.Errorf("stream holds %d messages, want 2", n)
		}
	})
}

func TestPublisher_backPressure(t *testing.T) {
	const callers = 4
	tests := []struct {
		name       string
		maxPending int
		jsOpts     []jetstream.JetStreamOpt
	}{
		{"publisher window", 32, nil},
		// The JetStream context's own window is smaller than the
		// publisher's: its stalls must not fail Publish either.
		{"jetstream window", 512, []jetstream.JetStreamOpt{jetstream.WithPublishAsyncMaxPending(16)}},
	}
	for _, srv := range servers {
		for _, tt := range tests {
			// 20k events once; fewer elsewhere, as the race detector
			// slows the in-process server down.
			total := 5000
			if srv.name == "shared" && tt.name == "publisher window" {
				total = 20000
			}
			t.Run(srv.name+"/"+tt.name, func(t *testing.T) {
				js, err := jetstream.New(srv.connect(t), tt.jsOpts...)
				if err != nil {
					t.Fatal(err)
				}
				ctx := testCtx(t)
				prefix := ensure(t, js, events.StreamConfig{Storage: jetstream.MemoryStorage})
				p := newPublisher(t, js, events.PublisherConfig{Prefix: prefix, MaxPending: tt.maxPending})

				batches := make([][]events.Event, callers)
				sigs := events.Signals()
				for i := range total {
					ev, err := events.New(sigs[i%len(sigs)], fmt.Sprintf("v%d", i/len(sigs)), samples[sigs[i%len(sigs)]],
						events.Meta{ID: events.EventID(fmt.Sprintf("job-%d", i), "/")})
					if err != nil {
						t.Fatal(err)
					}
					batches[i%callers] = append(batches[i%callers], ev)
				}
				var wg sync.WaitGroup
				errs := make(chan error, callers)
				for _, batch := range batches {
					wg.Go(func() { errs <- p.Publish(ctx, batch...) })
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					if err != nil {
						t.Errorf("Publish() error = %v", err)
					}
				}
				if got := p.Stats(); got.Published != uint64(total) || got.Failed != 0 {
					t.Errorf("Stats() = %+v, want %d published, none failed", got, total)
				}
				if n := streamMsgs(t, ctx, js, prefix); n != uint64(total) {
					t.Errorf("stream holds %d messages, want %d", n, total)
				}
				kv, err := js.KeyValue(ctx, events.LatestBucket(prefix))
				if err != nil {
					t.Fatal(err)
				}
				status, err := kv.Status(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if status.Values() != uint64(total) {
					t.Errorf("latest bucket holds %d values, want %d", status.Values(), total)
				}
			})
		}
	}
}

func TestPublisher_Publish_invalid(t *testing.T) {
	nc := testserver.NATS(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	prefix := ensure(t, js, events.StreamConfig{Storage: jetstream.MemoryStorage})
	p := newPublisher(t, js, events.PublisherConfig{Prefix: prefix})
	good := sampleEvent(t, events.SignalOdometer, "v1")
	noID, badVehicle, badType := good, good, good
	noID.ID = ""
	badVehicle.Subject = "v.1"
	badType.Type = "smartcar.vehicle.speed.v1"
	badCode := sampleEvent(t, events.SignalGeneric, "v1")
	badCode.Data = json.RawMessage(`{"code":"a.b","body":null}`)
	noCode := badCode
	noCode.Data = json.RawMessage(`{"body":1}`)
	for name, bad := range map[string]events.Event{"no id": noID, "bad vehicle": badVehicle, "bad type": badType,
		"generic with a dotted code": badCode, "generic without a code": noCode} {
		t.Run(name, func(t *testing.T) {
			if err := p.Publish(ctx, good, bad); err == nil {
				t.Fatal("Publish() error = nil, want an error")
			}
		})
	}
	if n := streamMsgs(t, ctx, js, prefix); n != 0 {
		t.Errorf("stream holds %d messages after invalid publishes, want 0 (nothing sent)", n)
	}
	if err := p.Publish(ctx); err != nil {
		t.Errorf("Publish() of nothing error = %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.Publish(cancelled, good); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish(cancelled ctx) error = %v, want context.Canceled", err)
	}
	if n := streamMsgs(t, ctx, js, prefix); n != 0 {
		t.Errorf("stream holds %d messages after a cancelled publish, want 0", n)
	}
}

func TestPublisher_Publish_noStream(t *testing.T) {
	forEachServer(t, func(t *testing.T, js jetstream.JetStream) {
		prefix := testserver.Unique("evtest-")
		p := newPublisher(t, js, events.PublisherConfig{Prefix: prefix})
		evs := []events.Event{sampleEvent(t, events.SignalOdometer, "v1"), sampleEvent(t, events.SignalFuel, "v1")}
		err := p.Publish(testCtx(t), evs...)
		if err == nil {
			t.Fatal("Publish() without a stream: error = nil, want an error")
		}
		for _, ev := range evs {
			if !strings.Contains(err.Error(), ev.ID) {
				t.Errorf("Publish() error %q does not name event %s", err, ev.ID)
			}
		}
		if got := p.Stats(); got.Failed != 2 || got.Published != 0 {
			t.Errorf("Stats() = %+v, want 2 failed, 0 published", got)
		}
	})
}

func TestPublisher_Publish_closed(t *testing.T) {
	nc := testserver.NATS(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	prefix := ensure(t, js, events.StreamConfig{Storage: jetstream.MemoryStorage})
	p := newPublisher(t, js, events.PublisherConfig{Prefix: prefix})
	nc.Close()
	ev := sampleEvent(t, events.SignalOdometer, "v1")
	err = p.Publish(ctx, ev)
	if err == nil {
		t.Fatal("Publish() on a closed connection error = nil, want an error")
	}
	if !strings.Contains(err.Error(), ev.ID) {
		t.Errorf("Publish() error %q does not name event %s", err, ev.ID)
	}
}

func TestNewPublisher_invalid(t *testing.T) {
	nc := testserver.NATS(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	domain, err := jetstream.NewWithDomain(nc, "hub")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		js   jetstream.JetStream
		cfg  events.PublisherConfig
	}{
		{"bad prefix", js, events.PublisherConfig{Prefix: "a b"}},
		{"negative window", js, events.PublisherConfig{MaxPending: -1}},
		{"domain", domain, events.PublisherConfig{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := events.NewPublisher(tt.js, tt.cfg); err == nil {
				t.Error("NewPublisher() error = nil, want an error")
			}
		})
	}
}
