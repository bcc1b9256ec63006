// Package datadir owns the daemon's data directory: the exclusive lock that
// lets one process at a time open the embedded NATS store under it, and the
// record of who holds the lock and, for a daemon, how to reach its embedded
// NATS server, so that the CLI talks to the daemon's server instead of
// opening the store a second time.
//
// The lock is flock(2) (LockFile) on Unix, LockFileEx on Windows: the
// kernel releases it when its holder exits, so a crashed daemon leaves no
// stale lock. The record (HolderFile) is written atomically by each new
// holder and removed by Unlock; a record left by a crashed holder is only
// read while the lock is held, that is after the next holder replaced it.
//
// datadir knows nothing of NATS beyond the URL and token it stores.
package datadir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// File names under the data directory.
const (
	LockFile   = "smartcar-poller.lock" // flock'ed, never written
	HolderFile = "smartcar-poller.json" // the holder's Holder, mode 0600
)

// Holder says which process holds a data directory and how to reach it.
type Holder struct {
	PID     int       `json:"pid"`
	Command string    `json:"command"` // the smartcar-poller command: run, demo, connect, ...
	Daemon  bool      `json:"daemon"`  // a long-running process that serves its NATS server to others
	Since   time.Time `json:"since"`
	// NATSURL and NATSToken reach the holder's embedded NATS server (a
	// loopback URL and its authorization token); set by a daemon once the
	// server accepts connections.
	NATSURL   string `json:"nats_url,omitempty"`
	NATSToken string `json:"nats_token,omitempty"`
}

// String describes the holder for errors and logs; it never contains the token.
func (h Holder) String() string {
	if h.PID == 0 {
		return "another process"
	}
	return fmt.Sprintf("pid %d (smartcar-poller %s, since %s)", h.PID, h.Command, h.Since.Local().Format(time.DateTime))
}

// Reachable reports whether the holder publishes a NATS server to connect to.
func (h Holder) Reachable() bool { return h.Daemon && h.NATSURL != "" }

// ErrLocked is matched by the *LockedError of a data directory another
// process holds.
var ErrLocked = errors.New("data directory in use")

// LockedError says who holds a data directory.
type LockedError struct {
	Dir    string
	Holder Holder // zero when the holder has not written its record yet
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("data_dir %s is in use by %s", e.Dir, e.Holder)
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock is a held data directory.
type Lock struct {
	dir    string
	fl     *flock.Flock
	holder Holder
}

// TryLock takes the lock of dir (created with mode 0700 if missing) for h,
// filling in its PID and Since, and records h. When another process, or
// another Lock of this process, holds it, the error is a *LockedError with
// that holder's record.
func TryLock(dir string, h Holder) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("lock data_dir: %w", err)
	}
	fl := flock.New(filepath.Join(dir, LockFile), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock data_dir %s: %w", dir, err)
	}
	if !ok {
		held, _ := ReadHolder(dir) // a missing or half-written record: holder unknown
		return nil, &LockedError{Dir: dir, Holder: held}
	}
	h.PID, h.Since = os.Getpid(), time.Now().UTC().Truncate(time.Second)
	l := &Lock{dir: dir, fl: fl, holder: h}
	if err := l.write(); err != nil {
		_ = fl.Unlock()
		return nil, err
	}
	return l, nil
}

// Probe reports whether a process holds dir and, if so, its record. It takes
// the lock for an instant when nobody holds it (and then holds nothing).
func Probe(dir string) (Holder, bool, error) {
	if _, err := os.Stat(filepath.Join(dir, LockFile)); errors.Is(err, fs.ErrNotExist) {
		return Holder{}, false, nil // never locked
	}
	fl := flock.New(filepath.Join(dir, LockFile))
	ok, err := fl.TryLock()
	if err != nil {
		return Holder{}, false, fmt.Errorf("probe data_dir %s: %w", dir, err)
	}
	if ok {
		return Holder{}, false, fl.Unlock()
	}
	h, _ := ReadHolder(dir)
	return h, true, nil
}

// ReadHolder reads the record of dir's holder. Only meaningful while the
// lock is held: a crashed holder leaves its record behind.
func ReadHolder(dir string) (Holder, error) {
	var h Holder
	b, err := os.ReadFile(filepath.Join(dir, HolderFile))
	if err != nil {
		return h, fmt.Errorf("read data_dir holder: %w", err)
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return Holder{}, fmt.Errorf("read data_dir holder: %w", err)
	}
	return h, nil
}

// Dir is the locked directory.
func (l *Lock) Dir() string { return l.dir }

// Publish records how to reach the holder's embedded NATS server.
func (l *Lock) Publish(natsURL, token string) error {
	l.holder.NATSURL, l.holder.NATSToken = natsURL, token
	return l.write()
}

// write replaces the record atomically (a reader sees the old or the new one).
func (l *Lock) write() error {
	b, err := json.Marshal(l.holder)
	if err != nil {
		return fmt.Errorf("write data_dir holder: %w", err)
	}
	tmp, err := os.CreateTemp(l.dir, HolderFile+".*")
	if err != nil {
		return fmt.Errorf("write data_dir holder: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write data_dir holder: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write data_dir holder: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(l.dir, HolderFile)); err != nil {
		return fmt.Errorf("write data_dir holder: %w", err)
	}
	return nil
}

// Unpublish removes the record, so nobody connects to a server that is
// about to stop; the lock stays held until Unlock.
func (l *Lock) Unpublish() error {
	if err := os.Remove(filepath.Join(l.dir, HolderFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove data_dir holder: %w", err)
	}
	return nil
}

// Unlock removes the record and releases the lock. The lock file stays:
// removing it could let two processes lock two different files.
func (l *Lock) Unlock() error {
	err := l.Unpublish()
	if uerr := l.fl.Unlock(); uerr != nil {
		err = errors.Join(err, fmt.Errorf("unlock data_dir %s: %w", l.dir, uerr))
	}
	return err
}
