package daemon

import (
	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/scheduler"
)

// Schedules maps the config's schedules to the scheduler's: on API v2 a
// job carries the schedule's paths, on v3 its signals.
func Schedules(cfg *config.Config) []scheduler.Schedule {
	out := make([]scheduler.Schedule, 0, len(cfg.Schedules))
	for _, s := range cfg.Schedules {
		var paths, signals []string
		if cfg.Smartcar.API == config.APIV2 {
			paths = s.V2Paths()
		} else {
			signals = s.V3Signals()
		}
		out = append(out, scheduler.Schedule{
			Name:    s.Name,
			Cron:    s.Cron,
			Paths:   paths,
			Signals: signals,
			Jitter:  s.Jitter,
			Emit:    string(s.Emit),
			// When: polling is the fallback for vehicles that send webhooks.
			WebhooksSilentFor: s.When.WebhooksSilentFor,
			Vehicles: scheduler.Selector{
				All: s.Vehicles.All, IDs: s.Vehicles.IDs, Tags: s.Vehicles.Tags,
			},
			Adaptive: s.Adaptive != nil,
		})
	}
	return out
}
