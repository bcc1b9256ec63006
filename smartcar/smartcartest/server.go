package smartcartest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server is a running Smartcar simulator. Its methods are safe for
// concurrent use.
type Server struct {
	// URL is the origin of every host: API, auth, Connect and management.
	URL string
	// ClientID, ClientSecret and RedirectURI are the application's
	// credentials; ManagementToken is its Application Management Token
	// (AMT), which also signs webhooks. All derive from the seed.
	ClientID        string
	ClientSecret    string
	RedirectURI     string
	ManagementToken string

	cfg   config
	log   *slog.Logger
	clock func() time.Time
	start time.Time // clock time at start
	// simStart is the simulated time at start, Unix seconds (see simSeconds).
	simStart float64
	srv      *http.Server
	ln       net.Listener
	done     chan struct{}
	once     sync.Once
	serve    chan error

	ids    *idGen
	reqIDs requestIDs

	mu         sync.RWMutex
	vehicles   map[string]*vehicle
	order      []*vehicle
	users      []string
	grants     map[string]*grant
	access     map[string]*accessToken
	refresh    map[string]*refreshToken
	codes      map[string]*authCode
	webhooks   map[string]map[string]*subscription // vehicle id → webhook id → subscription
	connect    ConnectConfig
	issueCount int

	app    appLimiter
	faults faultSet
	rec    *recorder
	stats  counters

	v3    v3State    // application tokens, command executions, webhooks; guarded by mu
	hooks hookEngine // webhook v4 deliveries
}

// Origins are the Smartcar origins a client needs, v2 and v3; the simulator
// serves them all from one address.
type Origins struct {
	API        string `json:"api"`
	Auth       string `json:"auth"`
	Connect    string `json:"connect"`
	Management string `json:"management"`
	// IAM (application tokens), APIV3 (vehicle API v3) and ManagementV3
	// (Management API v3) are the v3 origins.
	IAM          string `json:"iam"`
	APIV3        string `json:"apiV3"`
	ManagementV3 string `json:"managementV3"`
}

// NewServer starts a simulator on a free loopback port, like
// httptest.NewServer. It panics if it cannot listen; use Start to get an
// error instead. Close it when done.
func NewServer(opts ...Option) *Server {
	s, err := Start(opts...)
	if err != nil {
		panic(fmt.Sprintf("smartcartest: %v", err))
	}
	return s
}

// New returns a simulator that does not listen: it serves only through
// ServeHTTP, mounted in a mux or an httptest.Server, or called by an
// http.RoundTripper in-process (no sockets, and nothing runs but what the
// caller calls, which suits a virtual clock). Its URL, the origin it
// names in links and Origins, is http://smartcar.invalid. Close it when
// done: it stops the webhook deliveries.
func New(opts ...Option) *Server {
	s := newServer(opts...)
	s.URL = "http://smartcar.invalid"
	return s
}

// Start starts a simulator listening on the WithAddr address
// (default 127.0.0.1:0).
func Start(opts ...Option) (*Server, error) {
	s := newServer(opts...)
	ln, err := net.Listen("tcp", s.cfg.addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", s.cfg.addr, err)
	}
	s.ln = ln
	s.URL = "http://" + ln.Addr().String()
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		Protocols:         serverProtocols(),
	}
	go func() { s.serve <- s.srv.Serve(ln) }()
	s.log.Info("smartcar simulator listening", "url", s.URL, "vehicles", len(s.order))
	return s, nil
}

// serverProtocols are HTTP/1.1 and cleartext HTTP/2 (h2c, prior knowledge):
// Smartcar's API is HTTPS, where clients negotiate HTTP/2; a client of the
// plain-HTTP simulator that wants the same multiplexing (one connection for
// many calls in flight) sets http.Transport.Protocols to UnencryptedHTTP2.
func serverProtocols() *http.Protocols {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return &p
}

