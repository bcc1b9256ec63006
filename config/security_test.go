package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/config"
)

const schedule = "schedules:\n  - {name: s, cron: '@hourly', paths: [/odometer]}\n"

func TestParse_security(t *testing.T) {
	dir := t.TempDir()
	file := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key, prev, creds, ca, cert, certKey := file("key"), file("prev"), file("creds"), file("ca.pem"), file("c.pem"), file("k.pem")
	missing := filepath.Join(dir, "missing")

	t.Run("valid", func(t *testing.T) {
		yaml := "nats:\n  url: tls://nats:4222\n  creds_file: " + creds + "\n  tls: {ca_file: " + ca + ", cert_file: " + cert + ", key_file: " + certKey + "}\n" +
			"redis:\n  url: rediss://redis:6379\n  username: poller\n  password: ${REDIS_PW}\n  tls: {ca_file: " + ca + "}\n" +
			"tokens:\n  encryption_key_file: " + key + "\n  previous_key_files: [" + prev + "]\n  previous_key_envs: [OLD_KEY]\n"
		cfg, err := config.Parse("poller.yaml", []byte(yaml+schedule), credsEnv("REDIS_PW", "s3cret-pw"))
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		want := config.Tokens{EncryptionKeyFile: key, PreviousKeyFiles: []string{prev}, PreviousKeyEnvs: []string{"OLD_KEY"}}
		if diff := cmp.Diff(want, cfg.Tokens); diff != "" {
			t.Errorf("Tokens (-want +got):\n%s", diff)
		}
		if !cfg.Tokens.Encrypted() || !cfg.NATS.TLS.On() || !cfg.Redis.TLS.On() {
			t.Errorf("Encrypted/TLS.On = %v/%v/%v, want all true", cfg.Tokens.Encrypted(), cfg.NATS.TLS.On(), cfg.Redis.TLS.On())
		}
		if got := cfg.Redis.Password.Reveal(); got != "s3cret-pw" {
			t.Errorf("redis password = %q, want the ${REDIS_PW} value", got)
		}
		if s := cfg.String(); strings.Contains(s, "s3cret-pw") {
			t.Errorf("String() shows the redis password:\n%s", s)
		}
	})

	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"missing key file", "tokens:\n  encryption_key_file: " + missing + "\n",
			[]string{`poller.yaml:2: tokens.encryption_key_file: file "` + missing + `" does not exist`}},
		{"key file is a directory", "tokens:\n  encryption_key_file: " + dir + "\n",
			[]string{`poller.yaml:2: tokens.encryption_key_file: "` + dir + `" is not a regular file`}},
		{"file and env", "tokens:\n  encryption_key_file: " + key + "\n  encryption_key_env: KEY\n",
			[]string{`poller.yaml:3: tokens.encryption_key_env: set encryption_key_file or encryption_key_env, not both`}},
		{"bad env name", "tokens:\n  encryption_key_env: 1-KEY\n",
			[]string{`poller.yaml:2: tokens.encryption_key_env: invalid environment variable name "1-KEY"`}},
		{"previous without current", "tokens:\n  previous_key_envs: [OLD]\n",
			[]string{`poller.yaml:1: tokens: previous keys need a current key (encryption_key_file or encryption_key_env)`}},
		{"missing previous file", "tokens:\n  encryption_key_env: KEY\n  previous_key_files:\n    - " + key + "\n    - " + missing + "\n",
			[]string{`poller.yaml:5: tokens.previous_key_files[1]: file "` + missing + `" does not exist`}},
		{"nats creds and nkey", "nats:\n  url: nats://n:4222\n  creds_file: " + creds + "\n  nkey_seed_file: " + missing + "\n",
			[]string{
				`poller.yaml:4: nats.nkey_seed_file: set creds_file or nkey_seed_file, not both`,
				`poller.yaml:4: nats.nkey_seed_file: file "` + missing + `" does not exist`,
			}},
		{"nats password without user", "nats:\n  url: nats://n:4222\n  password: pw\n",
			[]string{`poller.yaml:1: nats.user: missing: nats.password needs it`}},
		{"nats credentials on the embedded server", "nats:\n  creds_file: " + creds + "\n",
			[]string{`poller.yaml:1: nats.url: missing: credentials and TLS apply to an external server, not the embedded one`}},
		{"nats cert without key", "nats:\n  url: tls://n:4222\n  tls:\n    cert_file: " + cert + "\n",
			[]string{`poller.yaml:3: nats.tls.key_file: cert_file and key_file go together`}},
		{"redis user without password", "redis:\n  url: redis://r:6379\n  username: u\n",
			[]string{`poller.yaml:3: redis.username: needs redis.password`}},
		{"redis tls on the embedded store", "redis:\n  tls: {ca_file: " + missing + "}\n",
			[]string{
				`poller.yaml:1: redis.url: missing: credentials and TLS apply to Redis, not the embedded token store`,
				`poller.yaml:2: redis.tls.ca_file: file "` + missing + `" does not exist`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse("poller.yaml", []byte(tt.yaml+schedule), credsEnv())
			if err == nil {
				t.Fatalf("Parse accepted the config:\n%s", cfg)
			}
			if diff := cmp.Diff(tt.want, problems(t, err, "poller.yaml")); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
