package queue

import (
	"errors"
	"fmt"
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
// Retry-After. JetStream still counts the delivery, so Delivery.Attempt grows
// across snoozes; give-up logic belongs in the handler. cause may be nil.
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
