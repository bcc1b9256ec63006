package worker_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/tokens"
	"github.com/smartcar-poller/smartcar-poller/worker"
)

var _ worker.PollStarter = (*tokens.RedisStore)(nil)
var _ worker.PollStarter = (*tokens.KVStore)(nil)
var _ worker.VehicleTokens = (*tokens.Manager)(nil)

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
// tokens.PollRecorder, written in the background, so they are not part of a
// poll's own round trips (here they are not written at all).
type backgroundPolls struct{ worker.Registry }

func (backgroundPolls) TouchPoll(context.Context, string, time.Time) error { return nil }

// noRefresh fails every refresh: the counted polls must not need one.
type noRefresh struct{}

func (noRefresh) ExchangeRefreshToken(context.Context, string) (*smartcar.Access, error) {
	return nil, errors.New("no refresh expected")
}

// TestHandle_StoreRoundTripsPerPoll counts the Redis round trips of one
// successful poll, the token manager's included (its token cache warm, last
// polls in the background as the daemon writes them): with a RedisStore as
// Leases the worker takes lease, hold and vehicle in one StartPoll and
// releases the lease: 2 round trips where a plain Lock makes 4.
func TestHandle_StoreRoundTripsPerPoll(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	hook := &roundTrips{}
	rdb := testserver.Redis(t)
	rdb.AddHook(hook)
	store := tokens.NewRedisStore(rdb, f.prefix+":")
	mgr := tokens.NewManager(store, noRefresh{}, tokens.ManagerConfig{}, nil)
	tests := []struct {
		name   string
		tokens worker.Tokens
		leases worker.Leases
		want   int64
	}{
		{"start_poll", mgr, store, 2},                                       // StartPoll, unlock
		{"lock", mgr, lockOnly{Leases: store}, 4},                           // Lock, hold, vehicle, unlock
		{"start_poll_tokens_by_id", struct{ worker.Tokens }{mgr}, store, 3}, // StartPoll, vehicle, unlock
		{"no_lease", mgr, nil, 3},                                           // hold, vehicle, hold again after the limiter
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := worker.New(worker.Config{}, nil, worker.Deps{
				Tokens: tt.tokens, API: f.client, Registry: backgroundPolls{store}, Publisher: f.pub,
				Changes: f.pub, Enqueuer: f.q, Limiter: unlimited(), Leases: tt.leases,
			})
			if err != nil {
				t.Fatal(err)
			}
			tick := tick0.Add(time.Duration(i) * time.Hour)
			// The first poll warms the token cache and loads the Lua scripts.
			if err := w.Handle(t.Context(), job(f.bev, tick, "always", "/odometer"), queue.Delivery{Deliveries: 1}); err != nil {
				t.Fatal(err)
			}
			hook.n.Store(0)
			if err := w.Handle(t.Context(), job(f.bev, tick.Add(time.Minute), "always", "/odometer"), queue.Delivery{Deliveries: 1}); err != nil {
				t.Fatal(err)
			}
			got := hook.n.Load()
			t.Logf("%s: %d store round trips per successful poll", tt.name, got)
			if got != tt.want {
				t.Errorf("%d store round trips per poll, want %d", got, tt.want)
			}
		})
	}
}

// holdReads counts the registry's hold reads.
type holdReads struct {
	worker.Registry
	n atomic.Int64
}

func (r *holdReads) Hold(ctx context.Context, id string) (time.Time, error) {
	r.n.Add(1)
	return r.Registry.Hold(ctx, id)
}

// TestHandle_HeldVehicleWithEitherLease: a vehicle under a Retry-After hold is
// snoozed until its end (dropped when longer than MaxSnooze) without a call,
// whether the lease comes from StartPoll (which reads the hold, so the
// registry's is never read) or from a plain Lock; the lease is released.
func TestHandle_HeldVehicleWithEitherLease(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	ctx := t.Context()
	for i, shape := range leaseShapes(f) {
		t.Run(shape.name, func(t *testing.T) {
			vehicle := []string{f.bev, f.ice}[i]
			reg := &holdReads{Registry: shape.store}
			w, err := worker.New(worker.Config{MaxSnooze: time.Minute}, nil, worker.Deps{
				Tokens: f.mgr, API: f.client, Registry: reg, Publisher: f.pub, Changes: f.pub,
				Enqueuer: f.q, Limiter: unlimited(), Leases: shape.store,
			})
			if err != nil {
				t.Fatal(err)
			}
			before := f.sim.Stats().Requests
			if err := f.store.SetHold(ctx, vehicle, time.Now().Add(20*time.Second)); err != nil {
				t.Fatal(err)
			}
			err = w.Handle(ctx, job(vehicle, tick0, "always", "/odometer"), queue.Delivery{Deliveries: 1})
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
			wantReads := map[string]int64{"start_poll": 0, "lock": 2}[shape.name]
			if got := reg.n.Load(); got != wantReads {
				t.Errorf("registry hold reads = %d, want %d", got, wantReads)
			}
			unlock, err := f.store.Lock(ctx, "poll:"+vehicle, time.Second)
			if err != nil {
				t.Fatalf("lease still taken after a held poll: %v", err)
			}
			_ = unlock(ctx)
		})
	}
}

// TestHandle_UnpollableVehicleWithEitherLease: unknown, disabled and
// disconnected vehicles are dropped, a needs_reauth one too with its status
// event, without a Smartcar call and leaving no lease, on either path.
func TestHandle_UnpollableVehicleWithEitherLease(t *testing.T) {
	f := setup(t, worker.Config{}, fixedClock)
	ctx := t.Context()
	for i, shape := range leaseShapes(f) {
		t.Run(shape.name, func(t *testing.T) {
			w := f.replica(t, worker.Config{}, shape.store, true, unlimited())
			for j, tt := range []struct {
				status tokens.Status // "": not registered
				want   error
			}{
				{"", tokens.ErrNotFound},
				{tokens.StatusDisabled, tokens.ErrInactive},
				{tokens.StatusDisconnected, tokens.ErrInactive},
				{tokens.StatusNeedsReauth, tokens.ErrReauthRequired},
			} {
				vehicle := "ghost-" + shape.name
				if tt.status != "" {
					vehicle = string(tt.status) + "-" + shape.name
					if err := f.store.PutVehicle(ctx, tokens.Vehicle{ID: vehicle, GrantID: f.user, Status: tt.status}); err != nil {
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
				unlock, err := f.store.Lock(ctx, "poll:"+vehicle, time.Second)
				if err != nil {
					t.Fatalf("%s vehicle: lease left taken: %v", cmpStatus(tt.status), err)
				}
				_ = unlock(ctx)
				if tt.status == tokens.StatusNeedsReauth {
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

func cmpStatus(s tokens.Status) string {
	if s == "" {
		return "unknown"
	}
	return string(s)
}
