package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/smartcar-poller/smartcar-poller/config"
)

// loadConfig parses the --config flag of a subcommand and loads the file.
func loadConfig(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (*config.Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "path to the YAML configuration")
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if *path == "" {
		return nil, nil, fmt.Errorf("%w: %s needs --config FILE", errUsage, name)
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return nil, nil, err
	}
	return cfg, fs, nil
}

func cmdRun(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg, _, err := loadConfig("run", args, stderr, nil)
	if err != nil {
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