func newServer(opts ...Option) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.noLimits {
		cfg.appBurst, cfg.vehicleBurst, cfg.quota = 0, 0, 0
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.logger.With("component", "smartcartest"),
		clock:    cfg.clock,
		done:     make(chan struct{}),
		serve:    make(chan error, 1),
		ids:      newIDGen(cfg.seed, 1),
		vehicles: map[string]*vehicle{},
		grants:   map[string]*grant{},
		access:   map[string]*accessToken{},
		refresh:  map[string]*refreshToken{},
		codes:    map[string]*authCode{},
		webhooks: map[string]map[string]*subscription{},
		rec:      newRecorder(cfg.recordLimit),
	}
	s.start = s.clock()
	s.simStart = float64(s.start.UnixNano()) / 1e9
	if !cfg.startTime.IsZero() {
		s.simStart = float64(cfg.startTime.UnixNano()) / 1e9
	}
	s.v3.init()
	sum := sha256.Sum256(binary.BigEndian.AppendUint64([]byte("request-ids"), uint64(cfg.seed)))
	s.reqIDs.prefix = binary.BigEndian.Uint64(sum[:8])
	s.faults.rng = rand.New(rand.NewPCG(uint64(cfg.seed), 2))
	s.ClientID = s.ids.uuid()
	s.ClientSecret = s.ids.uuid()
	s.ManagementToken = s.ids.uuid()
	s.RedirectURI = cfg.redirectURI
	for range cfg.users {
		s.users = append(s.users, s.ids.uuid())
	}
	for i := range cfg.vehicles {
		s.addVehicle(kindCycle[i%len(kindCycle)], s.users[i%len(s.users)], s.simStart)
	}
	perSec := cfg.appPerMinute / 60
	s.app.b.init(cfg.appBurst, perSec, s.start)
	return s
}

// Origins returns the API, auth, Connect and management origins, v2 and v3
// (all URL).
func (s *Server) Origins() Origins {
	return Origins{API: s.URL, Auth: s.URL, Connect: s.URL, Management: s.URL,
		IAM: s.URL, APIV3: s.URL, ManagementV3: s.URL}
}

// Close stops the server: hanging and delayed requests end, open
// connections close. It is safe to call more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.done)
		s.hooks.stop()
		if s.srv == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			_ = s.srv.Close()
		}
		if err := <-s.serve; err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Warn("serve", "err", err)
		}
	})
}

// ServeHTTP answers one request, so a Server can also be mounted in another
// mux or httptest.Server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if len(path) > 7 && path[:7] == "/admin/" {
		if !s.handleAdminV3(w, r) {
			s.handleAdmin(w, r)
		}
		return
	}
	c := &call{s: s, w: w, r: r, now: s.clock(), start: time.Now()}
	c.reqID = s.reqIDs.next()
	c.rec = Request{Method: r.Method, Path: path, Route: path, RequestID: c.reqID}
	defer s.finish(c)
	switch path {
	case "/oauth/authorize":
		s.handleAuthorize(c)
	case "/oauth/token", "/oauth/token/":
		c.rec.Route = "/oauth/token"
		s.handleToken(c)
	case "/oauth2/token", "/oauth2/token/":
		c.rec.Route = "/oauth2/token"
		s.handleAppToken(c)
	default:
		if rest, ok := strings.CutPrefix(path, "/v3"); ok && strings.HasPrefix(rest, "/") {
			s.handleV3(c, rest)
			return
		}
		s.handleAPI(c, path)
	}
}

// finish records the request once it is answered (once: a dropped
// request is recorded before its connection closes).
func (s *Server) finish(c *call) {
	if c.recorded {
		return
	}
	c.recorded = true
	c.rec.Time = c.now
	c.rec.Duration = time.Since(c.start)
	if c.rec.Outcome == "" {
		if c.rec.Status >= 200 && c.rec.Status < 400 {
			c.rec.Outcome = "ok"
		} else {
			c.rec.Outcome = http.StatusText(c.rec.Status)
		}
	}
	s.rec.add(&c.rec)
	if c.rec.Route == "unknown" {
		// A client pointed at the wrong origin or path (an SDK that reads an
		// origin variable as a full URL, say) sees only a 404: say what it asked.
		s.log.WarnContext(c.r.Context(), "unknown route", "method", c.rec.Method, "path", c.rec.Path,
			"status", c.rec.Status, "outcome", c.rec.Outcome, "request_id", c.reqID)
		return
	}
	if s.log.Enabled(c.r.Context(), slog.LevelDebug) {
		s.log.DebugContext(c.r.Context(), "request", "method", c.rec.Method, "route", c.rec.Route,
			"vehicle_id", c.rec.VehicleID, "status", c.rec.Status, "outcome", c.rec.Outcome, "request_id", c.reqID)
	}
}
