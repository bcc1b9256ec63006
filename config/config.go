package config

import (
	"log/slog"
	"strings"
	"time"
)

// Config is the whole daemon configuration. The YAML keys are the snake_case
// names in the struct tags; durations are Go duration strings ("90s", "5m").
type Config struct {
	NATS      NATS       `yaml:"nats"`
	Redis     Redis      `yaml:"redis"`
	DataDir   string     `yaml:"data_dir"` // embedded NATS/JetStream storage, generated token key
	Smartcar  Smartcar   `yaml:"smartcar"`
	Workers   Workers    `yaml:"workers"`
	HTTP      HTTP       `yaml:"http"`
	Log       Log        `yaml:"log"`
	Connect   Connect    `yaml:"connect"`
	Tokens    Tokens     `yaml:"tokens"` // encryption at rest, see security.go
	Webhooks  Webhooks   `yaml:"webhooks"`
	Schedules []Schedule `yaml:"schedules"`
}

// NATS says where events and jobs go.
type NATS struct {
	// URL is "" for the embedded server, or one or more comma-separated
	// nats://, tls://, ws:// or wss:// URLs: the servers of a cluster, between
	// which the client fails over. In YAML it may also be a list of URLs.
	URL string `yaml:"url" join:","`
	// SubjectPrefix starts every subject and names the streams and buckets:
	// 1 to 128 characters of [A-Za-z0-9_-] (internal/natsname).
	SubjectPrefix string `yaml:"subject_prefix"`
	// EventsMaxAge is the events stream's retention; 0 keeps events forever.
	EventsMaxAge time.Duration `yaml:"events_max_age"`
	// Replicas is the JetStream replica count of the streams and buckets
	// (1 to 5). A file that leaves it out gets 1 with one server in URL (or
	// the embedded one) and 3 with several: a cluster.
	Replicas int `yaml:"replicas"`
	// CredsFile is a NATS credentials file (JWT and nkey seed).
	CredsFile string `yaml:"creds_file"`
	// NkeySeedFile is a file holding a user nkey seed.
	NkeySeedFile string `yaml:"nkey_seed_file"`
	// User and Password authenticate with a user/password.
	User     string `yaml:"user"`
	Password Secret `yaml:"password"`
	// TLS is the client TLS setting (see security.go).
	TLS TLS `yaml:"tls"`
}

