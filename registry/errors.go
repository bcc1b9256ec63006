package registry

import "errors"

// Errors returned by stores. Test for them with errors.Is.
var (
	// ErrNotFound is returned for a vehicle that is not registered.
	ErrNotFound = errors.New("vehicle not found")
	// ErrLeased is returned by StartPoll while someone else holds the
	// vehicle's poll lease.
	ErrLeased = errors.New("poll lease held")
	// ErrLeaseLost is returned by a PollStart's Unlock when the lease expired
	// and was taken (or released) by someone else in the meantime.
	ErrLeaseLost = errors.New("poll lease lost")
	// ErrConflict is returned when a write kept losing its compare-and-set
	// to other writers.
	ErrConflict = errors.New("write conflict")
	// ErrSkip is returned by an UpdatePlan function to leave the plan as
	// it is: UpdatePlan then writes nothing and returns nil.
	ErrSkip = errors.New("skip update")
	// ErrMalformed means a stored record does not decode.
	ErrMalformed = errors.New("malformed record")
	// ErrNeedsReauth (Vehicle.CheckPollable) means the vehicle is
	// needs_reauth: its user must go through Smartcar Connect again.
	ErrNeedsReauth = errors.New("vehicle needs reauthentication")
	// ErrInactive (Vehicle.CheckPollable) means the vehicle is disabled or
	// disconnected: do not poll it.
	ErrInactive = errors.New("vehicle inactive")
)
