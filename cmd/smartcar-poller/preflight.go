package main

import (
	"github.com/smartcar-poller/smartcar-poller/config"
)

// checkRun reports what run refuses before it connects anywhere, with the
// messages run gives, since it calls what run calls: the token keys, the
// NATS and Redis client settings (nkey seed, CA and key pair files) and the
// Smartcar auth client. run calls it after config.Load, and so does config
// validate: what validate accepts, run does not refuse for its settings.
func checkRun(cfg *config.Config) error {
	if _, err := storeOptions(cfg.Tokens); err != nil {
		return err
	}
	if _, err := natsSecurityOptions(cfg.NATS); err != nil {
		return err
	}
	if cfg.Redis.Mode() != config.RedisEmbedded {
		rdb, err := redisClient(cfg.Redis) // builds options only: no connection yet
		if err != nil {
			return err
		}
		_ = rdb.Close()
	}
	if _, err := authClient(cfg); err != nil {
		return err
	}
	return nil
}
