package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/registry"
)

// failingToucher fails the next TouchPoll calls of a real store.
type failingToucher struct {
	registry.Store
	fail  atomic.Int32
	calls atomic.Int32
}

func (f *failingToucher) TouchPoll(ctx context.Context, id string, t time.Time) error {
	f.calls.Add(1)
	if f.fail.Add(-1) >= 0 {
		return fmt.Errorf("touch poll: %w", io.ErrUnexpectedEOF)
	}
	return f.Store.TouchPoll(ctx, id, t)
}

func TestPollRecorder(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := testCtx(t)
			store := &failingToucher{Store: b.newStore(t)}
			for _, id := range []string{"v1", "v2", "v3"} {
				if err := store.PutVehicle(ctx, registry.Vehicle{ID: id, GrantID: "g"}); err != nil {
					t.Fatal(err)
				}
			}
			r := registry.NewPollRecorder(store, time.Hour, nil)
			base := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
			var wg sync.WaitGroup
			for i := range 300 { // many polls, out of order, from many goroutines
				wg.Go(func() {
					_ = r.TouchPoll(ctx, fmt.Sprintf("v%d", i%2+1), base.Add(time.Duration(i)*time.Millisecond))
				})
			}
			wg.Wait()
			_ = r.TouchPoll(ctx, "gone", base) // removed before the write
			if got := r.Pending(); got != 3 {
				t.Fatalf("Pending = %d, want 3 (v1, v2, gone)", got)
			}
			if v, _ := store.GetVehicle(ctx, "v1"); !v.LastPoll.IsZero() {
				t.Fatalf("LastPoll written before a flush: %v", v.LastPoll)
			}

			// The first write fails: it stays noted for the next round.
			store.fail.Store(1)
			if err := r.Flush(ctx); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("Flush with a failing write err = %v", err)
			}
			if got := r.Pending(); got != 1 {
				t.Fatalf("after a failed write Pending = %d, want 1", got)
			}
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			want := map[string]time.Time{"v1": base.Add(298 * time.Millisecond), "v2": base.Add(299 * time.Millisecond)}
			for id, at := range want {
				v, err := store.GetVehicle(ctx, id)
				if err != nil || !v.LastPoll.Equal(at) {
					t.Errorf("%s LastPoll = %v, %v; want the latest noted %v", id, v.LastPoll, err, at)
				}
			}
			if v, _ := store.GetVehicle(ctx, "v3"); !v.LastPoll.IsZero() {
				t.Errorf("v3 was never polled but has LastPoll %v", v.LastPoll)
			}
			if ok, failed := r.Writes(); ok != 2 || failed != 1 {
				t.Errorf("Writes = %d ok, %d failed; want 2 and 1", ok, failed)
			}
			if _, err := store.GetVehicle(ctx, "gone"); !errors.Is(err, registry.ErrNotFound) {
				t.Errorf("recording a removed vehicle's poll registered it: %v", err)
			}

			// Run writes on its interval's end, and once more when stopped.
			r2 := registry.NewPollRecorder(store, time.Hour, nil)
			rctx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- r2.Run(rctx) }()
			// Through Recording, as the daemon's worker calls it.
			if err := r2.Recording(store).TouchPoll(ctx, "v3", base.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			stop()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if v, _ := store.GetVehicle(ctx, "v3"); !v.LastPoll.Equal(base.Add(time.Minute)) {
				t.Errorf("after Run stopped, v3 LastPoll = %v; want it written at shutdown", v.LastPoll)
			}
		})
	}
}
