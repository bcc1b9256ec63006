package limiter_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/limiter"
)

// newShared returns a limiter on the shared Redis under a prefix no other
// test uses, deleting its key when the test ends.
func newShared(t testing.TB, rdb *redis.Client, prefix string, l limiter.Limit) *limiter.Shared {
	t.Helper()
	s, err := limiter.NewShared(rdb, prefix, l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Del(context.Background(), s.Key()) })
	return s
}

func TestNewShared_Validation(t *testing.T) {
	rdb := testserver.Redis(t)
	for _, tc := range []struct {
		name string
		rdb  redis.Scripter
		l    limiter.Limit
		ok   bool
	}{
		{"valid", rdb, limiter.Limit{PerMinute: 2, Burst: 120}, true},
		{"fractional rate", rdb, limiter.Limit{PerMinute: 0.5, Burst: 1}, true},
		{"nil client", nil, limiter.Limit{PerMinute: 2, Burst: 1}, false},
		{"zero rate", rdb, limiter.Limit{PerMinute: 0, Burst: 1}, false},
		{"negative rate", rdb, limiter.Limit{PerMinute: -1, Burst: 1}, false},
		{"zero burst", rdb, limiter.Limit{PerMinute: 60, Burst: 0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := limiter.NewShared(tc.rdb, "x:", tc.l)
			if got := err == nil; got != tc.ok {
				t.Errorf("NewShared(%+v) error = %v, want ok=%v", tc.l, err, tc.ok)
			}
		})
	}
}

