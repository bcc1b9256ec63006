package tokens_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/tokens"
)

// testKey returns a distinct 32-byte key for each n.
func testKey(n int) []byte {
	sum := sha256.Sum256([]byte(fmt.Sprintf("test key %d", n)))
	return sum[:]
}

func testKeyring(t testing.TB, current []byte, previous ...[]byte) *tokens.Keyring {
	t.Helper()
	k, err := tokens.NewKeyring(current, previous...)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return k
}

func TestParseKey(t *testing.T) {
	key := testKey(9)
	tests := []struct {
		name, text string
		wantErr    string
	}{
		{"hex", hex.EncodeToString(key), ""},
		{"hex upper with newline", strings.ToUpper(hex.EncodeToString(key)) + "\n", ""},
		{"base64", base64.StdEncoding.EncodeToString(key), ""},
		{"base64 raw", base64.RawStdEncoding.EncodeToString(key), ""},
		{"base64 url", base64.URLEncoding.EncodeToString(key), ""},
		{"base64 spaces", "  " + base64.StdEncoding.EncodeToString(key) + " \n", ""},
		{"empty", " \n", "empty"},
		{"short base64", base64.StdEncoding.EncodeToString(key[:31]), "31 bytes"},
		{"long base64", base64.StdEncoding.EncodeToString(append(key, 1)), "33 bytes"},
		{"short hex", hex.EncodeToString(key)[:62], "62 hex digits"},
		{"data tagged as hex", strings.Repeat("0", 63), "63 hex digits"},
		{"passphrase", "correct horse battery staple", "neither"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tokens.ParseKey(tt.text)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseKey: %v", err)
				}
				if diff := cmp.Diff(key, got); diff != "" {
					t.Fatalf("ParseKey (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseKey err = %v, want one containing %q", err, tt.wantErr)
			}
			if s := strings.TrimSpace(tt.text); len(s) > 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("ParseKey error quotes the key text: %v", err)
			}
		})
	}
}

func TestNewKeyring(t *testing.T) {
	if _, err := tokens.NewKeyring(testKey(1)[:16]); err == nil {
		t.Fatal("NewKeyring(16-byte key) succeeded, want an error")
	}
	if _, err := tokens.NewKeyring(testKey(1), []byte("short")); err == nil {
		t.Fatal("NewKeyring(short previous key) succeeded, want an error")
	}
	k := testKeyring(t, testKey(1), testKey(2))
	sum := sha256.Sum256(testKey(1))
	if got, want := k.CurrentKeyID(), hex.EncodeToString(sum[:4]); got != want {
		t.Fatalf("CurrentKeyID = %q, want %q", got, want)
	}
	if got, want := tokens.KeyID(testKey(2)), tokens.KeyID(testKey(2)); got != want || got == k.CurrentKeyID() {
		t.Fatalf("KeyID(key 2) = %q, want a stable id other than %q", got, k.CurrentKeyID())
	}
	var none *tokens.Keyring
	if got := none.CurrentKeyID(); got != "" {
		t.Fatalf("nil Keyring CurrentKeyID = %q, want empty", got)
	}
}

// rawBackend opens stores sharing one place (prefix or buckets) and reads
// and writes its grant records as stored.
type rawBackend struct {
	name string
	// open returns a new world: a store factory over one place, and raw access to it.
	open func(t *testing.T) (newStore func(opts ...tokens.StoreOption) tokens.Store, raw rawGrants)
}

type rawGrants struct {
	get func(t *testing.T, id string) []byte
	set func(t *testing.T, id string, b []byte)
}

