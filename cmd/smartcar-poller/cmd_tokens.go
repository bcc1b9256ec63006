package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/credentials"
)

// cmdTokens runs "tokens rotate-key": encrypt every stored grant with the
// current key (tokens.encryption_key_*, or the key generated under
// data_dir), plaintext records included, reading the older ones with
// tokens.previous_key_*. It is safe while daemons run: each rewrite is a
// compare-and-set that keeps the grant's version, so refreshes are not lost.
func cmdTokens(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if helpRequested(args) {
		return &helpError{name: "tokens"}
	}
	if len(args) == 0 || args[0] != "rotate-key" {
		return fmt.Errorf("%w: tokens needs rotate-key", errUsage)
	}
	// Re-encrypting reads and writes the store only: no Smartcar credentials.
	cfg, _, err := loadConfig("tokens rotate-key", args[1:], nil, config.SkipCredentials())
	if err != nil {
		return err
	}
	if k, _ := cfg.TokenKey(); k == config.TokenKeyPlaintext {
		return errors.New("tokens rotate-key: no encryption key configured (tokens.allow_plaintext is set): set tokens.encryption_key_file or tokens.encryption_key_env")
	}
	log := newLogger(stderr, cfg.Log.Level, cfg.Log.Format)
	app, err := open(ctx, cfg, log, openOptions{ConnectOnly: true, StoreOnly: true, Command: "tokens rotate-key"})
	if err != nil {
		return err
	}
	defer app.Close()
	st, err := credentials.RotateKey(ctx, app.Grants())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-encrypted %d of %d grants with key %s\n", st.Moved, st.Grants, app.Keyring().CurrentKeyID())
	return nil
}
