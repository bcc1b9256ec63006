package scheduler

import (
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule polls Paths (API v2) or Signals (API v3) of the vehicles Vehicles
// selects at every activation of Cron.
type Schedule struct {
	// Name identifies the schedule in job ids; it must be unique and must not
	// contain '/' or white space.
	Name string
	// Cron is a standard 5-field cron expression or a descriptor such as
	// "@hourly" or "@every 10m"; "CRON_TZ=Europe/Berlin ..." is accepted.
	Cron string
	// Paths are the API v2 paths each job fetches in one batch, or Signals
	// what each API v3 job asks for; one of them, not empty.
	Paths   []string
	Signals []string
	// Vehicles selects the vehicles to poll.
	Vehicles Selector
	// Jitter spreads a firing's jobs over [tick, tick+Jitter): each vehicle
	// has a stable offset (see Offset) and is enqueued in the group of its
	// offset; groups are one second wide, or Jitter/10 when Jitter is under
	// 10 s. Zero enqueues every job at the tick, in one call.
	Jitter time.Duration
	// Emit is copied into each job ("always", "on_change", ...).
	Emit string
	// WebhooksSilentFor, when positive, skips a vehicle whose last webhook
	// came less than this long before the tick: webhooks keep it fresh, and
	// polling is the fallback once they go quiet.
	WebhooksSilentFor time.Duration
	// Adaptive, instead of Cron, polls each vehicle when it is due in the
	// schedule's due index (Config.Plans): a due loop claims the vehicles
	// that are due every Due.Tick and enqueues a job each (marked
	// Adaptive); the worker sets the next due time. Jitter and
	// WebhooksSilentFor do not apply.
	Adaptive bool
}

// Selector chooses vehicles: all of them, or those whose id is in IDs or
// that carry at least one of Tags.
type Selector struct {
	All  bool
	IDs  []string
	Tags []string
}

// Match reports whether s selects v. It ignores v.Paused: paused vehicles are
// skipped when a schedule fires, whatever selects them.
func (s Selector) Match(v Vehicle) bool {
	if s.All || slices.Contains(s.IDs, v.ID) {
		return true
	}
	for _, t := range v.Tags {
		if slices.Contains(s.Tags, t) {
			return true
		}
	}
	return false
}

// Offset returns vehicleID's stable offset in [0, jitter) within a firing of
// schedule: a hash of both, modulo jitter. It is 0 when jitter <= 0.
func Offset(schedule, vehicleID string, jitter time.Duration) time.Duration {
	if jitter <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(schedule))
	h.Write([]byte{0})
	h.Write([]byte(vehicleID))
	return time.Duration(h.Sum64() % uint64(jitter))
}

// groupWidth is the width of one enqueue group within the jitter window.
func groupWidth(jitter time.Duration) time.Duration {
	return max(min(time.Second, jitter/10), 1)
}

// parser accepts standard 5-field cron expressions and descriptors.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// entry is a validated schedule with its parsed cron and selector sets.
type entry struct {
	Schedule
	spec cron.Schedule
	all  bool
	ids  map[string]struct{}
	tags map[string]struct{}

	slot firingSlot
}

// compile validates s and prepares it for firing.
func compile(s Schedule) (*entry, error) {
	switch {
	case s.Name == "":
		return nil, errors.New("schedule without a name")
	case strings.ContainsAny(s.Name, "/ \t\r\n"):
		return nil, fmt.Errorf("schedule %q: name must not contain '/' or white space", s.Name)
	case len(s.Paths) == 0 && len(s.Signals) == 0:
		return nil, fmt.Errorf("schedule %q: no paths or signals", s.Name)
	case len(s.Paths) > 0 && len(s.Signals) > 0:
		return nil, fmt.Errorf("schedule %q: paths (API v2) and signals (API v3): want one", s.Name)
	case s.WebhooksSilentFor < 0:
		return nil, fmt.Errorf("schedule %q: webhooks_silent_for %s: want >= 0", s.Name, s.WebhooksSilentFor)
	case s.Jitter < 0:
		return nil, fmt.Errorf("schedule %q: jitter %s: want >= 0", s.Name, s.Jitter)
	case !s.Vehicles.All && len(s.Vehicles.IDs) == 0 && len(s.Vehicles.Tags) == 0:
		return nil, fmt.Errorf("schedule %q: selects no vehicles: want all, ids or tags", s.Name)
	}
	if s.Adaptive {
		if s.Cron != "" {
			return nil, fmt.Errorf("schedule %q: cron and adaptive: want one", s.Name)
		}
		return &entry{Schedule: s, all: s.Vehicles.All, ids: set(s.Vehicles.IDs), tags: set(s.Vehicles.Tags)}, nil
	}
	spec, err := parser.Parse(s.Cron)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: cron %q: %w", s.Name, s.Cron, err)
	}
	if every, ok := spec.(cron.ConstantDelaySchedule); ok {
		spec = alignedEvery{every.Delay}
	}
	e := &entry{Schedule: s, spec: spec, all: s.Vehicles.All, ids: set(s.Vehicles.IDs), tags: set(s.Vehicles.Tags)}
	return e, nil
}

// match is Selector.Match with sets, for registries of 100,000 vehicles.
func (e *entry) match(v *Vehicle) bool {
	if e.all {
		return true
	}
	if _, ok := e.ids[v.ID]; ok {
		return true
	}
	for _, t := range v.Tags {
		if _, ok := e.tags[t]; ok {
			return true
		}
	}
	return false
}

// heardFrom reports whether v sent a webhook within the schedule's
// WebhooksSilentFor before tick.
func (e *entry) heardFrom(v *Vehicle, tick time.Time) bool {
	return e.WebhooksSilentFor > 0 && !v.LastWebhook.IsZero() && tick.Sub(v.LastWebhook) < e.WebhooksSilentFor
}

func set(xs []string) map[string]struct{} {
	m := make(map[string]struct{}, len(xs))
	for _, x := range xs {
		m[x] = struct{}{}
	}
	return m
}

// alignedEvery fires at whole multiples of d, so that replicas started at
// different times agree on the ticks of an "@every d" schedule.
type alignedEvery struct{ d time.Duration }

// Next returns the first multiple of d after t.
func (a alignedEvery) Next(t time.Time) time.Time {
	return t.Truncate(a.d).Add(a.d)
}