func rawBackends(t *testing.T) []rawBackend {
	embedded := embeddedJetStream(t)
	kv := func(js func(t *testing.T) jetstream.JetStream) func(t *testing.T) (func(...tokens.StoreOption) tokens.Store, rawGrants) {
		return func(t *testing.T) (func(...tokens.StoreOption) tokens.Store, rawGrants) {
			j := js(t)
			prefix := testserver.Unique("tokc_")
			first := newKVStoreAt(t, j, prefix)
			newStore := func(opts ...tokens.StoreOption) tokens.Store {
				if len(opts) == 0 {
					return first
				}
				s, err := tokens.NewKVStore(t.Context(), j, prefix, opts...)
				if err != nil {
					t.Fatalf("NewKVStore: %v", err)
				}
				return s
			}
			g, _, _ := tokens.KVBuckets(prefix)
			bucket, err := j.KeyValue(t.Context(), g)
			if err != nil {
				t.Fatalf("grants bucket: %v", err)
			}
			return newStore, rawGrants{
				get: func(t *testing.T, id string) []byte {
					e, err := bucket.Get(t.Context(), id)
					if err != nil {
						t.Fatalf("raw get %s: %v", id, err)
					}
					return e.Value()
				},
				set: func(t *testing.T, id string, b []byte) {
					if _, err := bucket.Put(t.Context(), id, b); err != nil {
						t.Fatalf("raw put %s: %v", id, err)
					}
				},
			}
		}
	}
	return []rawBackend{
		{"redis", func(t *testing.T) (func(...tokens.StoreOption) tokens.Store, rawGrants) {
			rdb := testserver.Redis(t)
			prefix := uniquePrefix()
			t.Cleanup(func() { deleteRedisPrefix(t, rdb, prefix) })
			return func(opts ...tokens.StoreOption) tokens.Store {
					return tokens.NewRedisStore(rdb, prefix, opts...)
				}, rawGrants{
					get: func(t *testing.T, id string) []byte {
						b, err := rdb.HGet(t.Context(), prefix+"grant:"+id, "data").Bytes()
						if err != nil {
							t.Fatalf("raw get %s: %v", id, err)
						}
						return b
					},
					set: func(t *testing.T, id string, b []byte) {
						if err := rdb.HSet(t.Context(), prefix+"grant:"+id, "data", b).Err(); err != nil {
							t.Fatalf("raw set %s: %v", id, err)
						}
					},
				}
		}},
		{"kv_nats_shared", kv(func(t *testing.T) jetstream.JetStream { return sharedJetStream(t) })},
		{"kv_nats_embedded", kv(func(*testing.T) jetstream.JetStream { return embedded })},
	}
}

// newKVStoreAt is newKVStore with a given prefix.
func newKVStoreAt(t *testing.T, js jetstream.JetStream, prefix string) tokens.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := tokens.NewKVStore(ctx, js, prefix)
	g, v, l := tokens.KVBuckets(prefix)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, b := range []string{g, v, l} {
			if err := js.DeleteKeyValue(ctx, b); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
				t.Errorf("delete bucket %s: %v", b, err)
			}
		}
	})
	if err != nil {
		t.Fatalf("NewKVStore: %v", err)
	}
	return s
}

// TestEncryption runs the encryption-at-rest checks against every backend.
func TestEncryption(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, newStore func(...tokens.StoreOption) tokens.Store, raw rawGrants)
	}{
		{"ciphertext_holds_no_token", testCiphertextHoldsNoToken},
		{"tamper_detected", testTamperDetected},
		{"wrong_key", testWrongKey},
		{"rotate", testRotate},
		{"rotate_with_concurrent_refresh", testRotateConcurrentRefresh},
	}
	for _, b := range rawBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					newStore, raw := b.open(t)
					tt.run(t, newStore, raw)
				})
			}
		})
	}
}

