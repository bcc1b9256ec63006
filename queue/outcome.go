package queue

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

var (
	errEmptyToken = errors.New("empty")
	errBadToken   = errors.New("contains '.', '*', '>' or white space")
)

// snoozeError asks for redelivery after a delay without counting a failure.
type snoozeError struct {
	delay time.Duration
	cause error
}

func (e *snoozeError) Error() string {
	if e.cause == nil {
		return fmt.Sprintf("snooze %s", e.delay)
	}
	return fmt.Sprintf("snooze %s: %v", e.delay, e.cause)
}

func (e *snoozeError) Unwrap() error { return e.cause }

// Snooze returns an error that makes Consume redeliver the job after d
// (NakWithDelay) instead of retrying it with backoff; use it for a
// Retry-After. A snooze is not a failure: Delivery.Failures does not grow
// (JetStream's delivery count, Delivery.Deliveries, does). cause may be nil.
func Snooze(d time.Duration, cause error) error {
	return &snoozeError{delay: max(d, 0), cause: cause}
}

// dropError asks for the job to be terminated.
type dropError struct{ cause error }

func (e *dropError) Error() string {
	if e.cause == nil {
		return "drop job"
	}
	return fmt.Sprintf("drop job: %v", e.cause)
}

func (e *dropError) Unwrap() error { return e.cause }

// Drop returns an error that makes Consume terminate the job: it is removed
// and never redelivered. Use it for permanent failures. cause may be nil.
func Drop(cause error) error { return &dropError{cause: cause} }

// SnoozeDelay reports the delay of a Snooze error anywhere in err's chain.
func SnoozeDelay(err error) (time.Duration, bool) {
	var s *snoozeError
	if errors.As(err, &s) {
		return s.delay, true
	}
	return 0, false
}

// IsDrop reports whether err's chain holds a Drop error.
func IsDrop(err error) bool {
	var d *dropError
	return errors.As(err, &d)
}

// PanicError is a handler's panic: the value it panicked with and the stack
// of the goroutine at the time. Consume turns a panic into one; a handler
// that recovers its own panics returns one from Recovered (or a Drop of
// one), so Consume still logs the stack and counts the panic.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Recovered returns a PanicError for v, a value recover returned, with the
// current goroutine's stack. Call it in the deferred function that
// recovered: the stack then still shows where the panic happened.
func Recovered(v any) *PanicError { return &PanicError{Value: v, Stack: debug.Stack()} }

// panicOf returns the PanicError in err's chain.
func panicOf(err error) (*PanicError, bool) {
	var p *PanicError
	ok := errors.As(err, &p)
	return p, ok
}
