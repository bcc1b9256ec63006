package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/kvcredentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/rediscredentials"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestTokensRotateKey runs "tokens rotate-key" against grants written with
// an old key and a plaintext one, on the machine's Redis and NATS.
func TestTokensRotateKey(t *testing.T) {
	rdb := testserver.Redis(t)
	testserver.NATS(t)
	prefix := testserver.Unique("rk")
	cleanupNames(t, nil, prefix)
	oldKey, newKey := bytes.Repeat([]byte{1}, credentials.KeySize), bytes.Repeat([]byte{2}, credentials.KeySize)
	oldFile := tempFile(t, "old.key", []byte(base64.StdEncoding.EncodeToString(oldKey)))
	newFile := tempFile(t, "new.key", []byte(hexKey(newKey)+"\n"))

	oldRing, err := credentials.NewKeyring(oldKey)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	old := rediscredentials.New(rdb, prefix+":", oldRing)
	plain := rediscredentials.New(rdb, prefix+":", nil)
	for i, s := range []credentials.Store{old, old, plain} {
		g := credentials.Grant{ID: fmt.Sprintf("user-%d", i), Access: smartcar.Access{AccessToken: fmt.Sprintf("at-%d", i), RefreshToken: fmt.Sprintf("rt-%d", i)}}
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
	writeFile(t, plainCfg, base+"tokens: {allow_plaintext: true}\n")
	rotCfg := filepath.Join(dir, "rotate.yaml")
	writeFile(t, rotCfg, base+"tokens:\n  encryption_key_file: "+newFile+"\n  previous_key_files: ["+oldFile+"]\n")

	tests := []struct {
		name, config string
		wantCode     int
		wantOut      string
	}{
		{"without a key", plainCfg, 1, "no encryption key configured"},
		{"moves every record", rotCfg, 0, "re-encrypted 3 of 3 grants with key " + credentials.KeyID(newKey) + "\n"},
		{"again moves none", rotCfg, 0, "re-encrypted 0 of 3 grants with key " + credentials.KeyID(newKey) + "\n"},
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
	newRing, err := credentials.NewKeyring(newKey)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		id := fmt.Sprintf("user-%d", i)
		g, err := rediscredentials.New(rdb, prefix+":", newRing).GetGrant(ctx, id)
		if err != nil || g.Access.RefreshToken != fmt.Sprintf("rt-%d", i) || g.Version != 1 {
			t.Errorf("grant %s after rotation = version %d, %v; want version 1 and its tokens", id, g.Version, err)
		}
		if _, err := old.GetGrant(ctx, id); !errors.Is(err, credentials.ErrUnknownKey) {
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
	key := bytes.Repeat([]byte{7}, credentials.KeySize)
	t.Setenv("SMARTCAR_POLLER_TEST_TOKEN_KEY", base64.RawURLEncoding.EncodeToString(key))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Listen = ""
	cfg.Smartcar.ClientID, cfg.Smartcar.ClientSecret = sim.ClientID, config.Secret(sim.ClientSecret)
	cfg.Smartcar.RedirectURI = sim.RedirectURI
	cfg.Smartcar.API = config.APIV2 // the pair is kept to poll with
	cfg.Tokens.EncryptionKeyEnv = "SMARTCAR_POLLER_TEST_TOKEN_KEY"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	o := simOptions(sim)
	o.ConnectOnly = true
	app, err := open(ctx, cfg, testLogger(t), o)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	tok, ok := sim.ConnectUser(sim.Users()[0], nil, nil)
	if !ok {
		t.Fatal("connect user")
	}
	access, err := app.Auth().ExchangeRefreshToken(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.connectGrant(ctx, access, nil); err != nil {
		t.Fatal(err)
	}
	grants, _ := kvcredentials.Buckets(cfg.NATS.SubjectPrefix)
	kv, err := app.JetStream().KeyValue(ctx, grants)
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
	if !strings.Contains(stored, `"kid":"`+credentials.KeyID(key)+`"`) {
		t.Fatalf("stored grant %s has no key id %s", stored, credentials.KeyID(key))
	}
}

// testKeyFile writes a new random token-encryption key to a file and
// returns its path.
func testKeyFile(t *testing.T) string {
	t.Helper()
	key := make([]byte, credentials.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return tempFile(t, "token.key", []byte(base64.StdEncoding.EncodeToString(key)+"\n"))
}

// TestTokenKey_generatedUnderDataDir starts the embedded configuration with
// no key configured, three times: the first start creates a 0600 key under
// data_dir and stores token pairs encrypted with it (the raw KV record
// holds no token), a restart reads them with the same key, a plaintext
// record written before is read, and `tokens rotate-key` encrypts it.
func TestTokenKey_generatedUnderDataDir(t *testing.T) {
	sim := smartcartest.NewServer(smartcartest.WithSeed(5), smartcartest.WithUsers(1), smartcartest.WithVehicles(1))
	defer sim.Close()
	dataDir := filepath.Join(t.TempDir(), "data")
	cfgPath := filepath.Join(t.TempDir(), "poller.yaml")
	writeFile(t, cfgPath, fmt.Sprintf("data_dir: %s\nsmartcar: {api: v2, client_id: %s, client_secret: %s, redirect_uri: %q}\n"+
		"http: {listen: ''}\nschedules:\n  - {name: s, cron: '@hourly', paths: [/odometer]}\n",
		dataDir, sim.ClientID, sim.ClientSecret, sim.RedirectURI))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := cfg.TokenKey(); k != config.TokenKeyGenerated || err != nil {
		t.Fatalf("TokenKey() = %v, %v; want TokenKeyGenerated", k, err)
	}
	ctx := t.Context()
	start := func(logs *testserver.Buffer) *App {
		t.Helper()
		o := simOptions(sim)
		o.ConnectOnly = true
		app, err := open(ctx, cfg, newLogger(logs, "info", "json"), o)
		if err != nil {
			t.Fatal(err)
		}
		return app
	}
	raw := func(app *App, id string) string {
		t.Helper()
		grants, _ := kvcredentials.Buckets(cfg.NATS.SubjectPrefix)
		kv, err := app.JetStream().KeyValue(ctx, grants)
		if err != nil {
			t.Fatal(err)
		}
		e, err := kv.Get(ctx, id)
		if err != nil {
			t.Fatalf("raw grant %s: %v", id, err)
		}
		return string(e.Value())
	}
	keyPath := filepath.Join(dataDir, config.GeneratedKeyFile)

	// First start: the key is created, the new grant stored encrypted.
	var logs testserver.Buffer
	app := start(&logs)
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatalf("no key under data_dir after the first start: %v", err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %v, want 0600", perm)
	}
	keyText, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	key, err := credentials.ParseKey(string(keyText))
	if err != nil {
		t.Fatal(err)
	}
	kid := credentials.KeyID(key)
	if l := logs.String(); !strings.Contains(l, "generated the token encryption key") || !strings.Contains(l, kid) {
		t.Errorf("first start logs no generated key (id %s):\n%s", kid, l)
	}
	tok, ok := sim.ConnectUser(sim.Users()[0], nil, nil)
	if !ok {
		t.Fatal("connect user")
	}
	access, err := app.Auth().ExchangeRefreshToken(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.connectGrant(ctx, access, nil); err != nil {
		t.Fatal(err)
	}
	vs, err := app.Registry().ListVehicles(ctx)
	if err != nil || len(vs) != 1 {
		t.Fatalf("vehicles %v, %v; want one", vs, err)
	}
	grantID := vs[0].GrantID
	stored := raw(app, grantID)
	if strings.Contains(stored, access.AccessToken) || strings.Contains(stored, access.RefreshToken) || !strings.Contains(stored, `"kid":"`+kid+`"`) {
		t.Fatalf("stored grant %s: want ciphertext under key id %s, no token", stored, kid)
	}
	// A record from before encryption (a plaintext store wrote it) is read.
	legacy := credentials.Grant{ID: "legacy", Access: smartcar.Access{AccessToken: "legacy-at-1", RefreshToken: "legacy-rt-1"}}
	plain, err := kvcredentials.Open(ctx, app.JetStream(), kvcredentials.Config{Prefix: cfg.NATS.SubjectPrefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.CreateGrant(ctx, legacy); err != nil {
		t.Fatal(err)
	}
	if s := raw(app, "legacy"); !strings.Contains(s, legacy.Access.RefreshToken) {
		t.Fatalf("the plaintext store wrote %s, want a plaintext record", s)
	}
	if g, err := app.Grants().GetGrant(ctx, "legacy"); err != nil || g.Access != legacy.Access {
		t.Fatalf("plaintext grant read back: %+v, %v", g.Access, err)
	}
	app.Close()

	// Restart: the same key, the grant still readable, nothing generated.
	var logs2 testserver.Buffer
	app = start(&logs2)
	if again, err := os.ReadFile(keyPath); err != nil || !bytes.Equal(again, keyText) {
		t.Fatalf("key file after a restart changed (err %v)", err)
	}
	if strings.Contains(logs2.String(), "generated the token encryption key") {
		t.Errorf("restart generated a key:\n%s", logs2.String())
	}
	if g, err := app.Grants().GetGrant(ctx, grantID); err != nil || g.Access.RefreshToken != access.RefreshToken {
		t.Fatalf("grant after a restart: %v; want its refresh token", err)
	}
	app.Close()

	// rotate-key encrypts the plaintext record, and only it.
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"tokens", "rotate-key", "--config", cfgPath}, &stdout, &stderr); code != 0 ||
		stdout.String() != "re-encrypted 1 of 2 grants with key "+kid+"\n" {
		t.Fatalf("rotate-key: exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	app = start(&logs2)
	defer app.Close()
	if s := raw(app, "legacy"); strings.Contains(s, legacy.Access.RefreshToken) || !strings.Contains(s, `"kid":"`+kid+`"`) {
		t.Fatalf("legacy record after rotate-key: %s; want ciphertext under key id %s", s, kid)
	}
	if g, err := app.Grants().GetGrant(ctx, "legacy"); err != nil || g.Access != legacy.Access {
		t.Fatalf("legacy grant after rotate-key: %+v, %v", g.Access, err)
	}
	for _, l := range []string{logs.String(), logs2.String(), stderr.String()} {
		if strings.Contains(l, strings.TrimSpace(string(keyText))) {
			t.Fatalf("the key shows in the logs:\n%s", l)
		}
	}
}

// TestTokenKey_required checks that a token store outside data_dir (Redis,
// or JetStream KV on the servers of nats.url) needs a key or an explicit
// tokens.allow_plaintext: without either, open, `run` and `config validate`
// fail, before connecting anywhere, with a message naming the settings.
func TestTokenKey_required(t *testing.T) {
	base := "smartcar: {client_id: id, client_secret: secret}\nhttp: {listen: ''}\n" +
		"schedules:\n  - {name: s, cron: '@hourly', paths: [/odometer]}\n"
	// Nothing listens on port 1: a connection attempt would fail otherwise.
	tests := []struct{ name, store, holder string }{
		{"redis_url", "redis: {url: 'redis://127.0.0.1:1'}\n", "which Redis would hold"},
		{"redis_sentinel", "redis: {master_name: m, addrs: ['127.0.0.1:1']}\n", "which Redis would hold"},
		{"kv_on_external_nats", "nats: {url: 'nats://127.0.0.1:1'}\n", "which the NATS servers of nats.url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "poller.yaml")
			writeFile(t, path, tt.store+"data_dir: "+filepath.Join(dir, "data")+"\n"+base)
			wants := []string{tt.holder, "tokens.encryption_key_file", "openssl rand -base64 32", "tokens.allow_plaintext: true"}
			check := func(what, got string) {
				t.Helper()
				for _, want := range wants {
					if !strings.Contains(got, want) {
						t.Errorf("%s: %q lacks %q", what, got, want)
					}
				}
			}
			cfg, err := config.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = open(t.Context(), cfg, testLogger(t), openOptions{ConnectOnly: true})
			if err == nil {
				t.Fatal("open succeeded")
			}
			check("open", err.Error())
			if _, err := os.Stat(filepath.Join(dir, "data", config.GeneratedKeyFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a key was generated under data_dir (stat: %v)", err)
			}
			for _, args := range [][]string{{"run", "--config", path}, {"config", "validate", path}} {
				var stdout, stderr bytes.Buffer
				if code := run(t.Context(), args, &stdout, &stderr); code != 1 {
					t.Errorf("%v: exit %d, want 1 (stderr %q)", args, code, stderr.String())
				}
				check(strings.Join(args[:1], " "), stderr.String())
			}

			// Said explicitly, plaintext is accepted.
			writeFile(t, path, tt.store+"tokens: {allow_plaintext: true}\n"+base)
			var stdout, stderr bytes.Buffer
			if code := run(t.Context(), []string{"config", "validate", path}, &stdout, &stderr); code != 0 {
				t.Errorf("config validate with allow_plaintext: exit %d, stderr %q", code, stderr.String())
			}
			// A key and allow_plaintext contradict each other.
			writeFile(t, path, tt.store+"tokens: {allow_plaintext: true, encryption_key_file: "+testKeyFile(t)+"}\n"+base)
			stdout.Reset()
			stderr.Reset()
			if code := run(t.Context(), []string{"config", "validate", path}, &stdout, &stderr); code != 1 ||
				!strings.Contains(stderr.String(), "remove allow_plaintext") {
				t.Errorf("config validate with a key and allow_plaintext: exit %d, stderr %q", code, stderr.String())
			}
		})
	}
}
