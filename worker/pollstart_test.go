package worker_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/rediscredentials"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

// Both registry backends are the worker's Registry, and the credentials
// manager its Tokens: no fast path is found by type assertion.
var (
	_ worker.Registry = (*redisregistry.Store)(nil)
	_ worker.Registry = (*kvregistry.Store)(nil)
	_ worker.Registry = registry.Store(nil)
	_ worker.Tokens   = (*credentials.Manager)(nil)
)

// roundTrips is a go-redis hook counting what a client sends: each command
// and each pipeline or transaction is one round trip.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// backgroundPolls is the registry as the daemon wires it: last polls go to
// registry.PollRecorder, written in the background, so they are not part of
// a poll's own round trips (here they are not written at all).
type backgroundPolls struct{ registry.Store }

func (backgroundPolls) TouchPoll(context.Context, string, time.Time) error { return nil }

// noRefresh fails every refresh: the counted polls must not need one.
type noRefresh struct{}

func (noRefresh) ExchangeRefreshToken(context.Context, string) (*smartcar.Access, error) {
	return nil, errors.New("no refresh expected")
}

// TestHandle_StoreRoundTripsPerPoll counts the store round trips of one
// successful poll, the credentials manager's included (its token cache
// warm, last polls in the background as the daemon writes them). With
// Redis the worker takes lease, hold and vehicle in one StartPoll and
// releases the lease: 2 round trips. With the embedded KV registry as the
// daemon wires it (its mirror, leases in the process) a poll sends nothing
// to NATS for the registry; with its leases in the bucket, 4 (take and
// release).
func TestHandle_StoreRoundTripsPerPoll(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	rdb := testserver.Redis(t)
	hook := &roundTrips{}
	rdb.AddHook(hook)
	mgr := credentials.NewManager(rediscredentials.New(rdb, f.prefix+":", nil), noRefresh{}, credentials.ManagerConfig{}, nil)

	// The KV registry on a connection of its own, whose messages are counted.
	nc, err := nats.Connect(testserver.EmbeddedNATS(t).ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := kvregistry.Open(t.Context(), js, kvregistry.Config{Prefix: "wk"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.store.GetVehicle(t.Context(), f.bev)
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.PutVehicle(t.Context(), v); err != nil {
		t.Fatal(err)
	}
	if err := kv.StartMirror(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(kv.Close)

	tests := []struct {
		name  string
		reg   registry.Store
		count func() int64
		want  int64
	}{
		{"redis", redisregistry.New(rdb, f.prefix+":"), hook.n.Load, 2}, // StartPoll, unlock
		// Leases in the bucket, as a second process would need: the take is
		// a create over the last release's delete marker (3), the release 1.
		{"kv_mirrored", kv, func() int64 { return int64(nc.Stats().OutMsgs) }, 4},
		{"kv_mirrored_local_leases", registry.LocalLeases(kv), func() int64 { return int64(nc.Stats().OutMsgs) }, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := worker.New(worker.Config{}, nil, worker.Deps{
				Tokens: mgr, API: f.client, Registry: backgroundPolls{tt.reg}, Publisher: f.pub,
				Changes: f.pub, Enqueuer: f.q, Limiter: unlimited(),
			})
			if err != nil {
				t.Fatal(err)
			}
			tick := tick0.Add(time.Duration(i) * time.Hour)
			// The first poll warms the token cache and loads the Lua scripts.
			if err := w.Handle(t.Context(), job(f.bev, tick, "always", "/odometer"), queue.Delivery{Deliveries: 1}); err != nil {
				t.Fatal(err)
			}
			before, redisBefore := tt.count(), hook.n.Load()
			if err := w.Handle(t.Context(), job(f.bev, tick.Add(time.Minute), "always", "/odometer"), queue.Delivery{Deliveries: 1}); err != nil {
				t.Fatal(err)
			}
			got := tt.count() - before
			t.Logf("%s: %d store round trips per successful poll", tt.name, got)
			if got != tt.want {
				t.Errorf("%d store round trips per poll, want %d", got, tt.want)
			}
			if n := hook.n.Load() - redisBefore; tt.name != "redis" && n != 0 {
				t.Errorf("%d Redis round trips with the KV registry, want 0 (the manager's token cache)", n)
			}
		})
	}
}

// startPolls counts a registry's StartPoll calls.
type startPolls struct {
	registry.Store
	n atomic.Int64
}

func (r *startPolls) StartPoll(ctx context.Context, id string, ttl time.Duration) (registry.PollStart, error) {
	r.n.Add(1)
	return r.Store.StartPoll(ctx, id, ttl)
}

// TestHandle_HeldVehicleWithEitherLease: a vehicle under a Retry-After hold is
// snoozed until its end (dropped when longer than MaxSnooze) without a call,
// with either kind of lease; the hold comes with the lease (one StartPoll
// per poll, nothing else read) and the lease is released.
func TestHandle_HeldVehicleWithEitherLease(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	ctx := t.Context()
	for i, shape := range leaseShapes(f) {
		t.Run(shape.name, func(t *testing.T) {
			vehicle := []string{f.bev, f.ice}[i]
			reg := &startPolls{Store: shape.store}
			w := f.replica(t, worker.Config{MaxSnooze: time.Minute}, reg, unlimited())
			before := f.sim.Stats().Requests
			if err := f.store.SetHold(ctx, vehicle, time.Now().Add(20*time.Second)); err != nil {
				t.Fatal(err)
			}
			err := w.Handle(ctx, job(vehicle, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1})
			if d, ok := queue.SnoozeDelay(err); !ok || d < 15*time.Second || d > 20*time.Second+time.Millisecond {
				t.Errorf("Handle of a vehicle held 20s = %v, want a snooze of about 20s", err)
			}
			if err := f.store.SetHold(ctx, vehicle, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			err = w.Handle(ctx, job(vehicle, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1})
			if !queue.IsDrop(err) {
				t.Errorf("Handle of a vehicle held 1h (MaxSnooze 1m) = %v, want a drop", err)
			}
			if got := f.sim.Stats().Requests - before; got != 0 {
				t.Errorf("%d Smartcar requests for a held vehicle, want 0", got)
			}
			if got := reg.n.Load(); got != 2 {
				t.Errorf("StartPoll calls = %d, want 2", got)
			}
			leaseFree(t, shape.store, vehicle)
		})
	}
}

// TestHandle_UnpollableVehicleWithEitherLease: unknown, disabled and
// disconnected vehicles are dropped, a needs_reauth one too with its status
// event, without a Smartcar call and leaving no lease, with either lease.
func TestHandle_UnpollableVehicleWithEitherLease(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	ctx := t.Context()
	for i, shape := range leaseShapes(f) {
		t.Run(shape.name, func(t *testing.T) {
			w := f.replica(t, worker.Config{}, shape.store, unlimited())
			for j, tt := range []struct {
				status events.Status // "": not registered
				want   error
			}{
				{"", registry.ErrNotFound},
				{events.StatusDisabled, registry.ErrInactive},
				{events.StatusDisconnected, registry.ErrInactive},
				{events.StatusNeedsReauth, registry.ErrNeedsReauth},
			} {
				vehicle := "ghost-" + shape.name
				if tt.status != "" {
					vehicle = string(tt.status) + "-" + shape.name
					if err := f.store.PutVehicle(ctx, registry.Vehicle{ID: vehicle, GrantID: f.user, Status: tt.status}); err != nil {
						t.Fatal(err)
					}
				}
				before := f.sim.Stats().Requests
				tick := tick0.Add(time.Duration(10*i+j) * time.Minute)
				err := w.Handle(ctx, job(vehicle, tick, "always", "/odometer"), queue.Delivery{Deliveries: 1})
				if !queue.IsDrop(err) || !errors.Is(err, tt.want) {
					t.Errorf("%s vehicle: Handle = %v, want a drop wrapping %v", cmpStatus(tt.status), err, tt.want)
				}
				if got := f.sim.Stats().Requests - before; got != 0 {
					t.Errorf("%s vehicle: %d Smartcar requests, want 0", cmpStatus(tt.status), got)
				}
				leaseFree(t, shape.store, vehicle)
				if tt.status == events.StatusNeedsReauth {
					var found bool
					for _, ev := range bySignal(f.stored(t))[events.SignalStatus] {
						found = found || strings.Contains(string(ev.Data), `"needs_reauth"`) && strings.Contains(ev.Subject, vehicle)
					}
					if !found {
						t.Errorf("no needs_reauth status event for %s", vehicle)
					}
				}
			}
		})
	}
}

func cmpStatus(s events.Status) string {
	if s == "" {
		return "unknown"
	}
	return string(s)
}
