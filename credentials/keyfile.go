package credentials

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// LoadOrCreateKeyFile returns the key held in the file path, first creating
// the file with a new random key if it does not exist: its directory with
// mode 0700 as needed, the file with mode 0600 and the key as base64 (what
// ParseKey reads). The file appears complete or not at all, and processes
// starting at once all get the key of the one that created it. created
// reports that this call wrote the file. Errors name the file, never the key.
func LoadOrCreateKeyFile(path string) (key []byte, created bool, err error) {
	key, err = readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("create key file: %w", err)
	}
	key = make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("create key file: %w", err)
	}
	// Written under a temporary name (CreateTemp makes it 0600), then
	// linked to path, which fails if another process got there first.
	tmp, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return nil, false, fmt.Errorf("create key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("create key file %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		key, err = readKeyFile(path) // created meanwhile: use that one
		return key, false, err
	} else if err != nil {
		return nil, false, fmt.Errorf("create key file: %w", err)
	}
	if d, err := os.Open(dir); err == nil { // make the new name durable
		_ = d.Sync()
		_ = d.Close()
	}
	return key, true, nil
}

func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	key, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}
