package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/smartcar-poller/smartcar-poller/config"
)

const (
	natsToken     = "nats-token-7c1d"
	redisPassword = "redis-password-55e0"
)

// secretConfig has the client secret and credentials in both URLs.
func secretConfig(t *testing.T) *config.Config {
	t.Helper()
	file := okSchedules + "nats: {url: 'nats://" + natsToken + "@n1:4222,nats://u:" + natsToken + "@n2:4222'}\n" +
		"redis: {url: 'redis://default:" + redisPassword + "@redis:6379/0'}\n"
	cfg, err := config.Parse("s.yaml", []byte(file), credsEnv())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Smartcar.ClientSecret.Reveal() != testClientSecret {
		t.Fatalf("Reveal() = %q, want the secret", cfg.Smartcar.ClientSecret.Reveal())
	}
	return cfg
}

func TestConfig_redaction(t *testing.T) {
	cfg := secretConfig(t)
	logged := func(h func(*bytes.Buffer) slog.Handler) string {
		var b bytes.Buffer
		slog.New(h(&b)).Info("config", "config", cfg, "value", *cfg, "secret", cfg.Smartcar.ClientSecret,
			"nats", cfg.NATS, "redis", cfg.Redis)
		return b.String()
	}
	jsonBytes, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	yamlBytes, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	yamlValueBytes, err := yaml.Marshal(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	jsonValueBytes, err := json.Marshal(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"String":       cfg.String(),
		"%v":           fmt.Sprintf("%v", cfg),
		"%+v smartcar": fmt.Sprintf("%+v", cfg.Smartcar),
		"%#v smartcar": fmt.Sprintf("%#v", cfg.Smartcar),
		"%s secret":    fmt.Sprintf("%s %q %x", cfg.Smartcar.ClientSecret, cfg.Smartcar.ClientSecret, cfg.Smartcar.ClientSecret),
		"slog json":    logged(func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) }),
		"slog text":    logged(func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) }),
		"json":         string(jsonBytes),
		"json value":   string(jsonValueBytes),
		"yaml":         string(yamlBytes),
		"yaml value":   string(yamlValueBytes),
		"%+v value":    fmt.Sprintf("%+v", *cfg),
		"%+v urls":     fmt.Sprintf("%+v %v %s", cfg.NATS, cfg.Redis, &cfg.Redis),
	}
	for name, out := range outputs {
		t.Run(name, func(t *testing.T) {
			for _, secret := range []string{testClientSecret, natsToken, redisPassword} {
				if strings.Contains(out, secret) {
					t.Errorf("output shows %q:\n%s", secret, out)
				}
			}
		})
	}
	// The redacted forms still say what is configured.
	for _, want := range []string{
		"client_secret: REDACTED",
		"url: nats://REDACTED@n1:4222,nats://REDACTED@n2:4222",
		"url: redis://REDACTED@redis:6379/0",
		"client_id: " + testClientID,
	} {
		if !strings.Contains(outputs["String"], want) {
			t.Errorf("String() lacks %q:\n%s", want, outputs["String"])
		}
	}
	for _, want := range []string{`"client_secret":"REDACTED"`, `"redis_url":"redis://REDACTED@redis:6379/0"`, `"secret":"REDACTED"`} {
		if !strings.Contains(outputs["slog json"], want) {
			t.Errorf("JSON log lacks %s:\n%s", want, outputs["slog json"])
		}
	}
}

func TestSecret_empty(t *testing.T) {
	var s config.Secret
	if got := fmt.Sprint(s); got != "" {
		t.Errorf("empty secret prints %q, want \"\"", got)
	}
}

func TestParse_errorsHideSecrets(t *testing.T) {
	// Every URL problem with credentials in the URL, plus the client secret in
	// a file that has other problems.
	file := "smartcar:\n  client_secret: " + testClientSecret + "\n  client_id: id\n  timeout: -1s\n" +
		"redis: {url: 'redis://:" + redisPassword + "@redis:99999'}\n" +
		"nats: {url: 'http://" + natsToken + "@n:4222,nats://" + natsToken + "@:1'}\n" +
		"workers: {concurrency: '" + testClientSecret + "-x'}\n" + // a value of the wrong type is shown, so...
		okSchedules
	_, err := config.Parse("s.yaml", []byte(file), env())
	if err == nil {
		t.Fatal("Parse accepted the config")
	}
	got := problems(t, err, "s.yaml")
	if len(got) != 5 {
		t.Errorf("got %d problems, want 5:\n%s", len(got), strings.Join(got, "\n"))
	}
	for _, p := range got {
		for _, secret := range []string{redisPassword, natsToken} {
			if strings.Contains(p, secret) {
				t.Errorf("problem %q shows %q", p, secret)
			}
		}
	}
	// ...which is why the secret itself only leaks if put in another key;
	// client_secret's own value never appears.
	if n := strings.Count(err.Error(), testClientSecret); n != 1 {
		t.Errorf("secret appears %d times, want only in the misplaced workers.concurrency value:\n%v", n, err)
	}
}

func TestParse_syntaxErrorsHideTheFile(t *testing.T) {
	// go-yaml's Error() quotes the lines around the problem; Parse keeps
	// only the message and the line.
	file := "smartcar:\n  client_secret: " + testClientSecret + "\n   client_id: id\n" + okSchedules
	_, err := config.Parse("s.yaml", []byte(file), env())
	if err == nil {
		t.Fatal("Parse accepted the config")
	}
	got := problems(t, err, "s.yaml")
	if want := []string{"s.yaml:2: invalid YAML: mapping value is not allowed in this context"}; !slices.Equal(got, want) {
		t.Fatalf("problems %q, want %q", got, want)
	}
	if strings.Contains(err.Error(), testClientSecret) {
		t.Errorf("syntax error shows the secret: %v", err)
	}
}
