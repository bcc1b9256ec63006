package events_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/events"
)

func TestLatest_Changed(t *testing.T) {
	forEachServer(t, func(t *testing.T, js jetstream.JetStream) {
		ctx := testCtx(t)
		prefix := ensure(t, js, events.StreamConfig{Storage: jetstream.MemoryStorage})
		p := newPublisher(t, js, events.PublisherConfig{Prefix: prefix})
		latest, err := events.NewLatest(js, prefix)
		if err != nil {
			t.Fatal(err)
		}

		stored := sampleEvent(t, events.SignalOdometer, "v1")
		stored.Data = json.RawMessage(`{"distance_km":100}`)
		if changed, err := latest.Changed(ctx, stored); err != nil || !changed {
			t.Fatalf("Changed() before any publish = %v, %v; want true, nil", changed, err)
		}
		if err := p.Publish(ctx, stored); err != nil {
			t.Fatal(err)
		}

		// next returns a later poll's event: a new id and fetch time.
		next := func(data string, age time.Duration) events.Event {
			ev := stored
			ev.ID = events.EventID("default/v1/1772370000", "/odometer")
			ev.FetchedAt = stored.FetchedAt.Add(30 * time.Minute)
			ev.Time = stored.Time.Add(age)
			ev.Data = json.RawMessage(data)
			return ev
		}
		other := stored
		other.Subject = "v2"
		noAge := next(`{"distance_km":100}`, 0)
		noAge.Time = time.Time{}
		tests := []struct {
			name string
			ev   events.Event
			want bool
		}{
			{"same event", stored, false},
			{"same data and age, later fetch", next(`{"distance_km":100}`, 0), false},
			{"same value spelled differently", next(`{ "distance_km" : 100.0 }`, 0), false},
			{"older data age", next(`{"distance_km":100}`, -time.Minute), false},
			{"unknown data age, same data", noAge, false},
			{"value changed", next(`{"distance_km":100.5}`, 0), true},
			{"field added", next(`{"distance_km":100,"x":1}`, 0), true},
			{"data age advanced", next(`{"distance_km":100}`, time.Second), true},
			{"other vehicle", other, true},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := latest.Changed(ctx, tt.ev)
				if err != nil {
					t.Fatalf("Changed() error = %v", err)
				}
				if got != tt.want {
					t.Errorf("Changed() = %v, want %v", got, tt.want)
				}
				// The publisher answers the same.
				if got, err := p.Changed(ctx, tt.ev); err != nil || got != tt.want {
					t.Errorf("Publisher.Changed() = %v, %v; want %v, nil", got, err, tt.want)
				}
			})
		}

		bad := stored
		bad.Type = "smartcar.vehicle.speed.v1"
		if _, err := latest.Changed(ctx, bad); !errors.Is(err, events.ErrInvalidEvent) {
			t.Errorf("Changed(unknown type) error = %v, want ErrInvalidEvent", err)
		}
		// Generic signal events are compared per code.
		gear := sampleEvent(t, events.SignalGeneric, "v1")
		if err := p.Publish(ctx, gear); err != nil {
			t.Fatal(err)
		}
		otherCode := gear
		otherCode.ID = "other-code"
		otherCode.Data = json.RawMessage(`{"code":"wheel-tires","body":{"value":"D"}}`)
		// A later read of the same value (retrieved_at moved, oem_updated_at
		// did not) is no change; a new body is.
		reread, shifted := gear, gear
		reread.ID, shifted.ID = "reread", "shifted"
		var d events.SignalData
		if err := json.Unmarshal(gear.Data, &d); err != nil {
			t.Fatal(err)
		}
		d.RetrievedAt = d.RetrievedAt.Add(time.Hour)
		reread.Data, _ = json.Marshal(d)
		d.Body = json.RawMessage(`{"value":"R"}`)
		shifted.Data, _ = json.Marshal(d)
		for ev, want := range map[*events.Event]bool{&gear: false, &otherCode: true, &reread: false, &shifted: true} {
			if got, err := latest.Changed(ctx, *ev); err != nil || got != want {
				t.Errorf("Changed(generic %s) = %v, %v; want %v, nil", ev.Data, got, err, want)
			}
		}
		if got, err := latest.GetGeneric(ctx, "v1", "transmission-gearstate"); err != nil || got.ID != gear.ID {
			t.Errorf("GetGeneric() = %s, %v; want event %s", got.ID, err, gear.ID)
		}
		if _, err := latest.GetGeneric(ctx, "v1", "wheel-tires"); !errors.Is(err, events.ErrNotFound) {
			t.Errorf("GetGeneric(unpublished code) error = %v, want ErrNotFound", err)
		}

		broken := next(`{"distance_km":`, 0)
		if _, err := latest.Changed(ctx, broken); err == nil {
			t.Error("Changed(invalid data) error = nil, want an error")
		}
	})
}

func TestLatest_Get(t *testing.T) {
	forEachServer(t, func(t *testing.T, js jetstream.JetStream) {
		ctx := testCtx(t)
		prefix := ensure(t, js, events.StreamConfig{Storage: jetstream.MemoryStorage})
		latest, err := events.NewLatest(js, prefix)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := latest.Get(ctx, "v1", events.SignalFuel); !errors.Is(err, events.ErrNotFound) {
			t.Errorf("Get() of nothing error = %v, want ErrNotFound", err)
		}
		if _, err := latest.Get(ctx, "v.1", events.SignalFuel); !errors.Is(err, events.ErrInvalidName) {
			t.Errorf("Get(bad vehicle) error = %v, want ErrInvalidName", err)
		}
		kv, err := js.KeyValue(ctx, events.LatestBucket(prefix))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kv.Put(ctx, "v1.fuel", []byte(`not json`)); err != nil {
			t.Fatal(err)
		}
		if _, err := latest.Get(ctx, "v1", events.SignalFuel); err == nil || errors.Is(err, events.ErrNotFound) {
			t.Errorf("Get() of a corrupt entry error = %v, want a decode error", err)
		}

		missing, err := events.NewLatest(js, prefix+"-missing")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := missing.Get(ctx, "v1", events.SignalFuel); err == nil || errors.Is(err, events.ErrNotFound) {
			t.Errorf("Get() without a bucket error = %v, want a bucket error", err)
		}
	})
	if _, err := events.NewLatest(nil, "a.b"); err == nil {
		t.Error(`NewLatest(nil, "a.b") error = nil, want an error`)
	}
}
