package onboard

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Auth builds Connect URLs and exchanges codes; *smartcar.AuthClient implements it.
type Auth interface {
	AuthURL(scope []string, opts *smartcar.AuthURLOptions) string
	ExchangeCode(ctx context.Context, code string) (*smartcar.Access, error)
}

// API discovers a grant's user and vehicles; *smartcar.Client implements it.
type API interface {
	GetUser(ctx context.Context, accessToken string) (*smartcar.User, error)
	GetVehicles(ctx context.Context, accessToken string, paging *smartcar.Paging) (*smartcar.Vehicles, error)
}

// Grants stores a grant's token pair; *credentials.Manager implements it.
type Grants interface {
	Connect(ctx context.Context, grantID string, access *smartcar.Access) error
}

// Registry is the vehicle registry: the part of a registry.Store onboarding
// uses (both registry backends implement it).
type Registry interface {
	GetVehicle(ctx context.Context, id string) (registry.Vehicle, error)
	PutVehicle(ctx context.Context, v registry.Vehicle) error
	registry.StatusSetter // for registry.SetGrantStatus
	TouchWebhook(ctx context.Context, vehicleID string, t time.Time) error
}

// Marks keeps Connect states and webhook event ids for a while;
// *marks.Redis and *marks.KV implement it. TakeConnectState returns an
// error wrapping marks.ErrNotFound for an unknown, expired or used state.
type Marks interface {
	PutConnectState(ctx context.Context, state string, ttl time.Duration) error
	TakeConnectState(ctx context.Context, state string) error
	MarkWebhookEvent(ctx context.Context, id string, ttl time.Duration) (bool, error)
	WebhookEventSeen(ctx context.Context, id string) (bool, error)
}

// Inbox stores a webhook delivery durably under its eventId before it is
// answered (duplicate: one with that id is stored already); *inbox.Inbox
// implements it. What it stores comes back to ProcessWebhook.
type Inbox interface {
	Put(ctx context.Context, id string, body []byte) (duplicate bool, err error)
}

// Publisher publishes events; *events.Publisher implements it. Webhook
// events go through PublishNewer, which leaves out (returns) those older
// than the vehicle's latest state: Smartcar's deliveries come in any order.
type Publisher interface {
	Publish(ctx context.Context, evs ...events.Event) error
	PublishNewer(ctx context.Context, evs ...events.Event) (stale []events.Event, err error)
}

// Latest returns a vehicle's latest event of a signal (an error wrapping
// events.ErrNotFound when there is none); *events.Publisher implements it.
// Webhooks that carry only part of a signal's data (a state of charge
// without a range) complete it from there (see package normalize).
type Latest interface {
	Get(ctx context.Context, vehicleID string, s events.Signal) (events.Event, error)
}

// DefaultDedupTTL is how long a webhook eventId is remembered by default:
// Smartcar's webhook documentation (https://smartcar.com/docs) asks
// receivers to deduplicate deliveries on eventId over at least 7 days.
const DefaultDedupTTL = 7 * 24 * time.Hour

