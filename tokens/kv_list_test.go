package tokens_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// TestKVStore_ListVehiclesDuringWrites lists the registry while other
// vehicles' entries are being rewritten (as TouchPoll does on every poll).
// A KV watch counts the rewrites towards the initial values it expects, so a
// list that stops at the watch's "initial values done" marker misses keys.
func TestKVStore_ListVehiclesDuringWrites(t *testing.T) {
	for name, js := range map[string]func(testing.TB) tokens.Store{
		"kv_nats_embedded": func(t testing.TB) tokens.Store { return newKVStore(t, embeddedJetStream(t)) },
		"kv_nats_shared":   func(t testing.TB) tokens.Store { return newKVStore(t, sharedJetStream(t)) },
	} {
		t.Run(name, func(t *testing.T) {
			s := js(t)
			ctx := t.Context()
			const n = 300
			for i := range n {
				v := tokens.Vehicle{ID: fmt.Sprintf("veh-%03d", i), GrantID: "g1", Status: tokens.StatusConnected}
				if err := s.PutVehicle(ctx, v); err != nil {
					t.Fatal(err)
				}
			}
			defer rewriteEarlyKeys(t, s)()
			for range 30 {
				list, err := s.ListVehicles(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(list) != n {
					t.Fatalf("ListVehicles returned %d vehicles while others were written, want %d", len(list), n)
				}
			}
		})
	}
}

// rewriteEarlyKeys rewrites the first 20 of the vehicles veh-000... (as
// TouchPoll does on every poll) until the returned stop is called: the watch
// has delivered those keys already when they are rewritten.
func rewriteEarlyKeys(t *testing.T, s tokens.Store) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		at := time.Now()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			at = at.Add(time.Millisecond)
			if err := s.TouchPoll(t.Context(), fmt.Sprintf("veh-%03d", i%20), at); err != nil {
				t.Error(err)
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
