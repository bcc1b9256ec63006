package tokens

import "errors"

// Errors returned by stores and the Manager. Test for them with errors.Is.
var (
	// ErrNotFound is returned when a grant, vehicle or lock does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned by UpdateGrant when the stored version is not
	// the expected one: another writer got there first.
	ErrConflict = errors.New("version conflict")
	// ErrLocked is returned by Lock when someone else holds the lock.
	ErrLocked = errors.New("locked")
	// ErrLockLost is returned by an unlock func when the lock expired and was
	// taken (or released) by someone else in the meantime.
	ErrLockLost = errors.New("lock lost")
	// ErrReauthRequired means the grant's refresh token was rejected
	// (invalid_grant) or the vehicle is marked needs_reauth: the user must go
	// through Smartcar Connect again. Do not poll the vehicle until then.
	ErrReauthRequired = errors.New("reauthentication required")
	// ErrInactive means the vehicle is disabled or disconnected: do not poll it.
	ErrInactive = errors.New("vehicle inactive")
)
