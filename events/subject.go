package events

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultPrefix is the subject prefix used when none is configured.
const DefaultPrefix = "smartcar"

// ErrInvalidName is wrapped by the errors about a prefix, vehicle id or
// signal that cannot be used in a subject, stream name or KV key.
var ErrInvalidName = errors.New("invalid name")

// maxTokenLen bounds prefixes and vehicle ids so that subjects, stream names
// and KV keys stay well below NATS limits.
const maxTokenLen = 128

// validToken reports whether s is a non-empty string of [A-Za-z0-9_-]: a
// single subject token that is also a valid KV key and stream name part.
func validToken(s string) bool {
	if s == "" || len(s) > maxTokenLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// ValidatePrefix returns an error wrapping ErrInvalidName unless prefix is a
// single subject token of [A-Za-z0-9_-] (no '.', '*', '>' or space).
func ValidatePrefix(prefix string) error {
	if !validToken(prefix) {
		return fmt.Errorf("prefix %q: must be 1-%d characters of [A-Za-z0-9_-]: %w", prefix, maxTokenLen, ErrInvalidName)
	}
	return nil
}

// ValidateVehicleID returns an error wrapping ErrInvalidName unless id is a
// single subject token of [A-Za-z0-9_-] (Smartcar ids are UUIDs).
func ValidateVehicleID(id string) error {
	if !validToken(id) {
		return fmt.Errorf("vehicle id %q: must be 1-%d characters of [A-Za-z0-9_-]: %w", id, maxTokenLen, ErrInvalidName)
	}
	return nil
}

func validateSignal(s Signal) error {
	if !s.Valid() {
		return fmt.Errorf("signal %q: unknown: %w", s, ErrInvalidName)
	}
	return nil
}

// Subject returns the subject of the events of vehicleID and signal s:
// <prefix>.vehicles.<vehicle_id>.<signal>.
func Subject(prefix, vehicleID string, s Signal) (string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return "", err
	}
	if err := ValidateVehicleID(vehicleID); err != nil {
		return "", err
	}
	if err := validateSignal(s); err != nil {
		return "", err
	}
	return prefix + ".vehicles." + vehicleID + "." + string(s), nil
}

// SubjectFilter is like Subject but an empty vehicleID or signal becomes the
// wildcard "*", for subscribing (e.g. tail) to one vehicle, one signal or all.
func SubjectFilter(prefix, vehicleID string, s Signal) (string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return "", err
	}
	v, sig := "*", "*"
	if vehicleID != "" {
		if err := ValidateVehicleID(vehicleID); err != nil {
			return "", err
		}
		v = vehicleID
	}
	if s != "" {
		if err := validateSignal(s); err != nil {
			return "", err
		}
		sig = string(s)
	}
	return prefix + ".vehicles." + v + "." + sig, nil
}

// ParseSubject splits an event subject made by Subject into its vehicle id
// and signal.
func ParseSubject(prefix, subject string) (vehicleID string, s Signal, err error) {
	rest, ok := strings.CutPrefix(subject, prefix+".vehicles.")
	if !ok {
		return "", "", fmt.Errorf("subject %q: not under %s.vehicles: %w", subject, prefix, ErrInvalidName)
	}
	v, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return "", "", fmt.Errorf("subject %q: no signal token: %w", subject, ErrInvalidName)
	}
	if err := ValidateVehicleID(v); err != nil {
		return "", "", fmt.Errorf("subject %q: %w", subject, err)
	}
	if err := validateSignal(Signal(sig)); err != nil {
		return "", "", fmt.Errorf("subject %q: %w", subject, err)
	}
	return v, Signal(sig), nil
}

// upperName turns a prefix into the upper-case stem of stream and bucket
// names: "my-app" → "MY_APP".
func upperName(prefix string) string {
	return strings.ReplaceAll(strings.ToUpper(prefix), "-", "_")
}

// StreamName returns the events stream name for prefix: <PREFIX>_EVENTS.
func StreamName(prefix string) string { return upperName(prefix) + "_EVENTS" }

// LatestBucket returns the latest-state KV bucket name for prefix:
// <PREFIX>_LATEST.
func LatestBucket(prefix string) string { return upperName(prefix) + "_LATEST" }

// LatestKey returns the KV key of vehicleID's signal s: <vehicle_id>.<signal>.
func LatestKey(vehicleID string, s Signal) (string, error) {
	if err := ValidateVehicleID(vehicleID); err != nil {
		return "", err
	}
	if err := validateSignal(s); err != nil {
		return "", err
	}
	return vehicleID + "." + string(s), nil
}
