package daemon

import (
	"testing"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
	"github.com/smartcar-poller/smartcar-poller/config"
)

// TestPolicyConfig_defaults: an adaptive schedule that leaves every key
// out gets the policy's defaults.
func TestPolicyConfig_defaults(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte("schedules:\n  - { name: live, adaptive: {}, signals: [odometer], vehicles: all }\n"),
		func(string) (string, bool) { return "", false }, config.SkipCredentials())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := policyConfig(cfg.Schedules[0].Adaptive), adaptive.DefaultConfig(); got != want {
		t.Errorf("policyConfig = %+v, want adaptive.DefaultConfig %+v", got, want)
	}
}