// Servers returns the URLs of URL, nil for the embedded server.
func (n NATS) Servers() []string {
	var out []string
	for _, s := range strings.Split(n.URL, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Redis selects the token store: the embedded one (neither URL nor Addrs),
// one server by URL, or Addrs as go-redis's UniversalOptions read them (see
// Mode): Sentinels with MasterName, the nodes of a Redis Cluster, or one
// server.
type Redis struct {
	// URL is a redis://, rediss:// or unix:// URL of one server.
	URL string `yaml:"url"`
	// Addrs are host:port addresses, instead of URL: the Sentinels when
	// MasterName is set, else Redis Cluster nodes when there are several or
	// Cluster is set, else the one server.
	Addrs []string `yaml:"addrs,omitempty"`
	// MasterName is the name of the Sentinel-monitored primary.
	MasterName string `yaml:"master_name,omitempty"`
	// Cluster says one address in Addrs is a Redis Cluster (a configuration
	// endpoint); several addresses without MasterName always are.
	Cluster bool `yaml:"cluster,omitempty"`
	// DB is the database with Addrs (one server or Sentinel); a URL gives it
	// as its path, and Redis Cluster has only 0.
	DB int `yaml:"db,omitempty"`
	// KeyPrefix starts every Redis key. Redis Cluster needs a hash tag in it
	// ("{smartcar}:") so that the keys one script or transaction touches
	// share a slot.
	KeyPrefix string `yaml:"key_prefix"`
	// Username and Password authenticate (Redis 6 ACL user, or the
	// requirepass password with no username); they override the URL's.
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// SentinelUsername and SentinelPassword authenticate with the
	// Sentinels, when they require it (sentinel requirepass or ACL).
	SentinelUsername string `yaml:"sentinel_username,omitempty"`
	SentinelPassword Secret `yaml:"sentinel_password,omitempty"`
	// TLS is the client TLS setting (see security.go), for every mode.
	TLS TLS `yaml:"tls"`
}

// Smartcar holds the API application settings.
type Smartcar struct {
	// API is the Smartcar API polled: APIV3 (the default) or APIV2.
	API string `yaml:"api"`
	// UnitSystem is what is requested from Smartcar: "metric" or "imperial".
	// Events are always metric.
	UnitSystem string `yaml:"unit_system"`
	// ClientID defaults to $SMARTCAR_CLIENT_ID.
	ClientID string `yaml:"client_id"`
	// ClientSecret defaults to $SMARTCAR_CLIENT_SECRET.
	ClientSecret Secret `yaml:"client_secret"`
	// RedirectURI defaults to $SMARTCAR_REDIRECT_URI; only connect --code needs it.
	RedirectURI string `yaml:"redirect_uri"`
	// Mode is ModeLive, ModeTest or ModeSimulated.
	Mode Mode `yaml:"mode"`
	// RateLimit is the application-level token bucket.
	RateLimit RateLimit `yaml:"rate_limit"`
	// MonthlyQuota is the plan's billed requests per vehicle per month,
	// used by Projections; 0 means unknown.
	MonthlyQuota int `yaml:"monthly_quota"`
	// Timeout bounds one HTTP call to Smartcar.
	Timeout time.Duration `yaml:"timeout"`
}

// RateLimit is a token bucket: Burst requests at once, refilled at
// RequestsPerMinute.
type RateLimit struct {
	RequestsPerMinute float64 `yaml:"requests_per_minute"`
	Burst             int     `yaml:"burst"`
}

// Workers tunes the job consumers.
type Workers struct {
	Concurrency   int           `yaml:"concurrency"`    // jobs in flight per process
	AckWait       time.Duration `yaml:"ack_wait"`       // JetStream ack wait of a job
	ShutdownGrace time.Duration `yaml:"shutdown_grace"` // time to finish in-flight jobs on SIGTERM
	MaxAttempts   int           `yaml:"max_attempts"`   // tries (failures, follow-ups; not snoozes) before a job's paths fail
}

// HTTP serves /healthz, /readyz and /metrics.
type HTTP struct {
	// Listen is host:port; "" disables the server.
	Listen string `yaml:"listen"`
}

// Log selects the log output.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // auto (text on a terminal, else JSON), text or json
}

// SlogLevel returns Level as a slog.Level (info for an unknown level).
func (l Log) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// Schedule polls Signals (or, as API v2 names them, Paths) of the selected
// Vehicles each time Cron fires, or for an Adaptive schedule whenever each
// vehicle is due: one job per vehicle, which is one call on either API.
// Exactly one of Cron and Adaptive is set.
type Schedule struct {
	// Name identifies the schedule in job ids and events; [A-Za-z0-9_-]+.
	Name string `yaml:"name"`
	// Cron is a standard 5-field spec or a descriptor (@hourly, @every 10m),
	// optionally preceded by CRON_TZ=Zone; without a zone it runs in UTC.
	Cron string `yaml:"cron,omitempty"`
	// Adaptive polls each vehicle when package adaptive's policy says, within
	// a monthly budget (API v3 only).
	Adaptive *Adaptive `yaml:"adaptive,omitempty"`
	// Signals are what each job asks for, whichever API polls: the
	// daemon's signal names (KnownSignals), raw API v3 codes such as
	// "transmission-gearstate" (v3 only), or SignalAll alone (v3 only: every
	// signal the vehicle returns). See V3Signals and V2Paths.
	Signals []string `yaml:"signals,omitempty"`
	// Paths are API v2 paths (KnownPaths), instead of Signals: requested in
	// one batch on v2, translated to their signals on v3.
	Paths []string `yaml:"paths,omitempty"`
	// Vehicles selects the vehicles; default all.
	Vehicles Vehicles `yaml:"vehicles"`
	// Jitter spreads a firing's jobs over this window; 0 enqueues them at once.
	Jitter time.Duration `yaml:"jitter"`
	// Emit says when an event is published; default EmitOnChange.
	Emit Emit `yaml:"emit"`
	// When holds conditions on the selected vehicles.
	When When `yaml:"when"`
}

func (s *Schedule) setDefaults() {
	s.Vehicles = Vehicles{All: true}
	s.Emit = EmitOnChange
}

// Mode says which Smartcar the daemon talks to.
type Mode string

// The modes.
const (
	ModeLive      Mode = "live"      // real vehicles
	ModeTest      Mode = "test"      // Smartcar's test mode (simulated by Smartcar)
	ModeSimulated Mode = "simulated" // Smartcar's simulated vehicles
)

// Emit says when a schedule publishes an event for a polled path.
type Emit string

// The emit policies.
const (
	EmitAlways   Emit = "always"    // every successful poll
	EmitOnChange Emit = "on_change" // only when the data's age advanced or the value changed
)

// KnownPaths are the API v2 paths a schedule's paths may hold.
var KnownPaths = []string{
	"/", "/vin", "/odometer", "/location", "/battery", "/battery/capacity",
	"/battery/nominal_capacity", "/charge", "/charge/limit", "/fuel",
	"/tires/pressure", "/engine/oil", "/security", "/diagnostics/system_status",
	"/diagnostics/dtcs",
}

// Default returns a Config with every default and one demo-friendly schedule
// ("demo": odometer, location, battery and charge of all vehicles every 30 s,
// emitted always). Validate needs its credentials set, unless the caller
// passes SkipCredentials.
func Default() *Config {
	c := defaults()
	c.Schedules = []Schedule{{
		Name:     "demo",
		Cron:     "@every 30s",
		Signals:  []string{"odometer", "location", "battery", "charge"},
		Vehicles: Vehicles{All: true},
		Jitter:   5 * time.Second,
		Emit:     EmitAlways,
	}}
	return c
}

// defaults is Default without schedules: what a file starts from.
func defaults() *Config {
	return &Config{
		NATS:    NATS{SubjectPrefix: "smartcar", EventsMaxAge: 168 * time.Hour, Replicas: 1},
		Redis:   Redis{KeyPrefix: "smartcar:"},
		DataDir: "./data",
		Smartcar: Smartcar{
			API:          APIV3,
			UnitSystem:   "metric",
			Mode:         ModeLive,
			RateLimit:    RateLimit{RequestsPerMinute: 2, Burst: 120},
			MonthlyQuota: 500,
			Timeout:      310 * time.Second,
		},
		Workers: Workers{Concurrency: 64, AckWait: 6 * time.Minute, ShutdownGrace: 25 * time.Second, MaxAttempts: 10},
		HTTP:    HTTP{Listen: "127.0.0.1:8080"},
		Log:     Log{Level: "info", Format: "auto"},
		Connect: Connect{
			Scopes:   []string{"read_vehicle_info", "read_odometer", "read_location", "read_battery", "read_charge", "read_fuel"},
			StateTTL: 10 * time.Minute,
		},
		Webhooks: Webhooks{DedupTTL: 7 * 24 * time.Hour, Concurrency: 4,
			Inbox: WebhookInbox{MaxAge: 7 * 24 * time.Hour, MaxMessages: 1_000_000}},
	}
}