func testCiphertextHoldsNoToken(t *testing.T, newStore func(...tokens.StoreOption) tokens.Store, raw rawGrants) {
	ctx := testCtx(t)
	k := testKeyring(t, testKey(1))
	s := newStore(tokens.WithKeyring(k))
	g := tokens.Grant{ID: "u1", Access: access(7), UpdatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := s.CreateGrant(ctx, g); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	stored := string(raw.get(t, "u1"))
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
	if again := string(raw.get(t, "u1")); again == stored {
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
	if _, err := newStore().GetGrant(ctx, "u1"); !errors.Is(err, tokens.ErrUnknownKey) {
		t.Fatalf("GetGrant without a key err = %v, want ErrUnknownKey", err)
	}
}

func testTamperDetected(t *testing.T, newStore func(...tokens.StoreOption) tokens.Store, raw rawGrants) {
	ctx := testCtx(t)
	s := newStore(tokens.WithKeyring(testKeyring(t, testKey(1))))
	for _, id := range []string{"u1", "u2"} {
		if err := s.CreateGrant(ctx, tokens.Grant{ID: id, Access: access(1)}); err != nil {
			t.Fatalf("CreateGrant(%s): %v", id, err)
		}
	}
	var rec map[string]any
	if err := json.Unmarshal(raw.get(t, "u1"), &rec); err != nil {
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
		raw.set(t, "u1", b)
		if _, err := s.GetGrant(ctx, "u1"); !errors.Is(err, tokens.ErrDecrypt) {
			t.Fatalf("GetGrant after flipping byte %d err = %v, want ErrDecrypt", i, err)
		}
	}
	// A record moved to another grant fails too: the grant id is authenticated.
	raw.set(t, "u1", raw.get(t, "u2"))
	if _, err := s.GetGrant(ctx, "u1"); !errors.Is(err, tokens.ErrDecrypt) {
		t.Fatalf("GetGrant of u2's record under u1 err = %v, want ErrDecrypt", err)
	}
}

func testWrongKey(t *testing.T, newStore func(...tokens.StoreOption) tokens.Store, raw rawGrants) {
	ctx := testCtx(t)
	k1 := testKey(1)
	if err := newStore(tokens.WithKeyring(testKeyring(t, k1))).CreateGrant(ctx, tokens.Grant{ID: "u1", Access: access(3)}); err != nil {
		t.Fatalf("CreateGrant: %v", err)
	}
	_, err := newStore(tokens.WithKeyring(testKeyring(t, testKey(2)))).GetGrant(ctx, "u1")
	if !errors.Is(err, tokens.ErrUnknownKey) || !strings.Contains(err.Error(), tokens.KeyID(k1)) {
		t.Fatalf("GetGrant with another key err = %v, want ErrUnknownKey naming key id %s", err, tokens.KeyID(k1))
	}
	// With the old key as a previous one it reads, and writes with the new one.
	s := newStore(tokens.WithKeyring(testKeyring(t, testKey(2), k1)))
	g, err := s.GetGrant(ctx, "u1")
	if err != nil {
		t.Fatalf("GetGrant with previous key: %v", err)
	}
	if diff := cmp.Diff(access(3), g.Access); diff != "" {
		t.Fatalf("GetGrant access (-want +got):\n%s", diff)
	}
	if _, err := s.UpdateGrant(ctx, tokens.Grant{ID: "u1", Access: access(4)}, g.Version); err != nil {
		t.Fatalf("UpdateGrant: %v", err)
	}
	if got := string(raw.get(t, "u1")); !strings.Contains(got, tokens.KeyID(testKey(2))) {
		t.Fatalf("record after update %s: want key id %s", got, tokens.KeyID(testKey(2)))
	}
}

func testRotate(t *testing.T, newStore func(...tokens.StoreOption) tokens.Store, raw rawGrants) {
	ctx := testCtx(t)
	k1, k2 := testKey(1), testKey(2)
	old := newStore(tokens.WithKeyring(testKeyring(t, k1)))
	want := map[string]tokens.Grant{}
	const odd = "odd id/ü*?[x]" // escaped in KV keys, glob characters in Redis
	for i := range 5 {
		id := fmt.Sprintf("u%d", i)
		if i == 4 {
			id = odd
		}
		g := tokens.Grant{ID: id, Access: access(i)}
		if err := old.CreateGrant(ctx, g); err != nil {
			t.Fatalf("CreateGrant: %v", err)
		}
		want[g.ID] = g
	}
	if err := newStore().CreateGrant(ctx, tokens.Grant{ID: "plain", Access: access(9)}); err != nil {
		t.Fatalf("CreateGrant (plaintext): %v", err)
	}
	want["plain"] = tokens.Grant{ID: "plain", Access: access(9)}

	if _, err := tokens.RotateKey(ctx, newStore()); err == nil {
		t.Fatal("RotateKey without a key succeeded, want an error")
	}
	s := newStore(tokens.WithKeyring(testKeyring(t, k2, k1)))
	st, err := tokens.RotateKey(ctx, s)
	if err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if diff := cmp.Diff(tokens.RotateStats{Grants: 6, Moved: 6}, st); diff != "" {
		t.Fatalf("RotateKey stats (-want +got):\n%s", diff)
	}
	if st, err = tokens.RotateKey(ctx, s); err != nil || st != (tokens.RotateStats{Grants: 6}) {
		t.Fatalf("second RotateKey = %+v, %v; want 6 grants, none moved", st, err)
	}
	// Only the new key is needed now; versions did not move.
	only := newStore(tokens.WithKeyring(testKeyring(t, k2)))
	for id, w := range want {
		if id != odd { // its stored key is escaped: only the read below checks it
			if got := string(raw.get(t, id)); !strings.Contains(got, tokens.KeyID(k2)) {
				t.Errorf("grant %s after rotation: %s, want key id %s", id, got, tokens.KeyID(k2))
			}
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
func testRotateConcurrentRefresh(t *testing.T, newStore func(...tokens.StoreOption) tokens.Store, raw rawGrants) {
	ctx := testCtx(t)
	k1, k2 := testKey(1), testKey(2)
	// An old replica still writes with k1 (and reads k2's records).
	oldPod := newStore(tokens.WithKeyring(testKeyring(t, k1, k2)))
	rotator := newStore(tokens.WithKeyring(testKeyring(t, k2, k1)))
	const grants, refreshes = 4, 15
	for i := range grants {
		if err := oldPod.CreateGrant(ctx, tokens.Grant{ID: fmt.Sprintf("u%d", i), Access: access(0)}); err != nil {
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
				if _, err := oldPod.UpdateGrant(ctx, tokens.Grant{ID: id, Access: access(n)}, g.Version); err != nil {
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
		if _, err := tokens.RotateKey(ctx, rotator); err != nil {
			t.Fatalf("RotateKey during refreshes: %v", err)
		}
		rotations++
	}
	close(errs)
	for err := range errs {
		t.Errorf("refresh during rotation: %v", err)
	}
	if _, err := tokens.RotateKey(ctx, rotator); err != nil {
		t.Fatalf("final RotateKey: %v", err)
	}
	only := newStore(tokens.WithKeyring(testKeyring(t, k2)))
	for i := range grants {
		id := fmt.Sprintf("u%d", i)
		g, err := only.GetGrant(ctx, id)
		if err != nil {
			t.Fatalf("GetGrant(%s) with the new key only: %v", id, err)
		}
		if diff := cmp.Diff(access(refreshes), g.Access); diff != "" || g.Version != 1+refreshes {
			t.Errorf("grant %s after %d rotations: version %d (want %d), access (-want +got):\n%s",
				id, rotations, g.Version, 1+refreshes, diff)
		}
	}
}

// BenchmarkGetGrant reads one grant from Redis, in plaintext and encrypted.
func BenchmarkGetGrant(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []tokens.StoreOption
	}{
		{"plaintext", nil},
		{"encrypted", []tokens.StoreOption{tokens.WithKeyring(testKeyring(b, testKey(1)))}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newRedisStore(b, bc.opts...)
			ctx := context.Background()
			if err := s.CreateGrant(ctx, tokens.Grant{ID: "u1", Access: access(1)}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.GetGrant(ctx, "u1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
