package testserver

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// Buffer is a bytes.Buffer safe for concurrent writers, for capturing the
// output of a process or a logger while a test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Logger logs through t.Log at debug level when -v is given, and discards otherwise.
func Logger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// serverLog forwards an embedded nats-server's warnings and errors to the
// test's log, so that a failing test shows why the server refused a request
// (the client only sees a generic API error). Notices, debug and trace lines
// are dropped. Lines after the test has finished are dropped too.
type serverLog struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (l *serverLog) logf(level, format string, v ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Logf("nats-server %s: "+format, append([]any{level}, v...)...)
	}
}

func (l *serverLog) stop() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}

func (l *serverLog) Noticef(string, ...any)         {}
func (l *serverLog) Debugf(string, ...any)          {}
func (l *serverLog) Tracef(string, ...any)          {}
func (l *serverLog) Warnf(format string, v ...any)  { l.logf("warning", format, v...) }
func (l *serverLog) Errorf(format string, v ...any) { l.logf("error", format, v...) }
func (l *serverLog) Fatalf(format string, v ...any) { l.logf("fatal", format, v...) }
