package daemon

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/internal/datadir"
	"github.com/smartcar-poller/smartcar-poller/internal/kvlock"
)

// dataDirWait bounds how long a process waits for a data_dir that a command
// holds for a moment, or whose daemon is starting.
const dataDirWait = 30 * time.Second

// embeddedNATS returns how to reach the NATS server of data_dir (an empty
// nats.url). One process at a time opens the store under data_dir, under
// the data_dir lock: a daemon (run, demo) takes it and publishes its
// server's loopback URL and token; a command (connect, vehicles, tokens)
// uses the running daemon's server, and only when no daemon holds the lock
// takes it and starts a server of its own until Close. A daemon finding
// another daemon there fails at once; anyone finding a command there, or a
// daemon still starting, waits up to o.LockWait.
func (a *Daemon) embeddedNATS(ctx context.Context, o Options) (string, []nats.Option, error) {
	dir := a.cfg.DataDir
	daemon := !o.ConnectOnly
	deadline := time.Now().Add(cmp.Or(o.LockWait, dataDirWait))
	retry := time.NewTicker(100 * time.Millisecond)
	defer retry.Stop()
	waiting := false
	for {
		lock, err := datadir.TryLock(dir, datadir.Holder{Command: cmp.Or(o.Command, "run"), Daemon: daemon})
		if err == nil {
			a.dirLock = lock
			url, token, err := a.startEmbedded(daemon)
			if err != nil {
				return "", nil, err
			}
			return url, []nats.Option{nats.Token(token)}, nil
		}
		var held *datadir.LockedError
		if !errors.As(err, &held) {
			return "", nil, err
		}
		switch h := held.Holder; {
		case daemon && h.Daemon:
			return "", nil, fmt.Errorf("%w: one daemon runs per data_dir (stop it, or give this one another data_dir)", err)
		case !daemon && h.Reachable():
			a.log.Debug("using the running daemon's NATS server", "data_dir", dir, "holder", h.String(), "url", h.NATSURL)
			return h.NATSURL, []nats.Option{nats.Token(h.NATSToken)}, nil
		}
		if time.Now().After(deadline) {
			return "", nil, fmt.Errorf("%w (waited %s)", err, cmp.Or(o.LockWait, dataDirWait))
		}
		if !waiting {
			a.log.Info("waiting for the data_dir", "data_dir", dir, "holder", held.Holder.String())
			waiting = true
		}
		select {
		case <-ctx.Done():
			return "", nil, fmt.Errorf("wait for data_dir %s: %w", dir, ctx.Err())
		case <-retry.C:
		}
	}
}

// startEmbedded starts the NATS server with JetStream on data_dir/nats,
// listening on loopback only and asking clients for a random token. A
// daemon publishes the URL and token in data_dir (readable by its user
// only) for the commands to use.
func (a *Daemon) startEmbedded(daemon bool) (url, token string, err error) {
	dir := filepath.Join(a.cfg.DataDir, "nats")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("embedded nats: %w", err)
	}
	token = rand.Text()
	ns, err := natsserver.NewServer(&natsserver.Options{
		Host: "127.0.0.1", Port: natsserver.RANDOM_PORT, JetStream: true, StoreDir: dir,
		Authorization: token, NoSigs: true, NoLog: true,
	})
	if err != nil {
		return "", "", fmt.Errorf("embedded nats: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return "", "", errors.New("embedded nats: not ready after 10s")
	}
	a.ns = ns
	url = ns.ClientURL()
	a.log.Info("embedded NATS server started", "url", url, "store_dir", dir)
	if daemon {
		if err := a.dirLock.Publish(url, token); err != nil {
			return "", "", fmt.Errorf("embedded nats: %w", err)
		}
	}
	return url, token, nil
}

// replicaLockBucket is the KV bucket of the one-replica lock for prefix.
func replicaLockBucket(prefix string) string {
	return strings.ToUpper(strings.ReplaceAll(prefix, "-", "_")) + "_REPLICA"
}

// lockReplica enforces one replica on the embedded token store (an empty
// redis.url) when NATS is external: several would each spend the app's
// whole rate budget and could poll a vehicle twice at once (the shared
// limiter and the poll leases are Redis's). The lock is held in JetStream
// KV while the daemon runs; a replica starting while another holds it waits
// up to about its TTL (a rolling restart: the old one releases it on
// SIGTERM, a crashed one's expires), then fails.
func (a *Daemon) lockReplica(ctx context.Context, o Options) error {
	if o.ConnectOnly || a.ns != nil || a.cfg.Redis.Mode() != config.RedisEmbedded {
		return nil // a command; the data_dir lock; Redis
	}
	lc := o.ReplicaLock
	lc.Bucket = replicaLockBucket(a.cfg.NATS.SubjectPrefix)
	lc.Replicas = max(a.cfg.NATS.Replicas, 1)
	l, err := kvlock.Acquire(ctx, a.js, lc, a.log)
	if err != nil {
		return fmt.Errorf("embedded token store: %w: it allows one replica (run one, or use Redis for several)", err)
	}
	a.replica = l
	return nil
}
