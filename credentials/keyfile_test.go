package credentials_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/credentials"
)

func TestLoadOrCreateKeyFile(t *testing.T) {
	t.Run("creates_then_reuses", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data", "sub")
		path := filepath.Join(dir, "token.key")
		key, created, err := credentials.LoadOrCreateKeyFile(path)
		if err != nil || !created || len(key) != credentials.KeySize {
			t.Fatalf("first call: %d-byte key, created %v, err %v; want a %d-byte key created", len(key), created, err, credentials.KeySize)
		}
		if bytes.Equal(key, make([]byte, credentials.KeySize)) {
			t.Fatal("the key is all zeros")
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("key file mode %v, want 0600", perm)
		}
		di, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := di.Mode().Perm(); perm != 0o700 {
			t.Errorf("created directory mode %v, want 0700", perm)
		}
		text, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if parsed, err := credentials.ParseKey(string(text)); err != nil || !bytes.Equal(parsed, key) {
			t.Errorf("ParseKey(file) = %v; want the returned key", err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 1 {
			t.Errorf("directory holds %v (%v); want only the key file, no temporary file", entries, err)
		}

		again, created, err := credentials.LoadOrCreateKeyFile(path)
		if err != nil || created || !bytes.Equal(again, key) {
			t.Fatalf("second call: created %v, err %v, same key %v; want the same key, not created", created, err, bytes.Equal(again, key))
		}
		if other, _, err := credentials.LoadOrCreateKeyFile(filepath.Join(dir, "other.key")); err != nil || bytes.Equal(other, key) {
			t.Errorf("another file: err %v, same key %v; want a new key", err, bytes.Equal(other, key))
		}
	})

	t.Run("concurrent_first_starts_agree", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "token.key")
		const n = 8
		keys := make([][]byte, n)
		created := make([]bool, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { keys[i], created[i], errs[i] = credentials.LoadOrCreateKeyFile(path) })
		}
		wg.Wait()
		creators := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("call %d: %v", i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("call %d got another key than call 0", i)
			}
			if created[i] {
				creators++
			}
		}
		if creators != 1 {
			t.Errorf("%d calls report creating the file, want 1", creators)
		}
	})

	t.Run("malformed_file_is_an_error_without_its_content", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "token.key")
		content := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 20)) // 20 bytes, not 32
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, created, err := credentials.LoadOrCreateKeyFile(path)
		if err == nil || created {
			t.Fatalf("created %v, err %v; want an error", created, err)
		}
		if !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), content) {
			t.Errorf("err = %q; want the file named and its content left out", err)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Error("the malformed file was replaced")
		}
	})
}
