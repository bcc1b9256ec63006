package credentials_test

import (
	"testing"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

// BenchmarkAccessToken is the per-job cost of a fresh token (no refresh).
func BenchmarkAccessToken(b *testing.B) {
	for _, be := range []struct {
		name string
		new  func(b *testing.B) credentials.Store
	}{
		{"redis", func(b *testing.B) credentials.Store { return newRedisStore(b) }},
		{"kv_nats_embedded", func(b *testing.B) credentials.Store { return newKVStore(b, testserver.EmbeddedJetStream(b)) }},
	} {
		b.Run(be.name, func(b *testing.B) {
			c := newClock()
			auth := newFakeAuth(c, lifetime)
			m := credentials.NewManager(be.new(b), auth, credentials.ManagerConfig{Now: c.Now}, nil)
			if err := m.Connect(b.Context(), "g1", auth.issue("g1")); err != nil {
				b.Fatal(err)
			}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := m.AccessToken(b.Context(), "g1"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
