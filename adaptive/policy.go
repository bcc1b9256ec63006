package adaptive

import (
	"fmt"
	"time"
)

// Policy decides when vehicles are due. It holds only its configuration:
// every call takes the vehicle's record and the time, so one Policy serves
// a whole fleet from any number of goroutines.
type Policy struct {
	cfg        Config
	pollBudget int
}

// New returns the policy of cfg, or what is wrong with cfg.
func New(cfg Config) (*Policy, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("adaptive config: %w", err)
	}
	return &Policy{cfg: cfg, pollBudget: cfg.pollBudget()}, nil
}

// Config returns the policy's configuration.
func (p *Policy) Config() Config { return p.cfg }

// Polled takes in a poll of v at o.At that made calls billed calls and
// showed o, and returns when v is due next.
func (p *Policy) Polled(v *Vehicle, o Observation, calls int) time.Time {
	p.spend(v, o.At, calls)
	p.observe(v, &o, true)
	v.Polled = o.At.Unix()
	return p.next(v, o.At)
}

// Webhook takes in a webhook about v at o.At (not billed) and returns when
// v is due next. A webhook that carries charge signals tells the policy
// that webhooks report v's charges, so it stops polling for them.
func (p *Policy) Webhook(v *Vehicle, o Observation) time.Time {
	if o.Has&chargeFields != 0 {
		v.set(flagHooks, true)
	}
	p.observe(v, &o, false)
	return p.next(v, o.At)
}

// Next returns when v is due as of now with no new data: after a restart,
// or a change of configuration.
func (p *Policy) Next(v *Vehicle, now time.Time) time.Time { return p.next(v, now) }

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
