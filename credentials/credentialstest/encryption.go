package credentialstest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/credentials"
)

// Harness opens the stores of one backend for a test.
type Harness struct {
	// Open makes a place private to t (a key prefix, buckets) and returns a
	// function making stores on it, each sealing grant records with the
	// Keyring it is given (nil: plaintext), and raw access to the place's
	// grant records.
	Open func(t *testing.T) (newStore func(*credentials.Keyring) credentials.Store, raw Raw)
}

// Raw reads and writes grant records as a backend stores them (by grant
// id: the backend escapes it as its keys need).
type Raw struct {
	Get func(t *testing.T, id string) []byte
	Set func(t *testing.T, id string, b []byte)
}

// Run runs the whole suite: the store cases (RunStore) on plaintext and on
// encrypted stores, then the encryption cases, which read and alter the
// stored records through Raw.
func Run(t *testing.T, h Harness) {
	keys := Keyring(t, Key(1))
	t.Run("plaintext", func(t *testing.T) {
		RunStore(t, func(t *testing.T) credentials.Store {
			newStore, _ := h.Open(t)
			return newStore(nil)
		})
	})
	t.Run("encrypted", func(t *testing.T) {
		RunStore(t, func(t *testing.T) credentials.Store {
			newStore, _ := h.Open(t)
			return newStore(keys)
		})
	})
	tests := []struct {
		name string
		run  func(t *testing.T, newStore func(*credentials.Keyring) credentials.Store, raw Raw)
	}{
		{"ciphertext_holds_no_token", testCiphertextHoldsNoToken},
		{"tamper_detected", testTamperDetected},
		{"wrong_key", testWrongKey},
		{"rotate", testRotate},
		{"rotate_with_concurrent_refresh", testRotateConcurrentRefresh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newStore, raw := h.Open(t)
			tt.run(t, newStore, raw)
		})
	}
}

// Key returns a distinct 32-byte key for each n.
func Key(n int) []byte {
	sum := sha256.Sum256([]byte(fmt.Sprintf("test key %d", n)))
	return sum[:]
}

