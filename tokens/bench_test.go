package tokens_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// BenchmarkListVehicles lists n registered vehicles. The redis_hgetall row is
// the baseline: one raw HGETALL of the registration hash, no decoding.
func BenchmarkListVehicles(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		vs := make([]tokens.Vehicle, n)
		at := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
		for i := range vs {
			vs[i] = tokens.Vehicle{ID: fmt.Sprintf("veh-%06d", i), GrantID: fmt.Sprintf("g%d", i%5000),
				Tags: []string{"fleet"}, ConnectedAt: at, LastPoll: at}
		}
		b.Run(fmt.Sprintf("redis_hgetall/n=%d", n), func(b *testing.B) {
			rdb := testserverRedis(b)
			prefix := uniquePrefix()
			b.Cleanup(func() { deleteRedisPrefix(b, rdb, prefix) })
			putAll(b, tokens.NewRedisStore(rdb, prefix), vs)
			for b.Loop() {
				if m, err := rdb.HGetAll(b.Context(), prefix+"vehicles").Result(); err != nil || len(m) != n {
					b.Fatalf("HGETALL: %d, %v", len(m), err)
				}
			}
		})
		for _, be := range []struct {
			name string
			new  func(b *testing.B) tokens.Store
		}{
			{"redis", func(b *testing.B) tokens.Store { return newRedisStore(b) }},
			{"kv_nats_embedded", func(b *testing.B) tokens.Store { return newKVStore(b, embeddedJetStream(b)) }},
		} {
			b.Run(fmt.Sprintf("%s/n=%d", be.name, n), func(b *testing.B) {
				s := be.new(b)
				putAll(b, s, vs)
				for b.Loop() {
					if got, err := s.ListVehicles(b.Context()); err != nil || len(got) != n {
						b.Fatalf("ListVehicles: %d, %v", len(got), err)
					}
				}
			})
		}
	}
}

// BenchmarkAccessToken is the per-job cost of a fresh token (no refresh).
func BenchmarkAccessToken(b *testing.B) {
	for _, be := range []struct {
		name string
		new  func(b *testing.B) tokens.Store
	}{
		{"redis", func(b *testing.B) tokens.Store { return newRedisStore(b) }},
		{"kv_nats_embedded", func(b *testing.B) tokens.Store { return newKVStore(b, embeddedJetStream(b)) }},
	} {
		b.Run(be.name, func(b *testing.B) {
			c := newClock()
			auth := newFakeAuth(c, lifetime)
			m := tokens.NewManager(be.new(b), auth, tokens.ManagerConfig{Now: c.Now}, nil)
			if err := m.Connect(b.Context(), "g1", auth.issue("g1"), []tokens.Vehicle{{ID: "v1"}}); err != nil {
				b.Fatal(err)
			}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := m.AccessToken(b.Context(), "v1"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
