package credentials

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// grantRecord is the plaintext form of a grant. EncodeGrant and DecodeGrant
// are the only places where a token pair is (de)serialized, for both
// backends; with a Keyring the record is stored sealed (see crypt.go).
type grantRecord struct {
	Version     int64           `json:"version,omitempty"` // KV only; Redis keeps it in its own hash field
	Access      smartcar.Access `json:"access"`
	NeedsReauth bool            `json:"needs_reauth,omitempty"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// EncodeGrant returns the stored form of g: JSON, sealed with k's current
// key unless k is nil. withVersion puts g.Version in the record (for a
// backend that keeps no version beside it). A zero UpdatedAt is stored as
// now. It is for Store implementations.
func EncodeGrant(g Grant, withVersion bool, k *Keyring) ([]byte, error) {
	r := grantRecord{Access: g.Access, NeedsReauth: g.NeedsReauth, UpdatedAt: g.UpdatedAt.UTC()}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = time.Now().UTC()
	}
	if withVersion {
		r.Version = g.Version
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode grant %s: %w", g.ID, err)
	}
	return k.seal(g.ID, b)
}

// DecodeGrant reverses EncodeGrant for the grant id: plaintext records and
// records sealed with any key of k. It fails with ErrUnknownKey for a key k
// lacks, ErrDecrypt for an altered record and ErrMalformed for one that
// does not decode. It is for Store implementations.
func DecodeGrant(id string, stored []byte, k *Keyring) (Grant, error) {
	b, err := k.open(id, stored)
	if err != nil {
		return Grant{}, err
	}
	var r grantRecord
	if err := json.Unmarshal(b, &r); err != nil {
		// The json error could quote part of the record: leave it out.
		return Grant{}, fmt.Errorf("decode grant %s: %w", id, ErrMalformed)
	}
	return Grant{ID: id, Access: r.Access, NeedsReauth: r.NeedsReauth, Version: r.Version, UpdatedAt: r.UpdatedAt}, nil
}

// Reseal returns the stored record of grant id re-encoded with k's current
// key, keeping everything in it (the version too), and true; or false when
// the record is already under that key. It returns ErrNoKeyring for a nil
// k. Store implementations use it for Rekey.
func Reseal(k *Keyring, id string, stored []byte, withVersion bool) ([]byte, bool, error) {
	if k == nil {
		return nil, false, fmt.Errorf("rekey grant %s: %w", id, ErrNoKeyring)
	}
	r, sealed, err := parseSealed(stored)
	if err != nil {
		return nil, false, fmt.Errorf("rekey grant %s: %w", id, err)
	}
	if sealed && r.KID == k.CurrentKeyID() {
		return nil, false, nil
	}
	g, err := DecodeGrant(id, stored, k)
	if err != nil {
		return nil, false, fmt.Errorf("rekey: %w", err)
	}
	next, err := EncodeGrant(g, withVersion, k)
	if err != nil {
		return nil, false, err
	}
	return next, true, nil
}

// CheckID rejects the empty grant id every method would otherwise store.
func CheckID(id string) error {
	if id == "" {
		return errors.New("empty grant id")
	}
	return nil
}
