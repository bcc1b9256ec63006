package config_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/config"
)

func TestParse_natsServers(t *testing.T) {
	tests := []struct {
		name     string
		nats     string
		url      string
		replicas int
	}{
		{"embedded", "nats: {}\n", "", 1},
		{"one server", "nats: {url: 'nats://n1:4222'}\n", "nats://n1:4222", 1},
		{"comma-separated servers", "nats: {url: 'nats://n1:4222, nats://n2:4222,nats://n3:4222'}\n",
			"nats://n1:4222, nats://n2:4222,nats://n3:4222", 3},
		{"list of servers", "nats:\n  url:\n    - nats://n1:4222\n    - ${N2}\n    - tls://n3:4222\n",
			"nats://n1:4222,nats://n2:4222,tls://n3:4222", 3},
		{"list of one", "nats: {url: [nats://n1:4222]}\n", "nats://n1:4222", 1},
		{"list from an anchor", "x-servers: &servers [nats://n1:4222, nats://n2:4222]\nnats: {url: *servers}\n",
			"nats://n1:4222,nats://n2:4222", 3},
		{"replicas set on a cluster", "nats: {url: [nats://n1:4222, nats://n2:4222], replicas: 1}\n",
			"nats://n1:4222,nats://n2:4222", 1},
		{"replicas set on one server", "nats: {url: nats://n1:4222, replicas: 5}\n", "nats://n1:4222", 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("poller.yaml", []byte(okSchedules+tc.nats), credsEnv("N2", "nats://n2:4222"))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if cfg.NATS.URL != tc.url || cfg.NATS.Replicas != tc.replicas {
				t.Errorf("url %q replicas %d, want %q and %d", cfg.NATS.URL, cfg.NATS.Replicas, tc.url, tc.replicas)
			}
			if got, want := len(cfg.NATS.Servers()), strings.Count(tc.url, "://"); got != want {
				t.Errorf("Servers() = %q, want %d servers", cfg.NATS.Servers(), want)
			}
		})
	}
}

func TestParse_redisModes(t *testing.T) {
	tests := []struct {
		name  string
		redis string
		want  config.Redis
		mode  config.RedisMode
	}{
		{"embedded", "redis: {}\n", config.Redis{KeyPrefix: "smartcar:"}, config.RedisEmbedded},
		{"url", "redis: {url: 'redis://r:6379/2'}\n",
			config.Redis{URL: "redis://r:6379/2", KeyPrefix: "smartcar:"}, config.RedisSingle},
		{"one address", "redis: {addrs: [r:6379], db: 2, username: u, password: pw}\n",
			config.Redis{Addrs: []string{"r:6379"}, DB: 2, KeyPrefix: "smartcar:", Username: "u", Password: "pw"}, config.RedisSingle},
		{"sentinel", "redis:\n  master_name: mymaster\n  addrs: [s1:26379, 's2:26379', '${S3}']\n  db: 1\n" +
			"  password: pw\n  sentinel_username: su\n  sentinel_password: ${SENTINEL_PW}\n  tls: {enabled: true}\n",
			config.Redis{
				MasterName: "mymaster", Addrs: []string{"s1:26379", "s2:26379", "s3:26379"}, DB: 1, KeyPrefix: "smartcar:",
				Password: "pw", SentinelUsername: "su", SentinelPassword: "spw", TLS: config.TLS{Enabled: true},
			}, config.RedisSentinel},
		{"sentinel of one", "redis: {master_name: m, addrs: ['[::1]:26379']}\n",
			config.Redis{MasterName: "m", Addrs: []string{"[::1]:26379"}, KeyPrefix: "smartcar:"}, config.RedisSentinel},
		{"cluster", "redis: {addrs: [c1:6379, c2:6379, c3:6379], key_prefix: '{smartcar}:'}\n",
			config.Redis{Addrs: []string{"c1:6379", "c2:6379", "c3:6379"}, KeyPrefix: "{smartcar}:"}, config.RedisCluster},
		{"cluster endpoint", "redis: {addrs: [clustercfg.example:6379], cluster: true, key_prefix: 'fleet:{a}:'}\n",
			config.Redis{Addrs: []string{"clustercfg.example:6379"}, Cluster: true, KeyPrefix: "fleet:{a}:"}, config.RedisCluster},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("poller.yaml", []byte(okSchedules+tc.redis), credsEnv("S3", "s3:26379", "SENTINEL_PW", "spw"))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tc.want, cfg.Redis); diff != "" {
				t.Errorf("redis (-want +got):\n%s", diff)
			}
			if got := cfg.Redis.Mode(); got != tc.mode {
				t.Errorf("Mode() = %s, want %s", got, tc.mode)
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate of the parsed config: %v", err)
			}
		})
	}
}

// TestValidate_redis checks a Config built in code gets the file's rules.
func TestValidate_redis(t *testing.T) {
	cfg := config.Default()
	cfg.Redis.Addrs = []string{"c1:6379", "c2:6379"}
	cfg.Redis.SentinelPassword = "x"
	err := cfg.Validate(config.SkipCredentials())
	want := []string{
		`redis.key_prefix: Redis Cluster needs a hash tag in the prefix, such as "{smartcar}:", so that each script's keys share a slot`,
		"redis.sentinel_password: applies to Sentinel only (set redis.master_name and redis.addrs)",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("Validate() = %v, want:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestRedis_sentinelRedaction(t *testing.T) {
	const pw, spw = "redis-pw-81aa", "sentinel-pw-0d3e"
	cfg, err := config.Parse("poller.yaml", []byte(okSchedules+"redis:\n  master_name: mymaster\n  addrs: [s1:26379, s2:26379]\n"+
		"  password: "+pw+"\n  sentinel_password: "+spw+"\n"), credsEnv())
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", cfg, "redis", cfg.Redis)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	outputs := []string{cfg.String(), fmt.Sprintf("%v %+v", cfg.Redis, cfg.Redis), logged.String(), string(js)}
	for _, out := range outputs {
		if strings.Contains(out, pw) || strings.Contains(out, spw) {
			t.Errorf("output shows a password:\n%s", out)
		}
	}
	for _, want := range []string{"master_name: mymaster", "sentinel_password: REDACTED", "- s2:26379"} {
		if !strings.Contains(outputs[0], want) {
			t.Errorf("String() lacks %q:\n%s", want, outputs[0])
		}
	}
	if want := `"redis":"{Sentinels:s1:26379,s2:26379 MasterName:mymaster DB:0 KeyPrefix:smartcar:}"`; !strings.Contains(logged.String(), want) {
		t.Errorf("log lacks %s:\n%s", want, logged.String())
	}
}
