// Package natsname holds the rule for the names this program puts into NATS
// subjects, stream, consumer and KV bucket names: the prefix above all, which
// starts every subject and, upper-cased, every stream and bucket name. A
// valid name is one subject token that is also a valid part of a stream or
// bucket name: 1 to MaxLen characters of [A-Za-z0-9_-] (no '.', '*', '>',
// space or non-ASCII letter).
package natsname

import "fmt"

// MaxLen bounds a name so that the subjects, stream names and KV keys made
// from it stay well below NATS limits.
const MaxLen = 128

// Valid reports whether s is 1 to MaxLen characters of [A-Za-z0-9_-].
func Valid(s string) bool {
	if s == "" || len(s) > MaxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// CheckPrefix returns an error unless prefix is Valid. The error names the
// prefix and the rule; callers that let an empty prefix stand for a default
// substitute it first.
func CheckPrefix(prefix string) error {
	if !Valid(prefix) {
		return fmt.Errorf("prefix %q: must be 1-%d characters of [A-Za-z0-9_-]", prefix, MaxLen)
	}
	return nil
}
