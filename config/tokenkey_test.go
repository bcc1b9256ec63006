package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/config"
)

// TestConfig_TokenKey checks where each store's key comes from: configured,
// generated under data_dir only when NATS and the token store are both
// embedded, plaintext only when allow_plaintext says so, else missing with
// an error naming the settings.
func TestConfig_TokenKey(t *testing.T) {
	key := filepath.Join(t.TempDir(), "token.key")
	if err := os.WriteFile(key, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yaml string
		want       config.TokenKey
		holder     string // in the error of TokenKeyMissing
	}{
		{"embedded", "", config.TokenKeyGenerated, ""},
		{"embedded_with_key", "tokens: {encryption_key_file: " + key + "}\n", config.TokenKeyConfigured, ""},
		{"embedded_plaintext", "tokens: {allow_plaintext: true}\n", config.TokenKeyPlaintext, ""},
		{"redis", "redis: {url: 'redis://r:6379'}\n", config.TokenKeyMissing, "which Redis would hold"},
		{"redis_sentinel", "redis: {master_name: m, addrs: ['s:26379']}\n", config.TokenKeyMissing, "which Redis would hold"},
		{"redis_key_env", "redis: {url: 'redis://r:6379'}\ntokens: {encryption_key_env: KEY}\n", config.TokenKeyConfigured, ""},
		{"redis_plaintext", "redis: {url: 'redis://r:6379'}\ntokens: {allow_plaintext: true}\n", config.TokenKeyPlaintext, ""},
		{"kv_on_external_nats", "nats: {url: 'nats://n:4222'}\n", config.TokenKeyMissing, "which the NATS servers of nats.url"},
		{"kv_on_external_nats_with_key", "nats: {url: 'nats://n:4222'}\ntokens: {encryption_key_file: " + key + "}\n", config.TokenKeyConfigured, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("poller.yaml", []byte(tt.yaml+schedule), credsEnv())
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := cfg.TokenKey()
			if got != tt.want {
				t.Fatalf("TokenKey() = %v, want %v", got, tt.want)
			}
			if tt.want != config.TokenKeyMissing {
				if err != nil {
					t.Fatalf("TokenKey() err = %v, want nil", err)
				}
				return
			}
			var e *config.Error
			if !errors.As(err, &e) || e.Key != "tokens" {
				t.Fatalf("TokenKey() err = %#v, want a *config.Error at key tokens", err)
			}
			for _, want := range []string{tt.holder, "tokens.encryption_key_file", "tokens.encryption_key_env",
				"openssl rand -base64 32", "tokens.allow_plaintext: true"} {
				if !strings.Contains(e.Problem, want) {
					t.Errorf("problem %q lacks %q", e.Problem, want)
				}
			}
		})
	}

	_, err := config.Parse("poller.yaml", []byte("tokens:\n  encryption_key_file: "+key+"\n  allow_plaintext: true\n"+schedule), credsEnv())
	if want := "poller.yaml:3: tokens.allow_plaintext: a key is configured, so token pairs are encrypted: remove allow_plaintext"; err == nil || err.Error() != want {
		t.Errorf("a key and allow_plaintext: err = %v, want %q", err, want)
	}
}
