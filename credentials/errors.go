package credentials

import "errors"

// Errors returned by stores and the Manager. Test for them with errors.Is.
var (
	// ErrNotFound is returned when a grant does not exist.
	ErrNotFound = errors.New("grant not found")
	// ErrConflict is returned by UpdateGrant when the stored version is not
	// the expected one: another writer got there first.
	ErrConflict = errors.New("version conflict")
	// ErrLocked is returned by Lock when someone else holds the lock.
	ErrLocked = errors.New("locked")
	// ErrLockLost is returned by an unlock func when the lock expired and was
	// taken (or released) by someone else in the meantime.
	ErrLockLost = errors.New("lock lost")
	// ErrReauthRequired means the grant's refresh token was rejected
	// (invalid_grant): the user must go through Smartcar Connect again. Do
	// not poll the grant's vehicles until then.
	ErrReauthRequired = errors.New("reauthentication required")
	// ErrMalformed means a stored record does not decode. The error never
	// quotes the record: it may hold tokens.
	ErrMalformed = errors.New("malformed record")
	// ErrNoKeyring is returned by Rekey (and so RotateKey) on a store
	// without a Keyring: there is no key to encrypt with.
	ErrNoKeyring = errors.New("no encryption key configured")
)
