package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/internal/daemon"
)

// App is the daemon (internal/daemon) with what this command adds around
// it: the HTTP endpoints and the metrics.
type App struct {
	*daemon.Daemon
	cfg     *config.Config
	log     *slog.Logger
	metrics *observer // nil in a command (connect, vehicles...): nothing polls
}

// openOptions adjust open for the commands, the demo and tests.
type openOptions = daemon.Options

// open connects to (or starts) NATS and the token store and builds every
// part (daemon.Open), with the metrics observer when the process polls.
func open(ctx context.Context, cfg *config.Config, log *slog.Logger, o openOptions) (*App, error) {
	a := &App{cfg: cfg, log: log}
	if !o.ConnectOnly {
		a.metrics = newObserver(cfg)
		o.Observer = a.metrics
	}
	d, err := daemon.Open(ctx, cfg, log, o)
	if err != nil {
		return nil, err
	}
	a.Daemon = d
	return a, nil
}

// Run runs the daemon (daemon.Daemon.Run: the scheduler, the workers, the
// webhook consumer) and the HTTP endpoints until ctx is cancelled or one
// of them fails, then shuts them all down.
func (a *App) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.Daemon.Run(gctx) })
	httpAddr := ""
	if a.cfg.HTTP.Listen != "" {
		srv, ln, err := a.httpServer()
		if err != nil {
			return err
		}
		httpAddr = ln.Addr().String() // the port, when http.listen asked for any
		g.Go(func() error {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("http: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		})
	}
	a.log.Info("smartcar-poller running",
		"schedules", len(a.cfg.Schedules), "concurrency", a.cfg.Workers.Concurrency, "http", httpAddr)
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

func (a *App) httpServer() (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", a.cfg.HTTP.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("http listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := a.Ready(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", a.metricsHandler())
	a.routeOnboarding(mux)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}, ln, nil
}

// routeOnboarding mounts /connect, /callback and /webhooks/smartcar on mux
// as connect.enabled and webhooks.enabled say (open made the handler).
func (a *App) routeOnboarding(mux *http.ServeMux) {
	if h := a.Onboarding(); h != nil {
		h.Routes(mux, a.cfg.Connect.Enabled, a.cfg.Webhooks.Enabled)
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
