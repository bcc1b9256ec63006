package daemon

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

// connectNATS connects with the options cfg gives.
func connectNATS(t *testing.T, cfg config.NATS) error {
	t.Helper()
	opts, err := NATSSecurityOptions(cfg)
	if err != nil {
		return err
	}
	nc, err := nats.Connect(cfg.URL, append(opts, nats.MaxReconnects(0), nats.Timeout(5*time.Second))...)
	if err != nil {
		return err
	}
	nc.Close()
	return nil
}

func tempFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNATSCredentials(t *testing.T) {
	t.Run("user_password", func(t *testing.T) {
		s := testserver.StartNATS(t, &natsserver.Options{Username: "poller", Password: "nats-pw-1"})
		if err := connectNATS(t, config.NATS{URL: s.ClientURL(), User: "poller", Password: "nats-pw-1"}); err != nil {
			t.Fatalf("connect with user/password: %v", err)
		}
		err := connectNATS(t, config.NATS{URL: s.ClientURL(), User: "poller", Password: "wrong"})
		if err == nil {
			t.Fatal("connect with a wrong password succeeded")
		}
		if strings.Contains(err.Error(), "nats-pw-1") || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("error shows a password: %v", err)
		}
	})
	t.Run("nkey_seed_file", func(t *testing.T) {
		user, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := user.PublicKey()
		seed, _ := user.Seed()
		s := testserver.StartNATS(t, &natsserver.Options{Nkeys: []*natsserver.NkeyUser{{Nkey: pub}}})
		if err := connectNATS(t, config.NATS{URL: s.ClientURL(), NkeySeedFile: tempFile(t, "user.nk", seed)}); err != nil {
			t.Fatalf("connect with the nkey seed: %v", err)
		}
		if err := connectNATS(t, config.NATS{URL: s.ClientURL()}); err == nil {
			t.Fatal("connect without credentials succeeded")
		}
		if _, err := NATSSecurityOptions(config.NATS{URL: s.ClientURL(), NkeySeedFile: tempFile(t, "bad.nk", []byte("garbage"))}); err == nil {
			t.Fatal("a seed file without a seed was accepted")
		}
	})
	t.Run("tls", func(t *testing.T) {
		caPEM, certPEM, keyPEM := selfSignedCert(t)
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		s := testserver.StartNATS(t, &natsserver.Options{TLS: true, TLSTimeout: 5,
			TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
		url := strings.Replace(s.ClientURL(), "nats://", "tls://", 1)
		if err := connectNATS(t, config.NATS{URL: url, TLS: config.TLS{CAFile: tempFile(t, "ca.pem", caPEM)}}); err != nil {
			t.Fatalf("connect with the CA: %v", err)
		}
		if err := connectNATS(t, config.NATS{URL: url, TLS: config.TLS{Enabled: true}}); err == nil {
			t.Fatal("connect without the CA succeeded")
		}
	})
	t.Run("embedded_server_has_none", func(t *testing.T) {
		opts, err := NATSSecurityOptions(config.NATS{User: "x", Password: "y"})
		if err != nil || len(opts) != 0 {
			t.Fatalf("NATSSecurityOptions(embedded) = %d options, %v; want none", len(opts), err)
		}
	})
}

func TestRedisCredentials(t *testing.T) {
	rs := testserver.StartRedis(t, "--user", "poller", "on", ">redis-pw-1", "~*", "+@all")
	ctx := t.Context()
	tests := []struct {
		name     string
		cfg      config.Redis
		wantUser string // "" = the connection must fail
	}{
		{"acl user", config.Redis{URL: "redis://" + rs.Addr, Username: "poller", Password: "redis-pw-1"}, "poller"},
		{"overrides the url", config.Redis{URL: "redis://x:y@" + rs.Addr, Username: "poller", Password: "redis-pw-1"}, "poller"},
		{"wrong password", config.Redis{URL: "redis://" + rs.Addr, Username: "poller", Password: "nope"}, ""},
		{"no credentials", config.Redis{URL: "redis://" + rs.Addr}, "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt, err := redisOptions(tt.cfg)
			if err != nil {
				t.Fatalf("redisOptions: %v", err)
			}
			rdb := redis.NewClient(opt)
			defer rdb.Close()
			got, err := rdb.Do(ctx, "ACL", "WHOAMI").Text()
			if tt.wantUser == "" {
				if err == nil {
					t.Fatalf("ACL WHOAMI as %q succeeded with a wrong password", got)
				}
				if strings.Contains(err.Error(), "nope") {
					t.Fatalf("error shows the password: %v", err)
				}
				return
			}
			if err != nil || got != tt.wantUser {
				t.Fatalf("ACL WHOAMI = %q, %v; want %q", got, err, tt.wantUser)
			}
		})
	}
	t.Run("tls", func(t *testing.T) {
		caPEM, _, _ := selfSignedCert(t)
		opt, err := redisOptions(config.Redis{URL: "redis://" + rs.Addr, TLS: config.TLS{CAFile: tempFile(t, "ca.pem", caPEM), ServerName: "redis.internal"}})
		if err != nil {
			t.Fatalf("redisOptions: %v", err)
		}
		if opt.TLSConfig == nil || opt.TLSConfig.RootCAs == nil || opt.TLSConfig.ServerName != "redis.internal" ||
			opt.TLSConfig.MinVersion < tls.VersionTLS12 {
			t.Fatalf("TLSConfig = %+v; want the CA, server name and TLS 1.2+", opt.TLSConfig)
		}
		if _, err := redisOptions(config.Redis{URL: "redis://" + rs.Addr, TLS: config.TLS{CAFile: tempFile(t, "ca.pem", []byte("nope"))}}); err == nil {
			t.Fatal("a CA file without a certificate was accepted")
		}
	})
}

