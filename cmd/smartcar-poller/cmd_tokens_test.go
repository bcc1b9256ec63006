package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// TestTokensRotateKey runs "tokens rotate-key" against grants written with
// an old key and a plaintext one, on the machine's Redis and NATS.
func TestTokensRotateKey(t *testing.T) {
	rdb := testserver.Redis(t)
	testserver.NATS(t)
	prefix := testserver.Unique("rk")
	cleanupNames(t, nil, prefix)
	oldKey, newKey := bytes.Repeat([]byte{1}, tokens.KeySize), bytes.Repeat([]byte{2}, tokens.KeySize)
	oldFile := tempFile(t, "old.key", []byte(base64.StdEncoding.EncodeToString(oldKey)))
	newFile := tempFile(t, "new.key", []byte(hexKey(newKey)+"\n"))

	oldRing, err := tokens.NewKeyring(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	old := tokens.NewRedisStore(rdb, prefix+":", tokens.WithKeyring(oldRing))
	plain := tokens.NewRedisStore(rdb, prefix+":")
	for i, s := range []tokens.Store{old, old, plain} {
		g := tokens.Grant{ID: fmt.Sprintf("user-%d", i), Access: smartcar.Access{AccessToken: fmt.Sprintf("at-%d", i), RefreshToken: fmt.Sprintf("rt-%d", i)}}
		if err := s.CreateGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}

	base := fmt.Sprintf("nats: {url: %q, subject_prefix: %s}\nredis: {url: %q, key_prefix: %q}\n"+
		"smartcar: {client_id: id, client_secret: secret, redirect_uri: http://localhost/callback}\nhttp: {listen: ''}\nlog: {level: warn}\n"+
		"schedules:\n  - {name: s, cron: '@hourly', paths: [/odometer]}\n",
		testserver.NATSURL(), prefix, "redis://"+testserver.RedisAddr(), prefix+":")
	dir := t.TempDir()
	plainCfg := filepath.Join(dir, "plain.yaml")
	writeFile(t, plainCfg, base)
	rotCfg := filepath.Join(dir, "rotate.yaml")
	writeFile(t, rotCfg, base+"tokens:\n  encryption_key_file: "+newFile+"\n  previous_key_files: ["+oldFile+"]\n")

	tests := []struct {
		name, config string
		wantCode     int
		wantOut      string
	}{
		{"without a key", plainCfg, 1, "no encryption key configured"},
		{"moves every record", rotCfg, 0, "re-encrypted 3 of 3 grants with key " + tokens.KeyID(newKey) + "\n"},
		{"again moves none", rotCfg, 0, "re-encrypted 0 of 3 grants with key " + tokens.KeyID(newKey) + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(ctx, []string{"tokens", "rotate-key", "--config", tt.config}, &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stdout.String()+stderr.String(), tt.wantOut) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut)
			}
		})
	}

	// Only the new key is needed now, and the old one no longer reads them.
	newRing, err := tokens.NewKeyring(newKey)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		id := fmt.Sprintf("user-%d", i)
		g, err := tokens.NewRedisStore(rdb, prefix+":", tokens.WithKeyring(newRing)).GetGrant(ctx, id)
		if err != nil || g.Access.RefreshToken != fmt.Sprintf("rt-%d", i) || g.Version != 1 {
			t.Errorf("grant %s after rotation = version %d, %v; want version 1 and its tokens", id, g.Version, err)
		}
		if _, err := old.GetGrant(ctx, id); !errors.Is(err, tokens.ErrUnknownKey) {
			t.Errorf("grant %s read with the old key only: err = %v, want ErrUnknownKey", id, err)
		}
	}

	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"tokens"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "tokens rotate-key --config FILE") {
		t.Fatalf("tokens without a subcommand: exit %d, stderr %q; want 2 and the usage", code, stderr.String())
	}
}

// TestEmbeddedStoreEncrypted connects a grant through the daemon's wiring
// with the embedded NATS and token store and a key from the environment: the
// KV record holds the key id and no token.
func TestEmbeddedStoreEncrypted(t *testing.T) {
	sim := smartcartest.NewServer(smartcartest.WithSeed(4), smartcartest.WithUsers(1), smartcartest.WithVehicles(1))
	defer sim.Close()
	key := bytes.Repeat([]byte{7}, tokens.KeySize)
	t.Setenv("SMARTCAR_POLLER_TEST_TOKEN_KEY", base64.RawURLEncoding.EncodeToString(key))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = ""
	cfg.Smartcar.ClientID, cfg.Smartcar.ClientSecret = sim.ClientID, config.Secret(sim.ClientSecret)
	cfg.Smartcar.RedirectURI = sim.RedirectURI
	cfg.Tokens.EncryptionKeyEnv = "SMARTCAR_POLLER_TEST_TOKEN_KEY"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	o := simOptions(sim)
	o.connectOnly = true
	app, err := open(ctx, cfg, testLogger(t), o)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	tok, ok := sim.ConnectUser(sim.Users()[0], nil, nil)
	if !ok {
		t.Fatal("connect user")
	}
	access, err := app.auth.ExchangeRefreshToken(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.connectGrant(ctx, access, nil); err != nil {
		t.Fatal(err)
	}
	grants, _, _ := tokens.KVBuckets(cfg.NATS.SubjectPrefix)
	kv, err := app.js.KeyValue(ctx, grants)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.Keys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("grant keys = %v, %v; want one", keys, err)
	}
	e, err := kv.Get(ctx, keys[0])
	if err != nil {
		t.Fatal(err)
	}
	stored := string(e.Value())
	if strings.Contains(stored, access.AccessToken) || strings.Contains(stored, access.RefreshToken) {
		t.Fatalf("stored grant holds a token: %s", stored)
	}
	if !strings.Contains(stored, `"kid":"`+tokens.KeyID(key)+`"`) {
		t.Fatalf("stored grant %s has no key id %s", stored, tokens.KeyID(key))
	}
}
