package daemon

import (
	"fmt"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/config"
)

// TestRedisClient maps each redis mode to its go-redis client, with the
// credentials and TLS of the settings.
func TestRedisClient(t *testing.T) {
	tests := []struct {
		name string
		cfg  config.Redis
		want string // client type
	}{
		{"url", config.Redis{URL: "redis://r:6379/1"}, "*redis.Client"},
		{"one address", config.Redis{Addrs: []string{"r:6379"}, DB: 1}, "*redis.Client"},
		{"sentinel", config.Redis{MasterName: "m", Addrs: []string{"s1:26379", "s2:26379"}}, "*redis.Client"},
		{"cluster", config.Redis{Addrs: []string{"c1:6379", "c2:6379"}}, "*redis.ClusterClient"},
		{"cluster endpoint", config.Redis{Addrs: []string{"c1:6379"}, Cluster: true}, "*redis.ClusterClient"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := RedisClient(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := fmt.Sprintf("%T", c); got != tc.want {
				t.Errorf("client %s, want %s", got, tc.want)
			}
		})
	}

	opt, err := universalOptions(config.Redis{
		MasterName: "m", Addrs: []string{"s1:26379"}, DB: 2, Username: "u", Password: "pw",
		SentinelUsername: "su", SentinelPassword: "spw", TLS: config.TLS{Enabled: true, ServerName: "redis.internal"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if opt.MasterName != "m" || opt.DB != 2 || opt.Username != "u" || opt.Password != "pw" ||
		opt.SentinelUsername != "su" || opt.SentinelPassword != "spw" || opt.IsClusterMode {
		t.Errorf("options %+v do not carry the settings", opt)
	}
	if opt.TLSConfig == nil || opt.TLSConfig.ServerName != "redis.internal" {
		t.Errorf("TLS config %+v, want server name redis.internal", opt.TLSConfig)
	}
}
