package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/internal/daemon"
)

// loadConfig parses the --config flag of a subcommand and loads the file
// with opts (config.SkipCredentials for commands that never call Smartcar).
func loadConfig(name string, args []string, extra func(*flag.FlagSet), opts ...config.Option) (*config.Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	path := fs.String("config", "", "path to the YAML configuration")
	if extra != nil {
		extra(fs)
	}
	if err := parseFlags(fs, args); err != nil {
		return nil, nil, err
	}
	if *path == "" {
		return nil, nil, fmt.Errorf("%w: %s needs --config FILE", errUsage, name)
	}
	cfg, err := config.Load(*path, opts...)
	if err != nil {
		return nil, nil, err
	}
	return cfg, fs, nil
}

func cmdRun(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg, _, err := loadConfig("run", args, nil)
	if err != nil {
		return err
	}
	if err := daemon.Check(cfg); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	if k, _ := cfg.TokenKey(); k == config.TokenKeyPlaintext {
		log.Warn("token pairs are stored unencrypted (tokens.allow_plaintext): set tokens.encryption_key_file or tokens.encryption_key_env")
	}
	app, err := open(ctx, cfg, log, openOptions{})
	if err != nil {
		return err
	}
	defer app.Close()
	if err := app.Run(ctx); err != nil {
		return err
	}
	log.Info("smartcar-poller stopped")
	return nil
}
