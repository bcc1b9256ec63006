package daemon

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/credentials"
)

// tokenKeyring returns the Keyring of the token store as cfg.TokenKey says:
// the configured keys, or the key kept under data_dir (created on first
// start), or nil for plaintext when tokens.allow_plaintext says so; without
// a key for Redis or an external NATS it returns TokenKey's error, which
// names the settings. Errors and logs name files and key ids, never a key.
func tokenKeyring(cfg *config.Config, log *slog.Logger) (*credentials.Keyring, error) {
	mode, err := cfg.TokenKey()
	switch mode {
	case config.TokenKeyMissing:
		return nil, err
	case config.TokenKeyPlaintext:
		return nil, nil
	case config.TokenKeyGenerated:
		path := filepath.Join(cfg.DataDir, config.GeneratedKeyFile)
		key, created, err := credentials.LoadOrCreateKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("token encryption key: %w", err)
		}
		k, err := credentials.NewKeyring(key)
		if err != nil {
			return nil, fmt.Errorf("token encryption key %s: %w", path, err)
		}
		if created {
			log.Info("generated the token encryption key: token pairs are stored encrypted with it "+
				"(`tokens rotate-key` encrypts those stored before); keep it with data_dir",
				"key_file", path, "key_id", k.CurrentKeyID())
		}
		return k, nil
	}
	return loadKeyring(cfg.Tokens, lookupEnv)
}

// lookupEnv is os.LookupEnv; tests of this package do not replace it.
var lookupEnv = os.LookupEnv

// loadKeyring reads the configured keys; nil without a current key.
// Errors name the setting, never the key.
func loadKeyring(cfg config.Tokens, env func(string) (string, bool)) (*credentials.Keyring, error) {
	if !cfg.Encrypted() {
		return nil, nil
	}
	read := func(setting, file, name string) ([]byte, error) {
		var text string
		if file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", setting, err)
			}
			text = string(b)
		} else {
			v, ok := env(name)
			if !ok {
				return nil, fmt.Errorf("%s: environment variable %s is not set", setting, name)
			}
			text = v
		}
		key, err := credentials.ParseKey(text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", setting, err)
		}
		return key, nil
	}
	cur, err := read("tokens.encryption_key_file", cfg.EncryptionKeyFile, "")
	if cfg.EncryptionKeyFile == "" {
		cur, err = read("tokens.encryption_key_env", "", cfg.EncryptionKeyEnv)
	}
	if err != nil {
		return nil, err
	}
	var prev [][]byte
	for i, f := range cfg.PreviousKeyFiles {
		k, err := read(fmt.Sprintf("tokens.previous_key_files[%d]", i), f, "")
		if err != nil {
			return nil, err
		}
		prev = append(prev, k)
	}
	for i, e := range cfg.PreviousKeyEnvs {
		k, err := read(fmt.Sprintf("tokens.previous_key_envs[%d]", i), "", e)
		if err != nil {
			return nil, err
		}
		prev = append(prev, k)
	}
	return credentials.NewKeyring(cur, prev...)
}

// NATSSecurityOptions returns the connection options for nats.creds_file,
// nkey_seed_file, user/password and tls; none for the embedded server.
func NATSSecurityOptions(cfg config.NATS) ([]nats.Option, error) {
	if cfg.URL == "" {
		return nil, nil
	}
	var opts []nats.Option
	switch {
	case cfg.CredsFile != "":
		opts = append(opts, nats.UserCredentials(cfg.CredsFile))
	case cfg.NkeySeedFile != "":
		o, err := nats.NkeyOptionFromSeed(cfg.NkeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats.nkey_seed_file: %w", err)
		}
		opts = append(opts, o)
	case cfg.User != "":
		opts = append(opts, nats.UserInfo(cfg.User, cfg.Password.Reveal()))
	}
	if cfg.TLS.On() {
		tc, err := tlsConfig("nats.tls", cfg.TLS, nil)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(tc))
	}
	return opts, nil
}

// RedisClient returns the client the redis settings select: one server by
// redis.url, or redis.addrs through go-redis's UniversalClient (Sentinel,
// Cluster or one server, see config.Redis.Mode).
func RedisClient(cfg config.Redis) (redis.UniversalClient, error) {
	if cfg.URL != "" {
		opt, err := redisOptions(cfg)
		if err != nil {
			return nil, fmt.Errorf("redis url: %w", err)
		}
		return redis.NewClient(opt), nil
	}
	opt, err := universalOptions(cfg)
	if err != nil {
		return nil, err
	}
	return redis.NewUniversalClient(opt), nil
}

// universalOptions maps redis.addrs and the settings that go with it. TLS
// verifies each node by the host it dials unless tls.server_name is set.
func universalOptions(cfg config.Redis) (*redis.UniversalOptions, error) {
	opt := &redis.UniversalOptions{
		Addrs:            cfg.Addrs,
		MasterName:       cfg.MasterName,
		IsClusterMode:    cfg.Cluster && cfg.MasterName == "",
		DB:               cfg.DB,
		Username:         cfg.Username,
		Password:         cfg.Password.Reveal(),
		SentinelUsername: cfg.SentinelUsername,
		SentinelPassword: cfg.SentinelPassword.Reveal(),
	}
	if cfg.TLS.On() {
		tc, err := tlsConfig("redis.tls", cfg.TLS, nil)
		if err != nil {
			return nil, err
		}
		opt.TLSConfig = tc
	}
	return opt, nil
}

// redisOptions parses redis.url and applies redis.username, password and tls.
func redisOptions(cfg config.Redis) (*redis.Options, error) {
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Password != "" {
		opt.Username, opt.Password = cfg.Username, cfg.Password.Reveal()
	}
	if cfg.TLS.On() {
		if opt.TLSConfig == nil {
			opt.TLSConfig = &tls.Config{ServerName: hostOnly(opt.Addr)}
		}
		if opt.TLSConfig, err = tlsConfig("redis.tls", cfg.TLS, opt.TLSConfig); err != nil {
			return nil, err
		}
	}
	return opt, nil
}

// tlsConfig builds a client TLS config from t on top of base (may be nil).
func tlsConfig(setting string, t config.TLS, base *tls.Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		tc = base.Clone()
		tc.MinVersion = max(tc.MinVersion, tls.VersionTLS12)
	}
	if t.ServerName != "" {
		tc.ServerName = t.ServerName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("%s.ca_file: %w", setting, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s.ca_file: %w", setting, errors.New("no PEM certificate found"))
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			// The error text is about the files' structure, never the key bytes.
			return nil, fmt.Errorf("%s.cert_file: load key pair: %w", setting, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func hostOnly(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}
