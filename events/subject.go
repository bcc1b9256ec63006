package events

import (
	"errors"
	"fmt"
	"strings"

	"github.com/smartcar-poller/smartcar-poller/internal/natsname"
)

// DefaultPrefix is the subject prefix used when none is configured.
const DefaultPrefix = "smartcar"

// ErrInvalidName is wrapped by the errors about a prefix, vehicle id or
// signal that cannot be used in a subject, stream name or KV key.
var ErrInvalidName = errors.New("invalid name")

// maxTokenLen bounds prefixes, vehicle ids and signal codes so that
// subjects, stream names and KV keys stay well below NATS limits.
const maxTokenLen = natsname.MaxLen

// validToken reports whether s is a non-empty string of [A-Za-z0-9_-]: a
// single subject token that is also a valid KV key and stream name part.
func validToken(s string) bool { return natsname.Valid(s) }

// ValidatePrefix returns an error wrapping ErrInvalidName unless prefix is a
// single subject token of [A-Za-z0-9_-] (no '.', '*', '>' or space).
func ValidatePrefix(prefix string) error {
	if err := natsname.CheckPrefix(prefix); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalidName)
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

// validateTopicSignal is validateSignal for a subject or key of s alone:
// generic signal events need their code too.
func validateTopicSignal(s Signal) error {
	if s == SignalGeneric {
		return fmt.Errorf("signal %q: the subject of a generic signal event needs its code: %w", s, ErrInvalidName)
	}
	return validateSignal(s)
}

// ValidateCode returns an error wrapping ErrInvalidName unless code (an API
// v3 signal code such as "transmission-gearstate") can be a subject token:
// 1-128 characters of [A-Za-z0-9_-].
func ValidateCode(code string) error {
	if !validToken(code) {
		return fmt.Errorf("signal code %q: must be 1-%d characters of [A-Za-z0-9_-]: %w", code, maxTokenLen, ErrInvalidName)
	}
	return nil
}

// genericTopic is the subject tail of generic signal events: signals.<code>.
const genericTopic = "signals."

// topic returns the subject tail and latest-state key tail of ev (whose
// signal is s): the signal, or signals.<code> for a generic signal event.
func topic(ev Event, s Signal) (string, error) {
	if s != SignalGeneric {
		return string(s), validateSignal(s)
	}
	code, err := ev.Code()
	if err != nil {
		return "", err
	}
	return genericTopic + code, nil
}

// Subject returns the subject of the events of vehicleID and signal s:
// <prefix>.vehicles.<vehicle_id>.<signal>. Generic signal events have a
// subject per code: see GenericSubject.
func Subject(prefix, vehicleID string, s Signal) (string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return "", err
	}
	if err := ValidateVehicleID(vehicleID); err != nil {
		return "", err
	}
	if err := validateTopicSignal(s); err != nil {
		return "", err
	}
	return prefix + ".vehicles." + vehicleID + "." + string(s), nil
}

// GenericSubject returns the subject of vehicleID's generic signal events
// (SignalGeneric) of the API v3 signal code:
// <prefix>.vehicles.<vehicle_id>.signals.<code>.
func GenericSubject(prefix, vehicleID, code string) (string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return "", err
	}
	if err := ValidateVehicleID(vehicleID); err != nil {
		return "", err
	}
	if err := ValidateCode(code); err != nil {
		return "", err
	}
	return prefix + ".vehicles." + vehicleID + "." + genericTopic + code, nil
}

// SubjectFilter is like Subject, for subscribing (e.g. tail) to one vehicle,
// one signal or all: an empty vehicleID becomes the wildcard "*", an empty
// signal matches every event of the vehicles (generic signal events
// included), and SignalGeneric every generic signal event.
func SubjectFilter(prefix, vehicleID string, s Signal) (string, error) {
	v, err := vehicleFilter(prefix, vehicleID)
	if err != nil {
		return "", err
	}
	switch s {
	case "":
		return v + ">", nil
	case SignalGeneric:
		return v + genericTopic + "*", nil
	}
	if err := validateSignal(s); err != nil {
		return "", err
	}
	return v + string(s), nil
}

// GenericSubjectFilter is GenericSubject for subscribing: an empty
// vehicleID becomes the wildcard "*".
func GenericSubjectFilter(prefix, vehicleID, code string) (string, error) {
	v, err := vehicleFilter(prefix, vehicleID)
	if err != nil {
		return "", err
	}
	if err := ValidateCode(code); err != nil {
		return "", err
	}
	return v + genericTopic + code, nil
}

// vehicleFilter returns "<prefix>.vehicles.<vehicle_id or *>.".
func vehicleFilter(prefix, vehicleID string) (string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return "", err
	}
	v := "*"
	if vehicleID != "" {
		if err := ValidateVehicleID(vehicleID); err != nil {
			return "", err
		}
		v = vehicleID
	}
	return prefix + ".vehicles." + v + ".", nil
}

// ParseSubject splits an event subject made by Subject or GenericSubject
// into its vehicle id and signal; code is the API v3 signal code of a
// generic signal event's subject, else empty.
func ParseSubject(prefix, subject string) (vehicleID string, s Signal, code string, err error) {
	rest, ok := strings.CutPrefix(subject, prefix+".vehicles.")
	if !ok {
		return "", "", "", fmt.Errorf("subject %q: not under %s.vehicles: %w", subject, prefix, ErrInvalidName)
	}
	v, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return "", "", "", fmt.Errorf("subject %q: no signal token: %w", subject, ErrInvalidName)
	}
	if err := ValidateVehicleID(v); err != nil {
		return "", "", "", fmt.Errorf("subject %q: %w", subject, err)
	}
	if code, ok := strings.CutPrefix(sig, genericTopic); ok {
		if err := ValidateCode(code); err != nil {
			return "", "", "", fmt.Errorf("subject %q: %w", subject, err)
		}
		return v, SignalGeneric, code, nil
	}
	if err := validateTopicSignal(Signal(sig)); err != nil {
		return "", "", "", fmt.Errorf("subject %q: %w", subject, err)
	}
	return v, Signal(sig), "", nil
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
// Generic signal events have a key per code: see GenericLatestKey.
func LatestKey(vehicleID string, s Signal) (string, error) {
	if err := ValidateVehicleID(vehicleID); err != nil {
		return "", err
	}
	if err := validateTopicSignal(s); err != nil {
		return "", err
	}
	return vehicleID + "." + string(s), nil
}

// GenericLatestKey returns the KV key of vehicleID's latest generic signal
// event of code: <vehicle_id>.signals.<code>.
func GenericLatestKey(vehicleID, code string) (string, error) {
	if err := ValidateVehicleID(vehicleID); err != nil {
		return "", err
	}
	if err := ValidateCode(code); err != nil {
		return "", err
	}
	return vehicleID + "." + genericTopic + code, nil
}
