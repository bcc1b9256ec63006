package tokens

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// grantRecord is the plaintext form of a grant. encodeGrant and decodeGrant
// are the only places where a token pair is (de)serialized, for both
// backends; with a Keyring the record is stored sealed (see crypt.go).
type grantRecord struct {
	Version     int64           `json:"version,omitempty"` // KV only; Redis keeps it in its own hash field
	Access      smartcar.Access `json:"access"`
	NeedsReauth bool            `json:"needs_reauth,omitempty"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

func encodeGrant(g Grant, withVersion bool, k *Keyring) ([]byte, error) {
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

func decodeGrant(id string, stored []byte, k *Keyring) (Grant, error) {
	b, err := k.open(id, stored)
	if err != nil {
		return Grant{}, err
	}
	var r grantRecord
	if err := json.Unmarshal(b, &r); err != nil {
		// The json error could quote part of the record: leave it out.
		return Grant{}, fmt.Errorf("decode grant %s: %w", id, errMalformed)
	}
	return Grant{ID: id, Access: r.Access, NeedsReauth: r.NeedsReauth, Version: r.Version, UpdatedAt: r.UpdatedAt}, nil
}

var errMalformed = errors.New("malformed record")

// validID rejects the empty id every method would otherwise store.
func validID(what, id string) error {
	if id == "" {
		return fmt.Errorf("empty %s id", what)
	}
	return nil
}

// normStatus stores an empty status as connected and rejects unknown ones.
func normStatus(s Status) (Status, error) {
	if s == "" {
		return StatusConnected, nil
	}
	if !s.Valid() {
		return "", fmt.Errorf("unknown status %q", s)
	}
	return s, nil
}