// Config configures a Handler. Zero fields take the defaults.
type Config struct {
	// Scopes are the permissions /connect asks for (nil: the Dashboard's).
	Scopes []string
	// StateTTL bounds a Connect attempt (default 10m).
	StateTTL time.Duration
	// DropGrants leaves a connected grant's token pair unstored: the
	// daemon polls on API v3 with its application token and each vehicle's
	// Smartcar user id, and needs no user token (ConnectGrant).
	DropGrants bool
	// ManagementToken (the AMT) signs webhooks; webhooks need it.
	ManagementToken string
	// DedupTTL is how long a webhook eventId is remembered (default
	// DefaultDedupTTL).
	DedupTTL time.Duration
	// MaxBody bounds a webhook body (default 1 MiB).
	MaxBody int64
	// Source is the events' source (default events.DefaultSource).
	Source string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Deps are what a Handler calls. Latest may be nil. Inbox is needed by
// POST /webhooks/smartcar only: without it deliveries are answered 503.
// States, optional, hears every VEHICLE_STATE processed.
type Deps struct {
	Auth      Auth
	API       API
	Grants    Grants
	Registry  Registry
	Marks     Marks
	Publisher Publisher
	Latest    Latest
	Inbox     Inbox
	States    StateObserver
}

// StateObserver is what adaptive schedules (worker.WebhookPlanner) hear
// from onboarding. ObserveState gets the signals of each VEHICLE_STATE
// webhook about a registered vehicle once its events are published (the
// vehicle's next poll is planned from them); an error is logged and the
// webhook is not processed again for it. ObserveRegistered gets each
// vehicle ConnectGrant registered, so that its first poll (or, reconnected,
// its next) need not wait for the scheduler's next reading of the vehicle
// list; an error is logged (that reading enters the vehicle).
type StateObserver interface {
	ObserveState(ctx context.Context, v registry.Vehicle, signals []smartcar.Signal, at time.Time) error
	ObserveRegistered(ctx context.Context, v registry.Vehicle, at time.Time) error
}

// Handler serves /connect, /callback and /webhooks/smartcar.
type Handler struct {
	cfg   Config
	log   *slog.Logger
	d     Deps
	stats stats
}

// New returns a Handler. A nil logger discards.
func New(cfg Config, logger *slog.Logger, d Deps) (*Handler, error) {
	if d.Auth == nil || d.API == nil || d.Grants == nil || d.Registry == nil || d.Marks == nil || d.Publisher == nil {
		return nil, errors.New("onboard: nil dependency")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cfg.StateTTL = cmp.Or(cfg.StateTTL, 10*time.Minute)
	cfg.DedupTTL = cmp.Or(cfg.DedupTTL, DefaultDedupTTL)
	cfg.MaxBody = cmp.Or(cfg.MaxBody, 1<<20)
	cfg.Source = cmp.Or(cfg.Source, events.DefaultSource)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg, log: logger.With("component", "onboard"), d: d}, nil
}

// Stats are a Handler's counters since it was made.
type Stats struct {
	Connected     uint64 // successful callbacks
	ConnectErrors uint64 // callbacks with a Connect error, a bad state or a failed exchange

	Webhooks      uint64 // webhook deliveries with a good signature
	BadSignatures uint64 // deliveries rejected with 401
	Duplicates    uint64 // deliveries whose eventId was seen before (answered, not stored again)
	Accepted      uint64 // deliveries stored in the inbox and answered
	Unavailable   uint64 // deliveries answered 503: the marks or the inbox failed (Smartcar retries)

	Processed       uint64 // stored deliveries processed (those ignored included)
	EventsPublished uint64 // events published from webhooks
	StaleEvents     uint64 // events left out: the vehicle's latest state of their signal is newer (a delivery out of order)
	RejectedSignals uint64 // VEHICLE_STATE signals not published: an error in place of a body, or a body refused (malformed, out of range)
	UnknownVehicles uint64 // deliveries about vehicles not registered (ignored)
	StatusChanges   uint64 // vehicle statuses a VEHICLE_ERROR set, or its RESOLVED set back to connected
}

type stats struct {
	connected, connectErrors, webhooks, badSignatures, duplicates, accepted, unavailable,
	processed, published, stale, rejectedSignals, unknownVehicles, statusChanges atomic.Uint64
}

// Stats returns the counters.
func (h *Handler) Stats() Stats {
	s := &h.stats
	return Stats{
		Connected: s.connected.Load(), ConnectErrors: s.connectErrors.Load(),
		Webhooks: s.webhooks.Load(), BadSignatures: s.badSignatures.Load(), Duplicates: s.duplicates.Load(),
		Accepted: s.accepted.Load(), Unavailable: s.unavailable.Load(),
		Processed: s.processed.Load(), EventsPublished: s.published.Load(), StaleEvents: s.stale.Load(),
		RejectedSignals: s.rejectedSignals.Load(), UnknownVehicles: s.unknownVehicles.Load(),
		StatusChanges: s.statusChanges.Load(),
	}
}

// Paths of the endpoints.
const (
	PathConnect  = "/connect"
	PathCallback = "/callback"
	PathWebhook  = "/webhooks/smartcar"
)

// Routes adds GET /connect and GET /callback to mux when connect is set,
// and POST /webhooks/smartcar when webhooks is.
func (h *Handler) Routes(mux *http.ServeMux, connect, webhooks bool) {
	if connect {
		mux.HandleFunc("GET "+PathConnect, h.ServeConnect)
		mux.HandleFunc("GET "+PathCallback, h.ServeCallback)
	}
	if webhooks {
		mux.HandleFunc("POST "+PathWebhook, h.ServeWebhook)
	}
}
