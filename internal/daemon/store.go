package daemon

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/credentials/kvcredentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/rediscredentials"
	"github.com/smartcar-poller/smartcar-poller/marks"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/registry/kvregistry"
	"github.com/smartcar-poller/smartcar-poller/registry/redisregistry"
)

func (a *Daemon) openNATS(ctx context.Context, o Options) error {
	url := a.cfg.NATS.URL
	secOpts, err := NATSSecurityOptions(a.cfg.NATS)
	if err != nil {
		return err
	}
	if url == "" {
		if url, secOpts, err = a.embeddedNATS(ctx, o); err != nil {
			return err
		}
	}
	a.natsClosed = make(chan struct{})
	nc, err := nats.Connect(url, append(secOpts,
		nats.Name("smartcar-poller"),
		nats.ClosedHandler(func(*nats.Conn) { close(a.natsClosed) }),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				a.log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { a.log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }),
	)...)
	if err != nil {
		return fmt.Errorf("connect nats: %w", err)
	}
	a.nc = nc
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	a.js = js
	return nil
}

// openStore opens the credentials (token pairs encrypted at rest with
// a.keys), the vehicle registry and the marks. With the embedded ones and
// daemon set (a process that polls: the data_dir lock or the one-replica
// lock keeps any other out), the registry keeps vehicles and holds in
// memory and its poll leases in the process.
func (a *Daemon) openStore(ctx context.Context, daemon bool) error {
	if a.cfg.Redis.Mode() == config.RedisEmbedded {
		// On a NATS cluster the stores are replicated like the streams.
		prefix, replicas := a.cfg.NATS.SubjectPrefix, max(a.cfg.NATS.Replicas, 1)
		grants, err := kvcredentials.Open(ctx, a.js, kvcredentials.Config{Prefix: prefix, Replicas: replicas, Keyring: a.keys})
		if err != nil {
			return fmt.Errorf("embedded token store: %w", err)
		}
		reg, err := kvregistry.Open(ctx, a.js, kvregistry.Config{Prefix: prefix, Replicas: replicas})
		if err != nil {
			return fmt.Errorf("embedded token store: %w", err)
		}
		if a.marks, err = marks.NewKV(a.js, marks.KVConfig{Prefix: prefix, Replicas: replicas}); err != nil {
			return fmt.Errorf("embedded token store: %w", err)
		}
		a.grants, a.reg = grants, reg
		if !daemon {
			return nil
		}
		// The daemon reads vehicles and holds on every poll and every tick:
		// from memory, not a round trip each; and it is the only process
		// polling, so a lease in the bucket would guard against nobody.
		if err := reg.StartMirror(ctx, a.log); err != nil {
			return fmt.Errorf("embedded token store: %w", err)
		}
		// The load's garbage (decoded values, the tables' regrowths, the
		// server's reads) is about as large as the mirror: return it to the
		// OS now, once, rather than keep it resident until the scavenger
		// gets to it.
		debug.FreeOSMemory()
		a.kv = reg
		a.reg = registry.LocalLeases(reg)
		return nil
	}
	var err error
	if a.rdb, err = RedisClient(a.cfg.Redis); err != nil {
		return err
	}
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis (%s): %w", a.cfg.Redis.Mode(), err)
	}
	prefix := a.cfg.Redis.KeyPrefix
	a.grants = rediscredentials.New(a.rdb, prefix, a.keys)
	a.reg = redisregistry.New(a.rdb, prefix)
	a.marks = marks.NewRedis(a.rdb, prefix)
	return nil
}
