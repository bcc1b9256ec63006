package config

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/goccy/go-yaml"
)

// plainConfig is Config without its methods, so marshalling it does not
// recurse into MarshalYAML or MarshalJSON.
type plainConfig Config

// redacted returns a copy with the URL credentials hidden; the secret
// redacts itself.
func (c Config) redacted() plainConfig {
	c.NATS.URL = redactURLs(c.NATS.URL)
	c.Redis.URL = redactURLs(c.Redis.URL)
	return plainConfig(c)
}

// MarshalYAML writes the configuration with the client secret and URL
// credentials redacted.
func (c Config) MarshalYAML() (any, error) { return c.redacted(), nil }

// MarshalJSON writes the configuration (Go field names) with the client
// secret and URL credentials redacted.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.redacted()) }

// String returns c as YAML, the client secret and URL credentials redacted.
// It is for display: values are not escaped for ${ENV} expansion.
func (c Config) String() string {
	b, err := yaml.MarshalWithOptions(c, yaml.Indent(2), yaml.IndentSequence(true))
	if err != nil {
		return "config: " + err.Error()
	}
	return string(b)
}

// LogValue logs the main settings, the client secret and URL credentials
// redacted.
func (c Config) LogValue() slog.Value {
	redisURL := redactURLs(c.Redis.URL)
	if c.Redis.Mode() == RedisEmbedded {
		redisURL = "embedded"
	}
	names := make([]string, len(c.Schedules))
	for i, s := range c.Schedules {
		names[i] = s.Name
	}
	return slog.GroupValue(
		slog.String("nats_url", embedded(redactURLs(c.NATS.URL))),
		slog.String("subject_prefix", c.NATS.SubjectPrefix),
		slog.String("redis_url", redisURL),
		slog.String("redis_mode", string(c.Redis.Mode())),
		slog.Any("redis_addrs", c.Redis.Addrs),
		slog.String("data_dir", c.DataDir),
		slog.String("mode", string(c.Smartcar.Mode)),
		slog.String("unit_system", c.Smartcar.UnitSystem),
		slog.String("client_id", c.Smartcar.ClientID),
		slog.Any("client_secret", c.Smartcar.ClientSecret),
		slog.Float64("requests_per_minute", c.Smartcar.RateLimit.RequestsPerMinute),
		slog.Int("burst", c.Smartcar.RateLimit.Burst),
		slog.Int("concurrency", c.Workers.Concurrency),
		slog.String("http_listen", c.HTTP.Listen),
		slog.Any("schedules", names),
	)
}

// String prints the NATS settings with URL credentials redacted.
func (n NATS) String() string {
	return fmt.Sprintf("{URL:%s SubjectPrefix:%s EventsMaxAge:%s Replicas:%d}",
		redactURLs(n.URL), n.SubjectPrefix, n.EventsMaxAge, n.Replicas)
}

// LogValue logs the NATS settings with URL credentials redacted.
func (n NATS) LogValue() slog.Value { return slog.StringValue(n.String()) }

// String prints the Redis settings with URL credentials redacted.
func (r Redis) String() string {
	switch {
	case r.Mode() == RedisSentinel:
		return fmt.Sprintf("{Sentinels:%s MasterName:%s DB:%d KeyPrefix:%s}",
			strings.Join(r.Addrs, ","), r.MasterName, r.DB, r.KeyPrefix)
	case r.Mode() == RedisCluster:
		return fmt.Sprintf("{Cluster:%s KeyPrefix:%s}", strings.Join(r.Addrs, ","), r.KeyPrefix)
	case len(r.Addrs) == 1:
		return fmt.Sprintf("{Addr:%s DB:%d KeyPrefix:%s}", r.Addrs[0], r.DB, r.KeyPrefix)
	}
	return fmt.Sprintf("{URL:%s KeyPrefix:%s}", redactURLs(r.URL), r.KeyPrefix)
}

// LogValue logs the Redis settings with URL credentials redacted.
func (r Redis) LogValue() slog.Value { return slog.StringValue(r.String()) }

func embedded(url string) string {
	if url == "" {
		return "embedded"
	}
	return url
}
