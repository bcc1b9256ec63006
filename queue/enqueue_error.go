package queue

import "errors"

// ErrInvalidJob is wrapped by the error of an Enqueue call given a job that
// cannot be published (a vehicle id that is not one subject token, or no id
// and nothing to derive it from). Nothing was published; enqueueing the same
// jobs again fails the same way.
var ErrInvalidJob = errors.New("invalid job")

// EnqueueError is the error of an Enqueue call that published some jobs and
// may not have stored all of them. Its message and Unwrap are those of Err.
type EnqueueError struct {
	// Failed holds, in increasing order, the indexes in Enqueue's jobs of
	// the jobs not known to be stored: not published, refused by the
	// server, or still without an ack when Enqueue gave up waiting (those
	// may have been stored; enqueueing them again is safe while their ids
	// are in the duplicate window). Every other job was stored or was a
	// duplicate.
	Failed []int
	Err    error
}

func (e *EnqueueError) Error() string { return e.Err.Error() }

func (e *EnqueueError) Unwrap() error { return e.Err }
