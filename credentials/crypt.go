package credentials

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a token-encryption key: AES-256.
const KeySize = 32

// Errors of encrypted grant records. Test for them with errors.Is.
var (
	// ErrUnknownKey means a grant record was encrypted with a key that is
	// not configured (neither the current key nor a previous one). The
	// error names the record's key id.
	ErrUnknownKey = errors.New("encrypted with an unknown key")
	// ErrDecrypt means a grant record failed authentication: it was altered
	// or its key id collides with another key.
	ErrDecrypt = errors.New("decrypt failed: record altered or wrong key")
)

// Keyring encrypts grant records at rest with AES-256-GCM. It writes with
// its current key and reads with any of its keys, found by the key id stored
// with each record, so keys can be rotated: configure the new key as current
// and the old one as previous, then run RotateKey.
//
// A nil *Keyring stores records in plaintext and cannot read encrypted ones.
type Keyring struct {
	current string // key id
	aeads   map[string]cipher.AEAD
}

// NewKeyring returns a Keyring writing with current and reading with
// current and previous. Each key must be KeySize bytes (see ParseKey).
func NewKeyring(current []byte, previous ...[]byte) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, key := range append([][]byte{current}, previous...) {
		if len(key) != KeySize {
			return nil, fmt.Errorf("new keyring: key %d is %d bytes, want %d", i, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("new keyring: key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("new keyring: key %d: %w", i, err)
		}
		id := KeyID(key)
		if i == 0 {
			k.current = id
		}
		if _, dup := k.aeads[id]; !dup {
			k.aeads[id] = aead
		}
	}
	return k, nil
}

// CurrentKeyID returns the id of the key records are written with, or ""
// for a nil Keyring (plaintext).
func (k *Keyring) CurrentKeyID() string {
	if k == nil {
		return ""
	}
	return k.current
}

// KeyID returns the id stored with records encrypted with key: the first 8
// hex digits of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// ParseKey decodes a key given as text (a file's content or an environment
// variable): KeySize bytes as 64 hex digits or as base64 (standard or URL
// alphabet, padded or not). Surrounding white space is ignored. Errors never
// quote the text.
func ParseKey(text string) ([]byte, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return nil, errors.New("parse key: empty (want 32 bytes as 64 hex digits or base64)")
	}
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	n := -1 // bytes of the first base64 decoding that worked
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) == KeySize {
				return b, nil
			}
			if n < 0 {
				n = len(b)
			}
		}
	}
	if _, err := hex.DecodeString(s); err == nil || strings.Trim(s, "0123456789abcdefABCDEF") == "" {
		return nil, fmt.Errorf("parse key: %d hex digits, want %d", len(s), 2*KeySize)
	}
	if n >= 0 {
		return nil, fmt.Errorf("parse key: base64 decodes to %d bytes, want %d", n, KeySize)
	}
	return nil, fmt.Errorf("parse key: %d characters are neither 64 hex digits nor base64 of %d bytes", len(s), KeySize)
}

// sealedRecord is the stored form of an encrypted grant record; a plaintext
// record (a grantRecord) has no "enc" field.
type sealedRecord struct {
	Enc  string `json:"enc"`  // sealAlg
	KID  string `json:"kid"`  // KeyID of the key
	Data []byte `json:"data"` // nonce || AES-GCM ciphertext and tag, base64 in JSON
}

const sealAlg = "A256GCM"

// aad binds a record to its grant: a ciphertext copied to another grant's
// key fails authentication.
func aad(grantID string) []byte { return []byte("smartcar-poller grant " + grantID) }

// seal encrypts a record for grant id with the current key; a nil Keyring
// returns plain unchanged.
func (k *Keyring) seal(id string, plain []byte) ([]byte, error) {
	if k == nil {
		return plain, nil
	}
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("encrypt grant %s: nonce: %w", id, err)
	}
	b, err := json.Marshal(sealedRecord{Enc: sealAlg, KID: k.current, Data: aead.Seal(nonce, nonce, plain, aad(id))})
	if err != nil {
		return nil, fmt.Errorf("encrypt grant %s: %w", id, err)
	}
	return b, nil
}

// parseSealed decodes stored as a sealedRecord; sealed is false for a
// plaintext record (no "enc" field).
func parseSealed(stored []byte) (r sealedRecord, sealed bool, err error) {
	if err := json.Unmarshal(stored, &r); err != nil {
		return r, false, ErrMalformed
	}
	if r.Enc == "" {
		return r, false, nil
	}
	if r.Enc != sealAlg {
		return r, true, ErrMalformed
	}
	return r, true, nil
}

// open returns the plaintext of a stored record for grant id: plaintext
// records as they are, sealed ones decrypted with the key named by their id.
func (k *Keyring) open(id string, stored []byte) ([]byte, error) {
	r, sealed, err := parseSealed(stored)
	if err != nil {
		return nil, fmt.Errorf("decrypt grant %s: %w", id, err)
	}
	if !sealed {
		return stored, nil
	}
	var aead cipher.AEAD
	if k != nil {
		aead = k.aeads[r.KID]
	}
	if aead == nil {
		hint := "configure it as the current or a previous key"
		if k == nil {
			hint = "no encryption key is configured"
		}
		return nil, fmt.Errorf("decrypt grant %s: key id %q: %w (%s)", id, r.KID, ErrUnknownKey, hint)
	}
	ns := aead.NonceSize()
	if len(r.Data) < ns+aead.Overhead() {
		return nil, fmt.Errorf("decrypt grant %s with key id %q: %w", id, r.KID, ErrDecrypt)
	}
	plain, err := aead.Open(nil, r.Data[:ns], r.Data[ns:], aad(id))
	if err != nil {
		return nil, fmt.Errorf("decrypt grant %s with key id %q: %w", id, r.KID, ErrDecrypt)
	}
	return plain, nil
}
