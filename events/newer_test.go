package events_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/events"
)

// odometerAt is an odometer event of vehicle v with id id, data age age and
// fetch time fetched (zero times: unknown).
func odometerAt(t *testing.T, v, id string, km float64, age, fetched time.Time) events.Event {
	t.Helper()
	ev, err := events.New(events.SignalOdometer, v, events.OdometerData{DistanceKm: km},
		events.Meta{ID: id, Time: age, FetchedAt: fetched})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// streamIDs returns the ids of the events stored in the prefix's stream.
func streamIDs(t *testing.T, js jetstream.JetStream, prefix string) []string {
	t.Helper()
	ctx := testCtx(t)
	s, err := js.Stream(ctx, events.StreamName(prefix))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range info.State.Msgs {
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := events.Parse(m.Data())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ev.ID)
	}
	return ids
}

// TestPublisher_PublishNewer feeds one vehicle's odometer readings in the
// order a webhook source may deliver them: only a reading fresher than the
// latest one goes out, into the stream and the latest-state bucket.
func TestPublisher_PublishNewer(t *testing.T) {
	forEachServer(t, func(t *testing.T, js jetstream.JetStream) {
		ctx := testCtx(t)
		prefix := ensure(t, js, events.StreamConfig{Storage: jetstream.MemoryStorage})
		p := newPublisher(t, js, events.PublisherConfig{Prefix: prefix})
		t0 := time.Date(2026, 5, 4, 6, 0, 0, 0, time.UTC)
		steps := []struct {
			name  string
			ev    events.Event
			stale bool
		}{
			{"first", odometerAt(t, "v1", "a", 100, t0, t0.Add(time.Minute)), false},
			{"older data", odometerAt(t, "v1", "b", 90, t0.Add(-time.Hour), t0.Add(2*time.Minute)), true},
			{"same state again", odometerAt(t, "v1", "c", 100, t0, t0.Add(time.Minute)), true},
			{"same age, earlier fetch", odometerAt(t, "v1", "d", 100, t0, t0), true},
			{"same age, later fetch", odometerAt(t, "v1", "e", 100, t0, t0.Add(3*time.Minute)), false},
			{"the latest again (a retry)", odometerAt(t, "v1", "e", 100, t0, t0.Add(3*time.Minute)), false},
			{"unknown age, earlier fetch", odometerAt(t, "v1", "f", 95, time.Time{}, t0.Add(2*time.Minute)), true},
			{"unknown age, later fetch", odometerAt(t, "v1", "g", 101, time.Time{}, t0.Add(4*time.Minute)), false},
			{"later data", odometerAt(t, "v1", "h", 120, t0.Add(time.Hour), t0.Add(time.Hour)), false},
			{"late delivery of an old reading", odometerAt(t, "v1", "i", 110, t0.Add(30*time.Minute), t0.Add(2*time.Hour)), true},
			{"another vehicle", odometerAt(t, "v2", "j", 5, t0.Add(-time.Hour), t0), false},
		}
		for _, st := range steps {
			stale, err := p.PublishNewer(ctx, st.ev)
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if got := len(stale) == 1; got != st.stale {
				t.Errorf("%s: stale = %v, want %v", st.name, got, st.stale)
			}
		}
		latest, err := p.Get(ctx, "v1", events.SignalOdometer)
		if err != nil || latest.ID != "h" {
			t.Errorf("latest of v1 = %q, %v; want h", latest.ID, err)
		}
		if got, want := streamIDs(t, js, prefix), []string{"a", "e", "g", "h", "j"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("stream holds %v, want %v", got, want)
		}
		if s := p.Stats(); s.Published != 5 || s.Duplicates != 1 || s.Failed != 0 {
			t.Errorf("stats %+v, want 5 published, 1 duplicate (the retry)", s)
		}

		// A state a plain Publish stored (a poll) is judged the same way.
		polled := odometerAt(t, "v1", "poll", 130, t0.Add(2*time.Hour), t0.Add(2*time.Hour))
		if err := p.Publish(ctx, polled); err != nil {
			t.Fatal(err)
		}
		if stale, err := p.PublishNewer(ctx, odometerAt(t, "v1", "k", 125, t0.Add(90*time.Minute), t0.Add(3*time.Hour))); err != nil || len(stale) != 1 {
			t.Errorf("PublishNewer of a reading older than a poll = %d stale, %v; want 1", len(stale), err)
		}
		// An invalid event fails before anything is sent.
		bad := polled
		bad.Type = "smartcar.vehicle.speed.v1"
		if _, err := p.PublishNewer(ctx, odometerAt(t, "v3", "l", 1, t0, t0), bad); err == nil {
			t.Error("PublishNewer with an invalid event: no error")
		}
		if _, err := p.Get(ctx, "v3", events.SignalOdometer); err == nil {
			t.Error("PublishNewer with an invalid event stored the valid one")
		}
	})
}

// TestPublisher_PublishNewer_concurrent publishes many readings of one
// vehicle at once, in random order, from several publishers (replicas):
// the latest state ends with the freshest, whatever the interleaving.
func TestPublisher_PublishNewer_concurrent(t *testing.T) {
	forEachServer(t, func(t *testing.T, js jetstream.JetStream) {
		ctx := testCtx(t)
		prefix := ensure(t, js, events.StreamConfig{Storage: jetstream.MemoryStorage})
		pubs := []*events.Publisher{
			newPublisher(t, js, events.PublisherConfig{Prefix: prefix}),
			newPublisher(t, js, events.PublisherConfig{Prefix: prefix}),
			newPublisher(t, js, events.PublisherConfig{Prefix: prefix}),
		}
		t0 := time.Date(2026, 5, 4, 6, 0, 0, 0, time.UTC)
		const n = 60
		order := rand.Perm(n)
		var wg sync.WaitGroup
		for i, k := range order {
			wg.Go(func() {
				ev := odometerAt(t, "v1", fmt.Sprint("r", k), float64(k), t0.Add(time.Duration(k)*time.Minute), t0.Add(time.Hour))
				if _, err := pubs[i%len(pubs)].PublishNewer(ctx, ev); err != nil {
					t.Errorf("reading %d: %v", k, err)
				}
			})
		}
		wg.Wait()
		latest, err := pubs[0].Get(ctx, "v1", events.SignalOdometer)
		if err != nil {
			t.Fatal(err)
		}
		var d events.OdometerData
		if err := json.Unmarshal(latest.Data, &d); err != nil || d.DistanceKm != n-1 {
			t.Errorf("latest %s %s, want the freshest reading, %d km", latest.ID, latest.Data, n-1)
		}
	})
}
