package smartcartest

import (
	"log/slog"
	"net/http"
	"time"
)

// Defaults of the simulator's rules.
const (
	DefaultVehicles            = 3
	DefaultAccessTokenLifetime = 2 * time.Hour
	DefaultRefreshGrace        = time.Minute
	DefaultRefreshLifetime     = 60 * 24 * time.Hour
	DefaultAppBurst            = 120
	DefaultAppPerMinute        = 2.0
	// DefaultVehicleBurst and DefaultVehicleEvery make the per-vehicle
	// throttle a bucket of 10 requests refilled one every 3 minutes: bursts
	// are fine, and the sustained rate is Smartcar's advice of at most 20
	// requests per vehicle per hour.
	DefaultVehicleBurst = 10
	DefaultVehicleEvery = 3 * time.Minute
	DefaultRecordLimit  = 100_000
	DefaultRedirectURI  = "http://localhost:8000/callback"
	codeLifetime        = 10 * time.Minute
)

// Option configures a Server.
type Option func(*config)

type config struct {
	seed         int64
	vehicles     int
	users        int
	latency      time.Duration
	accessTTL    time.Duration
	refreshGrace time.Duration
	refreshTTL   time.Duration
	appBurst     int
	appPerMinute float64
	vehicleBurst int
	vehicleEvery time.Duration
	quota        int
	clock        func() time.Time
	timeScale    float64
	startTime    time.Time
	logger       *slog.Logger
	addr         string
	recordLimit  int
	redirectURI  string
	noLimits     bool

	appTokenTTL    time.Duration // simulated
	maxPageSize    int           // v3 lists: items served per page at most (0 = as asked, up to 100)
	asyncCommand   time.Duration // simulated
	webhookCheck   time.Duration // real time between webhook checks
	webhookBackoff []time.Duration
	webhookClient  *http.Client
}

func defaultConfig() config {
	return config{
		seed:         1,
		vehicles:     DefaultVehicles,
		users:        1,
		accessTTL:    DefaultAccessTokenLifetime,
		refreshGrace: DefaultRefreshGrace,
		refreshTTL:   DefaultRefreshLifetime,
		appBurst:     DefaultAppBurst,
		appPerMinute: DefaultAppPerMinute,
		vehicleBurst: DefaultVehicleBurst,
		vehicleEvery: DefaultVehicleEvery,
		clock:        time.Now,
		timeScale:    1,
		logger:       slog.New(slog.DiscardHandler),
		addr:         "127.0.0.1:0",
		recordLimit:  DefaultRecordLimit,
		redirectURI:  DefaultRedirectURI,

		appTokenTTL:    DefaultAppTokenLifetime,
		asyncCommand:   DefaultAsyncCommandDuration,
		webhookCheck:   DefaultWebhookCheckInterval,
		webhookBackoff: []time.Duration{25 * time.Second, 50 * time.Second, 100 * time.Second},
	}
}

// WithSeed makes the generated ids, credentials, vehicles and their journeys
// a function of seed (default 1).
func WithSeed(seed int64) Option { return func(c *config) { c.seed = seed } }

// WithVehicles sets how many vehicles exist at start (default 3), cycling
// through BEV, ICE, PHEV, BEV, ICE, ...
func WithVehicles(n int) Option { return func(c *config) { c.vehicles = max(n, 0) } }

// WithUsers sets how many users own the start vehicles (default 1); vehicles
// are dealt out to them in turn.
func WithUsers(n int) Option { return func(c *config) { c.users = max(n, 1) } }

// WithLatency delays every API and token response by d.
func WithLatency(d time.Duration) Option { return func(c *config) { c.latency = d } }

// WithAccessTokenLifetime sets expires_in of issued access tokens (default 2h).
func WithAccessTokenLifetime(d time.Duration) Option { return func(c *config) { c.accessTTL = d } }

// WithRefreshGrace sets how long a refresh token keeps working after it was
// spent (default 1m). During the grace it returns the same new pair again.
func WithRefreshGrace(d time.Duration) Option { return func(c *config) { c.refreshGrace = d } }

// WithRefreshTokenLifetime sets how long an unused refresh token lives
// (default 60 days).
func WithRefreshTokenLifetime(d time.Duration) Option { return func(c *config) { c.refreshTTL = d } }

// WithAppRateLimit sets the application token bucket: burst requests,
// refilled at perMinute (default 120 and 2). A burst <= 0 switches it off.
func WithAppRateLimit(burst int, perMinute float64) Option {
	return func(c *config) { c.appBurst, c.appPerMinute = burst, perMinute }
}

// WithVehicleRateLimit sets the per-vehicle throttle: a bucket of burst
// requests, one more every interval (default 10 and 3 minutes). burst 1 makes
// it a minimum interval between requests. A burst <= 0 switches it off.
func WithVehicleRateLimit(burst int, every time.Duration) Option {
	return func(c *config) { c.vehicleBurst, c.vehicleEvery = burst, every }
}

// WithMonthlyQuota sets how many billed requests each vehicle may make per
// calendar month (UTC) before BILLING:VEHICLE_REQUEST_LIMIT; batch items count
// one each. Default 0: no quota.
func WithMonthlyQuota(n int) Option { return func(c *config) { c.quota = n } }

// WithMaxPageSize makes the v3 lists (signals, connections, subscriptions)
// serve at most n items a page: a larger page size asked for (up to 100,
// still the most a request may ask) is served as n, and meta.pageSize and
// links say so. A client that asks for 100 at a time then has to follow
// links.next, so tests can make it read several pages. n <= 0 (the default)
// serves what is asked.
func WithMaxPageSize(n int) Option { return func(c *config) { c.maxPageSize = max(n, 0) } }

// WithoutLimits switches off the app bucket, the vehicle throttle and the
// quota, whatever other options say.
func WithoutLimits() Option { return func(c *config) { c.noLimits = true } }

// WithClock replaces time.Now, for tests that move time by hand. It drives
// token expiry, limits, quotas, records and the simulated vehicles.
func WithClock(now func() time.Time) Option { return func(c *config) { c.clock = now } }

// WithTimeScale sets how many simulated seconds pass per clock second for the
// vehicles (default 1): 60 makes an hour-long drive last a minute.
func WithTimeScale(f float64) Option {
	return func(c *config) {
		if f > 0 {
			c.timeScale = f
		}
	}
}

// WithStartTime sets the simulated time at the server's start (default: the
// clock's time then). The vehicles live by their local time of day and day
// of the week (each lives in a city of its own zone), so a start at a busy
// hour shows trips at once.
func WithStartTime(t time.Time) Option { return func(c *config) { c.startTime = t } }

// WithLogger sets the logger (default: discard). It never logs tokens.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithAddr sets the listen address for Start (default 127.0.0.1:0).
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithRecordLimit bounds how many requests Requests keeps (default 100000).
func WithRecordLimit(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.recordLimit = n
		}
	}
}

// WithRedirectURI sets the application's registered redirect URI
// (default http://localhost:8000/callback).
func WithRedirectURI(uri string) Option { return func(c *config) { c.redirectURI = uri } }
