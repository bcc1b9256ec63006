package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/config"
)

func TestParse_onboarding(t *testing.T) {
	tests := []struct {
		name         string
		yaml         string
		env          func(string) (string, bool)
		wantConnect  config.Connect
		wantWebhooks config.Webhooks
	}{
		{
			name:         "token from the environment",
			yaml:         "smartcar: {redirect_uri: 'http://127.0.0.1:8080/callback'}\nconnect: {enabled: true, scopes: [read_battery]}\nwebhooks: {enabled: true}\n" + okSchedules,
			env:          credsEnv("SMARTCAR_MANAGEMENT_TOKEN", "env-amt"),
			wantConnect:  config.Connect{Enabled: true, Scopes: []string{"read_battery"}, StateTTL: 10 * time.Minute},
			wantWebhooks: config.Webhooks{Enabled: true, ManagementToken: "env-amt", DedupTTL: 168 * time.Hour, Concurrency: 4, Inbox: config.WebhookInbox{MaxAge: 168 * time.Hour, MaxMessages: 1_000_000}},
		},
		{
			name: "file wins over the environment",
			yaml: "webhooks: {enabled: true, management_token: '${AMT}', dedup_ttl: 30m, concurrency: 16, inbox: {max_age: 48h, max_messages: 5000}}\n" + okSchedules,
			env:  credsEnv("SMARTCAR_MANAGEMENT_TOKEN", "env-amt", "AMT", "file-amt"),
			wantConnect: config.Connect{
				Scopes:   []string{"read_vehicle_info", "read_odometer", "read_location", "read_battery", "read_charge", "read_fuel"},
				StateTTL: 10 * time.Minute,
			},
			wantWebhooks: config.Webhooks{Enabled: true, ManagementToken: "file-amt", DedupTTL: 30 * time.Minute, Concurrency: 16,
				Inbox: config.WebhookInbox{MaxAge: 48 * time.Hour, MaxMessages: 5000}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("poller.yaml", []byte(tc.yaml), tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantConnect, cfg.Connect); diff != "" {
				t.Errorf("Connect (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWebhooks, cfg.Webhooks); diff != "" {
				t.Errorf("Webhooks (-want +got):\n%s", diff)
			}
			if s := cfg.String(); strings.Contains(s, "amt") {
				t.Errorf("String() shows the management token:\n%s", s)
			}
		})
	}
}
