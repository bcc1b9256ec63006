package main

import (
	"cmp"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// baselineAPI is the Smartcar call and normalization of one baseline poll.
type baselineAPI interface {
	poll(ctx context.Context, f *fleet, vehicleID, jobID string, tick time.Time) ([]events.Event, error)
}

// v2Baseline polls with one API v2 batch call (the fleet's access tokens).
type v2Baseline struct{ api *smartcar.Client }

func (b v2Baseline) poll(ctx context.Context, f *fleet, vid, jobID string, tick time.Time) ([]events.Event, error) {
	res, err := b.api.Batch(ctx, f.access[vid], vid, benchPaths)
	if err != nil {
		return nil, fmt.Errorf("baseline batch: %w", err)
	}
	return toEvents(res, vid, jobID, tick)
}

// v3Baseline polls with one API v3 /signals call as the application, on
// behalf of the vehicle's user.
type v3Baseline struct{ app *smartcar.AppClient }

func (b v3Baseline) poll(ctx context.Context, f *fleet, vid, jobID string, tick time.Time) ([]events.Event, error) {
	sigs, err := b.app.Vehicle(vid, f.user[vid]).Signals(ctx)
	if err != nil {
		return nil, fmt.Errorf("baseline signals: %w", err)
	}
	return signalEvents(sigs, vid, jobID, tick)
}

// baseline is the baseline of the scenario's API.
func (s *scenario) baseline(api string) baselineAPI {
	if api == config.APIV2 {
		return v2Baseline{s.api}
	}
	return v3Baseline{s.app}
}

// runBaseline is the pipeline's baseline: concurrency goroutines in a tight
// loop doing only what a poll must do — the Smartcar call (an API v2 batch
// or an API v3 /signals), turning it into the three events and publishing
// them with an events.Publisher — for the same (vehicle, tick) pairs the
// pipeline polls. No queue, no scheduler, no registry or token store:
// access tokens and users come from maps.
func runBaseline(ctx context.Context, e *natsEnv, prefix string, api baselineAPI, f *fleet, ticks, concurrency int) (time.Duration, error) {
	if err := events.EnsureStream(ctx, e.js, events.StreamConfig{Prefix: prefix, Storage: jetstream.FileStorage}); err != nil {
		return 0, fmt.Errorf("baseline events stream: %w", err)
	}
	pub, err := events.NewPublisher(e.js, events.PublisherConfig{Prefix: prefix})
	if err != nil {
		return 0, fmt.Errorf("baseline publisher: %w", err)
	}
	n := int64(len(f.vehicles))
	total := n * int64(ticks)
	var next atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	start := time.Now()
	for range concurrency {
		g.Go(func() error {
			for {
				i := next.Add(1) - 1
				if i >= total {
					return nil
				}
				vid, tick := f.vehicles[i%n], tickAt(int(i/n))
				evs, err := api.poll(gctx, f, vid, queue.JobID(scheduleName, vid, tick), tick)
				if err != nil {
					return err
				}
				if err := pub.Publish(gctx, evs...); err != nil {
					return fmt.Errorf("baseline publish: %w", err)
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	want := uint64(total) * uint64(len(benchPaths))
	got, err := e.streamMsgs(ctx, events.StreamName(prefix))
	if err != nil {
		return 0, err
	}
	if got != want {
		return 0, fmt.Errorf("baseline: stream holds %d events, want %d", got, want)
	}
	return elapsed, nil
}

// toEvents is the minimal normalization of the three benchmark paths
// (metric units requested, so no conversion), with the same ids and
// attributes as the worker's events.
func toEvents(res *smartcar.BatchResponse, vehicleID, jobID string, tick time.Time) ([]events.Event, error) {
	items := res.Items()
	evs := make([]events.Event, 0, len(items))
	for _, it := range items {
		var (
			sig  events.Signal
			data any
		)
		switch it.Path {
		case smartcar.PathOdometer:
			var v smartcar.Odometer
			if err := it.Decode(&v); err != nil {
				return nil, fmt.Errorf("baseline decode %s: %w", it.Path, err)
			}
			sig, data = events.SignalOdometer, events.OdometerData{DistanceKm: v.Distance}
		case smartcar.PathLocation:
			var v smartcar.Location
			if err := it.Decode(&v); err != nil {
				return nil, fmt.Errorf("baseline decode %s: %w", it.Path, err)
			}
			sig, data = events.SignalLocation, events.LocationData{Latitude: v.Latitude, Longitude: v.Longitude}
		case smartcar.PathBattery:
			var v smartcar.Battery
			if err := it.Decode(&v); err != nil {
				return nil, fmt.Errorf("baseline decode %s: %w", it.Path, err)
			}
			sig, data = events.SignalBattery, events.BatteryData{PercentRemaining: v.PercentRemaining, RangeKm: v.Range}
		default:
			return nil, fmt.Errorf("baseline: unexpected path %q", it.Path)
		}
		ev, err := events.New(sig, vehicleID, data, events.Meta{
			ID:        events.EventID(jobID, it.Path),
			Time:      it.Meta.DataAge,
			RequestID: it.Meta.RequestID,
			FetchedAt: it.Meta.FetchedAt,
			Schedule:  scheduleName,
			Tick:      tick,
		})
		if err != nil {
			return nil, fmt.Errorf("baseline event: %w", err)
		}
		evs = append(evs, ev)
	}
	return evs, nil
}

// benchSignal is what the v3 baseline keeps of a vehicle's signals: the
// three of the schedule.
var benchSignal = map[events.Signal]bool{events.SignalOdometer: true, events.SignalLocation: true, events.SignalBattery: true}

// signalEvents is the v3 baseline's normalization: normalize.FromSignals,
// as the worker, and an event for each of the three signals, with the
// worker's ids and attributes.
func signalEvents(sigs *smartcar.Signals, vehicleID, jobID string, tick time.Time) ([]events.Event, error) {
	res, err := normalize.FromSignals(sigs, nil)
	if err != nil {
		return nil, fmt.Errorf("baseline normalize: %w", err)
	}
	evs := make([]events.Event, 0, len(benchSignal))
	for _, it := range res.Items {
		if !benchSignal[it.Signal] {
			continue
		}
		ev, err := events.New(it.Signal, vehicleID, it.Data, events.Meta{
			ID:        events.EventID(jobID, it.Key),
			Time:      it.Time,
			RequestID: cmp.Or(it.RequestID, sigs.Meta.RequestID),
			FetchedAt: it.FetchedAt,
			Schedule:  scheduleName,
			Tick:      tick,
		})
		if err != nil {
			return nil, fmt.Errorf("baseline event: %w", err)
		}
		evs = append(evs, ev)
	}
	if len(evs) != len(benchSignal) {
		return nil, fmt.Errorf("baseline: vehicle %s gave %d of the %d signals", vehicleID, len(evs), len(benchSignal))
	}
	return evs, nil
}
