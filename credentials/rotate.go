package credentials

import (
	"context"
	"fmt"
)

// RotateStats counts what RotateKey did.
type RotateStats struct {
	Grants int // grant records seen
	Moved  int // re-encrypted with the current key (or encrypted, from plaintext)
}

// RotateKey re-encrypts every grant record of s not written with the
// current key of its Keyring (plaintext records included), one Store.Rekey
// per grant. Each rewrite is a compare-and-set on the stored record that
// keeps the grant's Version, so a refresh or reconnect that writes
// meanwhile is never undone: the rewrite loses, re-reads and tries again,
// and a concurrent UpdateGrant still finds the version it expects. A store
// without a Keyring fails with ErrNoKeyring at its first grant.
func RotateKey(ctx context.Context, s Store) (RotateStats, error) {
	var st RotateStats
	ids, err := s.GrantIDs(ctx)
	if err != nil {
		return st, fmt.Errorf("rotate key: %w", err)
	}
	for _, id := range ids {
		moved, err := s.Rekey(ctx, id)
		if err != nil {
			return st, fmt.Errorf("rotate key (%d of %d grants moved): %w", st.Moved, len(ids), err)
		}
		st.Grants++
		if moved {
			st.Moved++
		}
	}
	return st, nil
}
