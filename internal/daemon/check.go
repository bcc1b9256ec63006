package daemon

import (
	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// Check reports what run refuses before it connects anywhere, with the
// messages run gives, since it calls what run calls: the token keys, the
// NATS and Redis client settings (nkey seed, CA and key pair files) and the
// Smartcar auth client. run calls it after config.Load, and so does config
// validate: what validate accepts, run does not refuse for its settings.
func Check(cfg *config.Config) error {
	// The token key as run sees it, without creating the generated one.
	switch mode, err := cfg.TokenKey(); mode {
	case config.TokenKeyMissing:
		return err
	case config.TokenKeyConfigured:
		if _, err := loadKeyring(cfg.Tokens, lookupEnv); err != nil {
			return err
		}
	}
	if _, err := NATSSecurityOptions(cfg.NATS); err != nil {
		return err
	}
	if cfg.Redis.Mode() != config.RedisEmbedded {
		rdb, err := RedisClient(cfg.Redis) // builds options only: no connection yet
		if err != nil {
			return err
		}
		_ = rdb.Close()
	}
	if _, err := authClient(cfg); err != nil {
		return err
	}
	if _, err := appClient(cfg, smartcar.AppClientOptions{}, nil); err != nil {
		return err
	}
	return nil
}
