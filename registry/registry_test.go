package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
	"github.com/smartcar-poller/smartcar-poller/registry/registrytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backend makes a fresh, empty Store for one test on a real server.
type backend struct {
	name     string
	newStore func(t *testing.T) registry.Store
}

// backends are the shared Redis and, as the daemon runs it, the KV store
// with its mirror on an in-process nats-server.
func backends(t *testing.T) []backend {
	t.Helper()
	js := testserver.EmbeddedJetStream(t)
	return []backend{
		{"redis", func(t *testing.T) registry.Store {
			rdb := testserver.Redis(t)
			return redisregistry.New(rdb, testserver.RedisPrefix(t, rdb, "regt"))
		}},
		{"kv_mirrored", func(t *testing.T) registry.Store {
			prefix := testserver.Unique("regt_")
			v, l := kvregistry.Buckets(prefix)
			d, p := kvregistry.PlanBuckets(prefix)
			testserver.DeleteBucketsAtCleanup(t, js, v, l, d, p)
			s, err := kvregistry.Open(t.Context(), js, kvregistry.Config{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.StartMirror(t.Context(), testserver.Logger(t)); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			return s
		}},
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestLocalLeases runs the conformance suite on the Redis store with its
// leases in memory (the KV store's runs in kvregistry, as the daemon wires
// it), then checks that the leases are the process's: the store's own
// lease of a vehicle does not stop a local one.
func TestLocalLeases(t *testing.T) {
	rdb := testserver.Redis(t)
	registrytest.Run(t, func(t *testing.T) registry.Store {
		return registry.LocalLeases(redisregistry.New(rdb, testserver.RedisPrefix(t, rdb, "regl")))
	})
	t.Run("in_memory", func(t *testing.T) {
		ctx := testCtx(t)
		s := redisregistry.New(rdb, testserver.RedisPrefix(t, rdb, "regl"))
		local := registry.LocalLeases(s)
		registrytest.PutAll(t, s, []registry.Vehicle{{ID: "v1", GrantID: "g1"}})
		theirs, err := s.StartPoll(ctx, "v1", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := local.StartPoll(ctx, "v1", time.Minute)
		if err != nil {
			t.Fatalf("local StartPoll beside the store's lease: %v", err)
		}
		if _, err := local.StartPoll(ctx, "v1", time.Minute); !errors.Is(err, registry.ErrLeased) {
			t.Errorf("second local StartPoll err = %v, want ErrLeased", err)
		}
		for _, u := range []func(context.Context) error{ours.Unlock, theirs.Unlock} {
			if err := u(ctx); err != nil {
				t.Error(err)
			}
		}
	})
}

// statuses records a StatusSetter's writes over a real store and fails
// the ones for vehicles named in fail.
type statuses struct {
	registry.Store
	fail []string
	sets atomic.Int32
}

func (s *statuses) SetStatus(ctx context.Context, id string, st events.Status, reason string) error {
	s.sets.Add(1)
	if slices.Contains(s.fail, id) {
		return fmt.Errorf("set status: %w", io.ErrUnexpectedEOF)
	}
	return s.Store.SetStatus(ctx, id, st, reason)
}

// TestSetGrantStatus: every vehicle of the grant not already in the status
// and not excepted gets it, with the reason; other grants' vehicles keep
// theirs; a failed write does not stop the others.
func TestSetGrantStatus(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := testCtx(t)
			s := &statuses{Store: b.newStore(t)}
			registrytest.PutAll(t, s, []registry.Vehicle{
				{ID: "a1", GrantID: "a"}, {ID: "a2", GrantID: "a"}, {ID: "a3", GrantID: "a", Status: events.StatusNeedsReauth, Reason: "before"},
				{ID: "a4", GrantID: "a"}, {ID: "b1", GrantID: "b"},
			})
			n, err := registry.SetGrantStatus(ctx, s, "a", events.StatusNeedsReauth, "revoked", "a2")
			if err != nil || n != 2 {
				t.Fatalf("SetGrantStatus = %d, %v; want 2 (a1, a4), nil", n, err)
			}
			want := map[string][2]string{
				"a1": {"needs_reauth", "revoked"}, "a2": {"connected", ""}, "a3": {"needs_reauth", "before"},
				"a4": {"needs_reauth", "revoked"}, "b1": {"connected", ""},
			}
			for id, w := range want {
				v, err := s.GetVehicle(ctx, id)
				if err != nil || string(v.Status) != w[0] || v.Reason != w[1] {
					t.Errorf("%s: %s %q, %v; want %s %q", id, v.Status, v.Reason, err, w[0], w[1])
				}
			}
			s.fail = []string{"a1"}
			n, err = registry.SetGrantStatus(ctx, s, "a", events.StatusDisconnected, "gone")
			if !errors.Is(err, io.ErrUnexpectedEOF) || n != 3 {
				t.Errorf("SetGrantStatus with a failing write = %d, %v; want 3 and the failure", n, err)
			}
		})
	}
}

func TestVehicle_CheckPollable(t *testing.T) {
	for _, tt := range []struct {
		status events.Status
		want   error
	}{
		{events.StatusConnected, nil},
		{events.StatusRateLimited, nil},
		{events.StatusNeedsReauth, registry.ErrNeedsReauth},
		{events.StatusDisabled, registry.ErrInactive},
		{events.StatusDisconnected, registry.ErrInactive},
	} {
		err := registry.Vehicle{ID: "v1", Status: tt.status}.CheckPollable()
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("CheckPollable(%s) = %v, want %v", tt.status, err, tt.want)
		}
	}
}

func TestHoldMillis(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	for _, tt := range []struct {
		t    time.Time
		want int64
	}{
		{at, 1_700_000_000_123},
		{at.Add(time.Nanosecond), 1_700_000_000_124}, // never ends before the time asked for
		{at.Add(999 * time.Microsecond), 1_700_000_000_124},
	} {
		if got := registry.HoldMillis(tt.t); got != tt.want {
			t.Errorf("HoldMillis(%v) = %d, want %d", tt.t, got, tt.want)
		}
	}
	if !registry.HoldEnd(time.Now().Add(-time.Second).UnixMilli()).IsZero() {
		t.Error("HoldEnd of a past hold is not zero")
	}
	if until := time.Now().Add(time.Hour); registry.HoldEnd(until.UnixMilli()).IsZero() {
		t.Error("HoldEnd of a future hold is zero")
	}
}
