package datadir_test

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/internal/datadir"
)

// TestMain lets the test binary act as a lock holder in a child process:
// with DATADIR_TEST_HOLD=dir it locks dir as a daemon, prints "locked" and
// waits to be killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("DATADIR_TEST_HOLD"); dir != "" {
		l, err := datadir.TryLock(dir, datadir.Holder{Command: "run", Daemon: true})
		if err != nil {
			os.Stdout.WriteString("error: " + err.Error() + "\n")
			os.Exit(1)
		}
		if err := l.Publish("nats://127.0.0.1:1", "child-token"); err != nil {
			os.Exit(1)
		}
		os.Stdout.WriteString("locked\n")
		select {}
	}
	os.Exit(m.Run())
}

func TestTryLock_exclusive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	l, err := datadir.TryLock(dir, datadir.Holder{Command: "run", Daemon: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Publish("nats://127.0.0.1:4567", "tok"); err != nil {
		t.Fatal(err)
	}

	_, err = datadir.TryLock(dir, datadir.Holder{Command: "connect"})
	var le *datadir.LockedError
	if !errors.As(err, &le) || !errors.Is(err, datadir.ErrLocked) {
		t.Fatalf("second TryLock: err = %v, want a *LockedError", err)
	}
	if le.Holder.PID != os.Getpid() || le.Holder.Command != "run" || !le.Holder.Reachable() || le.Holder.NATSURL != "nats://127.0.0.1:4567" {
		t.Errorf("holder = %+v, want this process's run with its URL", le.Holder)
	}
	for _, want := range []string{"data_dir " + dir + " is in use by pid ", "(smartcar-poller run, since "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "tok") {
		t.Errorf("error %q shows the token", err)
	}
	if h, held, err := datadir.Probe(dir); err != nil || !held || h.NATSToken != "tok" {
		t.Errorf("Probe while held = %+v, %v, %v; want the holder", h, held, err)
	}
	fi, err := os.Stat(filepath.Join(dir, datadir.HolderFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("holder file: %v, mode %v; want 0600", err, fi.Mode())
	}

	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, datadir.HolderFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("holder file after Unlock: %v, want it removed", err)
	}
	if _, held, err := datadir.Probe(dir); err != nil || held {
		t.Errorf("Probe after Unlock: held %v, %v; want free", held, err)
	}
	l2, err := datadir.TryLock(dir, datadir.Holder{Command: "connect"})
	if err != nil {
		t.Fatalf("TryLock after Unlock: %v", err)
	}
	if h, err := datadir.ReadHolder(dir); err != nil || h.Command != "connect" || h.Reachable() {
		t.Errorf("record = %+v, %v; want connect, not reachable", h, err)
	}
	if err := l2.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestProbe_neverLocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	if _, held, err := datadir.Probe(dir); err != nil || held {
		t.Fatalf("Probe of a new directory: held %v, %v", held, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Probe created %s: %v", dir, err)
	}
}

// TestTryLock_crashedHolder locks a directory in a child process, kills it
// with SIGKILL (no clean shutdown) and takes the lock: no stale lock, and
// the dead holder's record is replaced.
func TestTryLock_crashedHolder(t *testing.T) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "DATADIR_TEST_HOLD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "locked\n" {
		_ = cmd.Process.Kill()
		t.Fatalf("child: %q, %v", line, err)
	}

	_, err = datadir.TryLock(dir, datadir.Holder{Command: "run", Daemon: true})
	var le *datadir.LockedError
	if !errors.As(err, &le) || le.Holder.PID != cmd.Process.Pid || le.Holder.NATSURL != "nats://127.0.0.1:1" {
		t.Fatalf("TryLock while the child holds it: %v (holder %+v), want the child's record", err, le)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	l, err := datadir.TryLock(dir, datadir.Holder{Command: "run", Daemon: true})
	if err != nil {
		t.Fatalf("TryLock after the holder was killed: %v", err)
	}
	defer l.Unlock()
	h, err := datadir.ReadHolder(dir)
	if err != nil || h.PID != os.Getpid() || h.NATSURL != "" {
		t.Errorf("record = %+v, %v; want this process's, without the dead one's URL", h, err)
	}
}
