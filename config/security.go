package config

import (
	"fmt"
	"os"
	"regexp"
)

// Tokens configures encryption at rest of the stored token pairs (see
// Config.TokenKey). A key is 32 bytes given as 64 hex digits or base64 (for
// example `openssl rand -base64 32`), read from a file (a mounted Kubernetes
// Secret) or an environment variable. Without one, the embedded NATS server
// and token store get a key generated under data_dir; Redis or an external
// NATS server holding the token store need a key, or AllowPlaintext.
type Tokens struct {
	// EncryptionKeyFile is a file holding the current key.
	EncryptionKeyFile string `yaml:"encryption_key_file"`
	// EncryptionKeyEnv names an environment variable holding the current key.
	EncryptionKeyEnv string `yaml:"encryption_key_env"`
	// PreviousKeyFiles and PreviousKeyEnvs hold keys that records may still
	// be encrypted with: they are read, never written. After
	// `smartcar-poller tokens rotate-key` they can be removed.
	PreviousKeyFiles []string `yaml:"previous_key_files,omitempty"`
	PreviousKeyEnvs  []string `yaml:"previous_key_envs,omitempty"`
	// AllowPlaintext stores token pairs unencrypted when no key is
	// configured, instead of refusing to start (Redis, external NATS) or
	// generating a key (embedded): an explicit choice, never a default.
	AllowPlaintext bool `yaml:"allow_plaintext,omitempty"`
}

// Encrypted reports whether a current key is configured.
func (t Tokens) Encrypted() bool { return t.EncryptionKeyFile != "" || t.EncryptionKeyEnv != "" }

// TokenKey is where the key that encrypts stored token pairs comes from.
type TokenKey int

const (
	// TokenKeyConfigured is tokens.encryption_key_file or encryption_key_env.
	TokenKeyConfigured TokenKey = iota
	// TokenKeyGenerated is a key kept under data_dir (GeneratedKeyFile),
	// created on first start: no key is configured and both NATS and the
	// token store are embedded, so the key lives beside the records it
	// encrypts.
	TokenKeyGenerated
	// TokenKeyPlaintext stores token pairs unencrypted: no key is configured
	// and tokens.allow_plaintext is true.
	TokenKeyPlaintext
	// TokenKeyMissing is no key for a token store outside data_dir (Redis,
	// or JetStream KV on the servers of nats.url) without allow_plaintext:
	// the daemon refuses to start.
	TokenKeyMissing
)

// GeneratedKeyFile is the file under data_dir that holds the generated key
// (TokenKeyGenerated).
const GeneratedKeyFile = "token.key"

// TokenKey says where the key of the stored token pairs comes from. For
// TokenKeyMissing it also returns the problem (an *Error naming the settings
// that fix it); the error is nil otherwise. Validate does not check it (its
// rules are about the file itself, and its tests cover every other rule):
// opening the token store refuses TokenKeyMissing, and `config validate`
// reports it.
func (c *Config) TokenKey() (TokenKey, error) {
	t := c.Tokens
	switch {
	case t.Encrypted():
		return TokenKeyConfigured, nil
	case t.AllowPlaintext:
		return TokenKeyPlaintext, nil
	case c.NATS.URL == "" && c.Redis.Mode() == RedisEmbedded:
		return TokenKeyGenerated, nil
	}
	holder := "Redis"
	if c.Redis.Mode() == RedisEmbedded {
		// Not under data_dir: a key generated there could be lost apart
		// from the records (an emptyDir), leaving them unreadable.
		holder = "the NATS servers of nats.url (a key is generated under data_dir only with the embedded NATS server)"
	}
	return TokenKeyMissing, &Error{Key: "tokens", Problem: "no encryption key for the token pairs, which " + holder +
		" would hold in plaintext: set tokens.encryption_key_file (or tokens.encryption_key_env) to a key of 32 random" +
		" bytes, e.g. made by `openssl rand -base64 32`, or set tokens.allow_plaintext: true to store them unencrypted"}
}