func TestLoadKeyring(t *testing.T) {
	cur, prev := make([]byte, credentials.KeySize), make([]byte, credentials.KeySize)
	for i := range cur {
		cur[i], prev[i] = byte(i), byte(100+i)
	}
	curFile := tempFile(t, "cur.key", []byte(strings.Repeat(" ", 2)+hexKey(cur)+"\n"))
	env := func(m map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
	}
	t.Run("none", func(t *testing.T) {
		k, err := loadKeyring(config.Tokens{}, env(nil))
		if err != nil || k != nil {
			t.Fatalf("loadKeyring() = %v, %v; want nil, nil", k, err)
		}
	})
	t.Run("file and previous env", func(t *testing.T) {
		k, err := loadKeyring(config.Tokens{EncryptionKeyFile: curFile, PreviousKeyEnvs: []string{"OLD"}}, env(map[string]string{"OLD": hexKey(prev)}))
		if err != nil {
			t.Fatalf("loadKeyring: %v", err)
		}
		if got, want := k.CurrentKeyID(), credentials.KeyID(cur); got != want {
			t.Fatalf("current key id = %s, want %s", got, want)
		}
	})
	for _, tt := range []struct {
		name string
		cfg  config.Tokens
		env  map[string]string
		want string
	}{
		{"env unset", config.Tokens{EncryptionKeyEnv: "KEY"}, nil, "tokens.encryption_key_env: environment variable KEY is not set"},
		{"env short", config.Tokens{EncryptionKeyEnv: "KEY"}, map[string]string{"KEY": hexKey(cur)[:40]}, "tokens.encryption_key_env: parse key: 40 hex digits, want 64"},
		{"previous file missing", config.Tokens{EncryptionKeyFile: curFile, PreviousKeyFiles: []string{"/nonexistent/key"}}, nil, "tokens.previous_key_files[0]: open /nonexistent/key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadKeyring(tt.cfg, env(tt.env))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("loadKeyring err = %v, want it to start with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), hexKey(cur)[:40]) {
				t.Fatalf("error shows the key: %v", err)
			}
		})
	}
}

func hexKey(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// selfSignedCert returns a self-signed CA certificate valid for 127.0.0.1
// and localhost, used as the server certificate too, and its key.
func selfSignedCert(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smartcar-poller test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return certPEM, certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}