// Keyring returns the Keyring of current and previous keys, failing t if
// they are not keys.
func Keyring(t testing.TB, current []byte, previous ...[]byte) *credentials.Keyring {
	t.Helper()
	k, err := credentials.NewKeyring(current, previous...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func testCiphertextHoldsNoToken(t *testing.T, newStore func(*credentials.Keyring) credentials.Store, raw Raw) {
	ctx := testCtx(t)
	k := Keyring(t, Key(1))
	s := newStore(k)
	g := credentials.Grant{ID: "u1", Access: Access(7), UpdatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := s.CreateGrant(ctx, g); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	stored := string(raw.Get(t, "u1"))
	for _, secret := range []string{g.Access.AccessToken, g.Access.RefreshToken} {
		if strings.Contains(stored, secret) {
			t.Fatalf("stored record holds a token: %s", stored)
		}
	}
	if !strings.Contains(stored, `"kid":"`+k.CurrentKeyID()+`"`) {
		t.Fatalf("stored record %s has no key id %q", stored, k.CurrentKeyID())
	}
	// Two writes of the same pair differ: a fresh nonce each time.
	if _, err := s.UpdateGrant(ctx, g, 1); err != nil {
		t.Fatalf("UpdateGrant: %v", err)
	}
	if again := string(raw.Get(t, "u1")); again == stored {
		t.Fatal("rewriting the same grant stored the same ciphertext: nonce reused")
	}
	got, err := s.GetGrant(ctx, "u1")
	if err != nil {
		t.Fatalf("GetGrant: %v", err)
	}
	if diff := cmp.Diff(g.Access, got.Access); diff != "" {
		t.Fatalf("GetGrant access (-want +got):\n%s", diff)
	}
	// A plaintext store cannot read it, and says why.
	if _, err := newStore(nil).GetGrant(ctx, "u1"); !errors.Is(err, credentials.ErrUnknownKey) {
		t.Fatalf("GetGrant without a key err = %v, want ErrUnknownKey", err)
	}
}

func testTamperDetected(t *testing.T, newStore func(*credentials.Keyring) credentials.Store, raw Raw) {
	ctx := testCtx(t)
	s := newStore(Keyring(t, Key(1)))
	for _, id := range []string{"u1", "u2"} {
		if err := s.CreateGrant(ctx, credentials.Grant{ID: id, Access: Access(1)}); err != nil {
			t.Fatalf("CreateGrant(%s): %v", id, err)
		}
	}
	var rec map[string]any
	if err := json.Unmarshal(raw.Get(t, "u1"), &rec); err != nil {
		t.Fatalf("stored record is not JSON: %v", err)
	}
	data, err := base64.StdEncoding.DecodeString(rec["data"].(string))
	if err != nil {
		t.Fatalf("data: %v", err)
	}
	for _, i := range []int{0, len(data) / 2, len(data) - 1} { // nonce, ciphertext, tag
		d := append([]byte(nil), data...)
		d[i] ^= 0x01
		rec["data"] = base64.StdEncoding.EncodeToString(d)
		b, _ := json.Marshal(rec)
		raw.Set(t, "u1", b)
		if _, err := s.GetGrant(ctx, "u1"); !errors.Is(err, credentials.ErrDecrypt) {
			t.Fatalf("GetGrant after flipping byte %d err = %v, want ErrDecrypt", i, err)
		}
	}
	// A record moved to another grant fails too: the grant id is authenticated.
	raw.Set(t, "u1", raw.Get(t, "u2"))
	if _, err := s.GetGrant(ctx, "u1"); !errors.Is(err, credentials.ErrDecrypt) {
		t.Fatalf("GetGrant of u2's record under u1 err = %v, want ErrDecrypt", err)
	}
}

func testWrongKey(t *testing.T, newStore func(*credentials.Keyring) credentials.Store, raw Raw) {
	ctx := testCtx(t)
	k1 := Key(1)
	if err := newStore(Keyring(t, k1)).CreateGrant(ctx, credentials.Grant{ID: "u1", Access: Access(3)}); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	_, err := newStore(Keyring(t, Key(2))).GetGrant(ctx, "u1")
	if !errors.Is(err, credentials.ErrUnknownKey) || !strings.Contains(err.Error(), credentials.KeyID(k1)) {
		t.Fatalf("GetGrant with another key err = %v, want ErrUnknownKey naming key id %s", err, credentials.KeyID(k1))
	}
	// With the old key as a previous one it reads, and writes with the new one.
	s := newStore(Keyring(t, Key(2), k1))
	g, err := s.GetGrant(ctx, "u1")
	if err != nil {
		t.Fatalf("GetGrant with previous key: %v", err)
	}
	if diff := cmp.Diff(Access(3), g.Access); diff != "" {
		t.Fatalf("GetGrant access (-want +got):\n%s", diff)
	}
	if _, err := s.UpdateGrant(ctx, credentials.Grant{ID: "u1", Access: Access(4)}, g.Version); err != nil {
		t.Fatalf("UpdateGrant: %v", err)
	}
	if got := string(raw.Get(t, "u1")); !strings.Contains(got, credentials.KeyID(Key(2))) {
		t.Fatalf("record after update %s: want key id %s", got, credentials.KeyID(Key(2)))
	}
}

func testRotate(t *testing.T, newStore func(*credentials.Keyring) credentials.Store, raw Raw) {
	ctx := testCtx(t)
	k1, k2 := Key(1), Key(2)
	old := newStore(Keyring(t, k1))
	want := map[string]credentials.Grant{}
	const odd = "odd id/ü*?[x]" // escaped in KV keys, glob characters in Redis
	for i := range 5 {
		id := fmt.Sprintf("u%d", i)
		if i == 4 {
			id = odd
		}
		g := credentials.Grant{ID: id, Access: Access(i)}
		if err := old.CreateGrant(ctx, g); err != nil {
			t.Fatalf("CreateGrant: %v", err)
		}
		want[g.ID] = g
	}
	if err := newStore(nil).CreateGrant(ctx, credentials.Grant{ID: "plain", Access: Access(9)}); err != nil {
		t.Fatalf("CreateGrant (plaintext): %v", err)
	}
	want["plain"] = credentials.Grant{ID: "plain", Access: Access(9)}

	if _, err := credentials.RotateKey(ctx, newStore(nil)); !errors.Is(err, credentials.ErrNoKeyring) {
		t.Fatalf("RotateKey without a key err = %v, want ErrNoKeyring", err)
	}
	s := newStore(Keyring(t, k2, k1))
	st, err := credentials.RotateKey(ctx, s)
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if diff := cmp.Diff(credentials.RotateStats{Grants: 6, Moved: 6}, st); diff != "" {
		t.Fatalf("RotateKey stats (-want +got):\n%s", diff)
	}
	if st, err = credentials.RotateKey(ctx, s); err != nil || st != (credentials.RotateStats{Grants: 6}) {
		t.Fatalf("second RotateKey = %+v, %v; want 6 grants, none moved", st, err)
	}
	// Only the new key is needed now; versions did not move.
	only := newStore(Keyring(t, k2))
	for id, w := range want {
		if got := string(raw.Get(t, id)); !strings.Contains(got, credentials.KeyID(k2)) {
			t.Errorf("grant %s after rotation: %s, want key id %s", id, got, credentials.KeyID(k2))
		}
		g, err := only.GetGrant(ctx, id)
		if err != nil {
			t.Fatalf("GetGrant(%s) with the new key only: %v", id, err)
		}
		if diff := cmp.Diff(w.Access, g.Access); diff != "" || g.Version != 1 {
			t.Errorf("grant %s version %d (want 1), access (-want +got):\n%s", id, g.Version, diff)
		}
	}
}

// testRotateConcurrentRefresh rotates while refreshes keep writing with the
// old key: no refresh fails or is undone, and versions count only refreshes.
func testRotateConcurrentRefresh(t *testing.T, newStore func(*credentials.Keyring) credentials.Store, raw Raw) {
	ctx := testCtx(t)
	k1, k2 := Key(1), Key(2)
	// An old replica still writes with k1 (and reads k2's records).
	oldPod := newStore(Keyring(t, k1, k2))
	rotator := newStore(Keyring(t, k2, k1))
	const grants, refreshes = 4, 15
	for i := range grants {
		if err := oldPod.CreateGrant(ctx, credentials.Grant{ID: fmt.Sprintf("u%d", i), Access: Access(0)}); err != nil {
			t.Fatalf("CreateGrant: %v", err)
		}
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, grants+1)
	for i := range grants {
		wg.Go(func() {
			id := fmt.Sprintf("u%d", i)
			for n := 1; n <= refreshes; n++ {
				g, err := oldPod.GetGrant(ctx, id)
				if err != nil {
					errs <- err
					return
				}
				if _, err := oldPod.UpdateGrant(ctx, credentials.Grant{ID: id, Access: Access(n)}, g.Version); err != nil {
					errs <- fmt.Errorf("refresh %d of %s: %w", n, id, err)
					return
				}
			}
		})
	}
	rotations := 0
	go func() { wg.Wait(); close(done) }()
	for loop := true; loop; {
		select {
		case <-done:
			loop = false
		default:
		}
		if _, err := credentials.RotateKey(ctx, rotator); err != nil {
			t.Fatalf("RotateKey during refreshes: %v", err)
		}
		rotations++
	}
	close(errs)
	for err := range errs {
		t.Errorf("refresh during rotation: %v", err)
	}
	if _, err := credentials.RotateKey(ctx, rotator); err != nil {
		t.Fatalf("final RotateKey: %v", err)
	}
	only := newStore(Keyring(t, k2))
	for i := range grants {
		id := fmt.Sprintf("u%d", i)
		g, err := only.GetGrant(ctx, id)
		if err != nil {
			t.Fatalf("GetGrant(%s) with the new key only: %v", id, err)
		}
		if diff := cmp.Diff(Access(refreshes), g.Access); diff != "" || g.Version != 1+refreshes {
			t.Errorf("grant %s after %d rotations: version %d (want %d), access (-want +got):\n%s",
				id, rotations, g.Version, 1+refreshes, diff)
		}
	}
}