// TLS is a client TLS setting: a CA bundle to verify the server with, and a
// certificate and key for mutual TLS. Files are PEM.
type TLS struct {
	// Enabled turns TLS on with the system roots when no file is given
	// (rediss:// and tls:// URLs turn it on too).
	Enabled bool `yaml:"enabled"`
	// CAFile verifies the server instead of the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate, both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name the server certificate is checked against.
	ServerName string `yaml:"server_name"`
}

// On reports whether any TLS setting is given.
func (t TLS) On() bool { return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" }

var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (v *validator) security(c *Config) {
	t := c.Tokens
	v.check(t.EncryptionKeyFile == "" || t.EncryptionKeyEnv == "", "tokens.encryption_key_env",
		"set encryption_key_file or encryption_key_env, not both")
	v.fileExists("tokens.encryption_key_file", t.EncryptionKeyFile)
	v.envName("tokens.encryption_key_env", t.EncryptionKeyEnv)
	if !t.Encrypted() && len(t.PreviousKeyFiles)+len(t.PreviousKeyEnvs) > 0 {
		v.fail("tokens", "previous keys need a current key (encryption_key_file or encryption_key_env)")
	}
	v.check(!t.AllowPlaintext || !t.Encrypted(), "tokens.allow_plaintext",
		"a key is configured, so token pairs are encrypted: remove allow_plaintext")
	for i, f := range t.PreviousKeyFiles {
		v.fileExists(fmt.Sprintf("tokens.previous_key_files[%d]", i), f)
	}
	for i, e := range t.PreviousKeyEnvs {
		v.envName(fmt.Sprintf("tokens.previous_key_envs[%d]", i), e)
	}

	n := c.NATS
	v.check(n.CredsFile == "" || n.NkeySeedFile == "", "nats.nkey_seed_file", "set creds_file or nkey_seed_file, not both")
	v.check(n.User == "" || n.CredsFile == "" && n.NkeySeedFile == "", "nats.user",
		"set user/password or creds_file/nkey_seed_file, not both")
	v.check(n.Password == "" || n.User != "", "nats.user", "missing: nats.password needs it")
	v.fileExists("nats.creds_file", n.CredsFile)
	v.fileExists("nats.nkey_seed_file", n.NkeySeedFile)
	v.tls("nats.tls", n.TLS)
	if n.URL == "" {
		v.check(n.CredsFile == "" && n.NkeySeedFile == "" && n.User == "" && !n.TLS.On(), "nats.url",
			"missing: credentials and TLS apply to an external server, not the embedded one")
	}

	r := c.Redis
	v.check(r.Username == "" || r.Password != "", "redis.username", "needs redis.password")
	v.tls("redis.tls", r.TLS)
	if r.Mode() == RedisEmbedded {
		v.check(r.Username == "" && r.Password == "" && !r.TLS.On(), "redis.url",
			"missing: credentials and TLS apply to Redis, not the embedded token store")
	}
}

func (v *validator) tls(path string, t TLS) {
	v.check((t.CertFile == "") == (t.KeyFile == ""), path+".key_file", "cert_file and key_file go together")
	v.fileExists(path+".ca_file", t.CAFile)
	v.fileExists(path+".cert_file", t.CertFile)
	v.fileExists(path+".key_file", t.KeyFile)
}

// fileExists checks that name ("" is unset) is a readable regular file. Messages
// never quote the file's content.
func (v *validator) fileExists(path, name string) {
	if name == "" {
		return
	}
	fi, err := os.Stat(name)
	switch {
	case os.IsNotExist(err):
		v.fail(path, "file %q does not exist", truncate(name, 200))
	case err != nil:
		v.fail(path, "file %q: cannot stat: %v", truncate(name, 200), err)
	case !fi.Mode().IsRegular():
		v.fail(path, "%q is not a regular file", truncate(name, 200))
	}
}

func (v *validator) envName(path, name string) {
	if name == "" {
		return
	}
	v.check(envNamePattern.MatchString(name), path, "invalid environment variable name %q", truncate(name, 60))
}
