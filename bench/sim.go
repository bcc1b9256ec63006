package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// simulator is the Smartcar simulator the scenarios poll: in this process,
// or (-sim-process) in a child process driven through its /admin API, so
// that this process's memory is the pipeline's and the embedded server's
// only, as in the daemon.
type simulator struct {
	origins                             smartcartest.Origins
	clientID, clientSecret, redirectURI string

	inproc *smartcartest.Server

	base  string // child: its URL
	hc    *http.Client
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// simOptions are the simulator's options for electric vehicles with a
// battery (kinds cycle BEV, ICE, PHEV, BEV, ICE: three in five), users,
// latency, limits off and few request records kept.
func simOptions(electric, users int, latency time.Duration) []smartcartest.Option {
	return []smartcartest.Option{
		smartcartest.WithoutLimits(),
		smartcartest.WithVehicles((electric*5+2)/3 + 1),
		smartcartest.WithUsers(users),
		smartcartest.WithLatency(latency),
		smartcartest.WithRecordLimit(1024),
		smartcartest.WithSeed(7),
	}
}

func startSimulator(ctx context.Context, o options, electric, users int, latency time.Duration) (*simulator, error) {
	if o.SimProcess {
		return startSimProcess(ctx, electric, users, latency)
	}
	s, err := smartcartest.Start(simOptions(electric, users, latency)...)
	if err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	return &simulator{origins: s.Origins(), clientID: s.ClientID, clientSecret: s.ClientSecret,
		redirectURI: s.RedirectURI, inproc: s}, nil
}

// startSimProcess runs this program with -serve-sim and reads the
// simulator's URL from the first line it prints.
func startSimProcess(ctx context.Context, electric, users int, latency time.Duration) (_ *simulator, err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("simulator process: %w", err)
	}
	s := &simulator{hc: &http.Client{Timeout: time.Minute}}
	s.cmd = exec.Command(self, "-serve-sim", "-sim-vehicles", strconv.Itoa(electric),
		"-sim-users", strconv.Itoa(users), "-sim-latency", latency.String())
	s.cmd.Stderr = os.Stderr
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("simulator process: %w", err)
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("simulator process: %w", err)
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("simulator process: %w", err)
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(l)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case s.base = <-line:
	case <-time.After(30 * time.Second):
		return nil, errors.New("simulator process: no URL after 30s")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if !strings.HasPrefix(s.base, "http://") {
		return nil, fmt.Errorf("simulator process: unexpected first line %q", s.base)
	}
	var cfg smartcartest.AdminConfig
	if err := s.admin(ctx, http.MethodGet, "/admin/config", nil, &cfg); err != nil {
		return nil, err
	}
	s.origins, s.clientID, s.clientSecret, s.redirectURI = cfg.Origins, cfg.ClientID, cfg.ClientSecret, cfg.RedirectURI
	return s, nil
}

// serveSimulator is the -serve-sim mode: it prints the simulator's URL and
// serves until its standard input closes.
func serveSimulator(o options, stdin io.Reader, stdout io.Writer) error {
	s, err := smartcartest.Start(simOptions(o.SimVehicles, o.SimUsers, o.SimLatency)...)
	if err != nil {
		return fmt.Errorf("simulator: %w", err)
	}
	defer s.Close()
	fmt.Fprintln(stdout, s.URL)
	_, _ = io.Copy(io.Discard, stdin)
	return nil
}

func (s *simulator) admin(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, rd)
	if err != nil {
		return err
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return fmt.Errorf("simulator %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("simulator %s %s: %s: %s", method, path, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("simulator %s %s: decode: %w", method, path, err)
	}
	return nil
}

// Vehicles returns the simulator's vehicles.
func (s *simulator) Vehicles(ctx context.Context) ([]smartcartest.Vehicle, error) {
	if s.inproc != nil {
		return s.inproc.Vehicles(), nil
	}
	var vs []smartcartest.Vehicle
	return vs, s.admin(ctx, http.MethodGet, "/admin/vehicles", nil, &vs)
}

// ConnectUser issues a token pair for the user's given vehicles.
func (s *simulator) ConnectUser(ctx context.Context, user string, ids []string) (smartcartest.Tokens, error) {
	if s.inproc != nil {
		t, ok := s.inproc.ConnectUser(user, ids, nil)
		if !ok {
			return t, fmt.Errorf("unknown user %s", user)
		}
		return t, nil
	}
	var t smartcartest.Tokens
	err := s.admin(ctx, http.MethodPost, "/admin/connect", map[string]any{"userId": user, "vehicleIds": ids}, &t)
	return t, err
}

// Stats returns the simulator's counters.
func (s *simulator) Stats(ctx context.Context) (smartcartest.Stats, error) {
	if s.inproc != nil {
		return s.inproc.Stats(), nil
	}
	var st smartcartest.Stats
	return st, s.admin(ctx, http.MethodGet, "/admin/stats", nil, &st)
}

// Close stops the simulator (and waits for its process).
func (s *simulator) Close() {
	if s.inproc != nil {
		s.inproc.Close()
		return
	}
	_ = s.stdin.Close()
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}