// TestShared_Reserve_SharedByProcesses reserves from three limiters on
// separate connections (as three replicas would): together they get the
// burst at once, then one slot per emission interval, never more.
func TestShared_Reserve_SharedByProcesses(t *testing.T) {
	prefix := testserver.Unique("lim") + ":"
	const burst, perReplica, replicas = 3, 8, 3
	l := limiter.Limit{PerMinute: 60, Burst: burst} // one slot a second
	var ls []*limiter.Shared
	for range replicas {
		s := newShared(t, testserver.Redis(t), prefix, l)
		ls = append(ls, s)
	}
	if got := ls[0].Burst(); got != burst-1 {
		t.Fatalf("Burst() = %d, want %d: one token kept back as headroom", got, burst-1)
	}
	start := time.Now()
	var (
		mu    sync.Mutex
		waits []time.Duration
		wg    sync.WaitGroup
	)
	for _, s := range ls {
		wg.Go(func() {
			for range perReplica {
				w, err := s.Reserve(t.Context(), time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				waits = append(waits, w)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(waits)
	if len(waits) != replicas*perReplica {
		t.Fatalf("got %d reservations, want %d", len(waits), replicas*perReplica)
	}
	// Slot i is due (i-burst+2) seconds after the first reservation (one
	// token is headroom); the wait Redis reports is that minus the time
	// already passed when asked.
	for i, got := range waits {
		want := time.Duration(max(i-burst+2, 0)) * time.Second
		if got > want || got < want-elapsed {
			t.Errorf("reservation %d waits %v, want within [%v, %v]", i, got, want-elapsed, want)
		}
	}
	rdb := testserver.Redis(t)
	ttl, err := rdb.PTTL(t.Context(), ls[0].Key()).Result()
	if err != nil {
		t.Fatal(err)
	}
	if maxTTL := time.Duration(replicas*perReplica+1) * time.Second; ttl <= 0 || ttl > maxTTL {
		t.Errorf("key TTL = %v, want in (0, %v]: the key expires once the bucket is full again", ttl, maxTTL)
	}
}

func TestShared_Reserve_BeyondMaxWaitTakesNothing(t *testing.T) {
	s := newShared(t, testserver.Redis(t), testserver.Unique("lim")+":", limiter.Limit{PerMinute: 6, Burst: 1}) // 10 s a slot
	ctx := t.Context()
	if w, err := s.Reserve(ctx, time.Second); err != nil || w != 0 {
		t.Fatalf("first Reserve = %v, %v; want 0, nil (the burst)", w, err)
	}
	for range 3 {
		_, err := s.Reserve(ctx, time.Second)
		var we *limiter.WaitError
		if !errors.As(err, &we) || we.Delay() <= 9*time.Second || we.Delay() > 10*time.Second {
			t.Fatalf("Reserve within 1s = %v; want a *WaitError of about 10s", err)
		}
	}
	// The refused calls reserved nothing: the next slot is still the second one.
	w, err := s.Reserve(ctx, time.Minute)
	if err != nil || w <= 9*time.Second || w > 10*time.Second {
		t.Errorf("Reserve within 1m = %v, %v; want about 10s, nil", w, err)
	}
}

func TestShared_Wait(t *testing.T) {
	rdb := testserver.Redis(t)
	t.Run("sleeps_until_the_slot", func(t *testing.T) {
		s := newShared(t, rdb, testserver.Unique("lim")+":", limiter.Limit{PerMinute: 600, Burst: 1}) // 100 ms a slot
		start := time.Now()
		for range 3 {
			if err := s.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		// The burst is 1, so the third call came at least two intervals after the first.
		if got := time.Since(start); got < 190*time.Millisecond {
			t.Errorf("3 calls at 10/s with burst 1 took %v, want >= 200ms", got)
		}
	})
	t.Run("deadline_before_the_slot", func(t *testing.T) {
		s := newShared(t, rdb, testserver.Unique("lim")+":", limiter.Limit{PerMinute: 1, Burst: 1})
		if err := s.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		err := s.Wait(ctx)
		var we *limiter.WaitError
		if !errors.As(err, &we) {
			t.Fatalf("Wait with a 5s deadline for a slot a minute away = %v, want *WaitError", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		s := newShared(t, rdb, testserver.Unique("lim")+":", limiter.Limit{PerMinute: 1, Burst: 1})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Wait(cancelled) = %v, want context.Canceled", err)
		}
		if n, _ := rdb.Exists(t.Context(), s.Key()).Result(); n != 0 {
			t.Errorf("a cancelled Wait reserved a slot")
		}
	})
	t.Run("redis_down", func(t *testing.T) {
		down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
		defer down.Close()
		s, err := limiter.NewShared(down, "x:", limiter.Limit{PerMinute: 60, Burst: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Wait(t.Context()); err == nil {
			t.Error("Wait with Redis unreachable = nil, want an error (the budget fails closed)")
		}
	})
}

// TestChain_LocalFirst shows the local limiter is asked first: when it
// refuses, the shared bucket is not touched.
func TestShared_Burst(t *testing.T) {
	rdb := testserver.Redis(t)
	for _, tc := range []struct {
		name     string
		l        limiter.Limit
		headroom time.Duration
		want     int
	}{
		{"burst of one keeps nothing", limiter.Limit{PerMinute: 60, Burst: 1}, time.Second, 1},
		{"at least one token", limiter.Limit{PerMinute: 2, Burst: 120}, 250 * time.Millisecond, 119},
		{"headroom in tokens", limiter.Limit{PerMinute: 1200, Burst: 10}, 250 * time.Millisecond, 5},
		{"at most burst-1", limiter.Limit{PerMinute: 6000, Burst: 10}, time.Second, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := limiter.NewShared(rdb, "x:", tc.l)
			if err != nil {
				t.Fatal(err)
			}
			s.Headroom = tc.headroom
			if got := s.Burst(); got != tc.want {
				t.Errorf("Burst() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestChain_LocalFirst(t *testing.T) {
	rdb := testserver.Redis(t)
	shared := newShared(t, rdb, testserver.Unique("lim")+":", limiter.Limit{PerMinute: 60, Burst: 5})
	local := rate.NewLimiter(rate.Every(time.Hour), 1)
	c := limiter.Chain{local, shared}
	if err := c.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, _ := rdb.Exists(t.Context(), shared.Key()).Result(); n != 1 {
		t.Fatal("the first call did not reach the shared limiter")
	}
	before, _ := rdb.Get(t.Context(), shared.Key()).Result()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := c.Wait(ctx); err == nil {
		t.Fatal("second call through an exhausted local limiter = nil, want an error")
	}
	if after, _ := rdb.Get(t.Context(), shared.Key()).Result(); after != before {
		t.Errorf("the shared bucket moved (%s → %s) although the local limiter refused", before, after)
	}
}

// BenchmarkShared_Reserve measures one reservation: one EVALSHA round trip.
func BenchmarkShared_Reserve(b *testing.B) {
	rdb := testserver.Redis(b)
	s := newShared(b, rdb, testserver.Unique("lim")+":", limiter.Limit{PerMinute: 1e9, Burst: 1 << 30})
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Reserve(ctx, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
