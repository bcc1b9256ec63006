package credentials_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/smartcar-poller/smartcar-poller/credentials"
	"github.com/smartcar-poller/smartcar-poller/credentials/credentialstest"
)

var (
	testKey     = credentialstest.Key
	testKeyring = credentialstest.Keyring
)

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
			got, err := credentials.ParseKey(tt.text)
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
	if _, err := credentials.NewKeyring(testKey(1)[:16]); err == nil {
		t.Fatal("NewKeyring(16-byte key) succeeded, want an error")
	}
	if _, err := credentials.NewKeyring(testKey(1), []byte("short")); err == nil {
		t.Fatal("NewKeyring(short previous key) succeeded, want an error")
	}
	k := testKeyring(t, testKey(1), testKey(2))
	sum := sha256.Sum256(testKey(1))
	if got, want := k.CurrentKeyID(), hex.EncodeToString(sum[:4]); got != want {
		t.Fatalf("CurrentKeyID = %q, want %q", got, want)
	}
	if got, want := credentials.KeyID(testKey(2)), credentials.KeyID(testKey(2)); got != want || got == k.CurrentKeyID() {
		t.Fatalf("KeyID(key 2) = %q, want a stable id other than %q", got, k.CurrentKeyID())
	}
	var none *credentials.Keyring
	if got := none.CurrentKeyID(); got != "" {
		t.Fatalf("nil Keyring CurrentKeyID = %q, want empty", got)
	}
}
