package config

import (
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
)

// Redacted is what a Secret prints, logs and marshals as.
const Redacted = "REDACTED"

// Secret is a string that never shows: fmt, slog, YAML and JSON see
// "REDACTED" (or "" when empty). Reveal returns the value.
type Secret string

// Reveal returns the secret itself, for the one call that needs it.
func (s Secret) Reveal() string { return string(s) }

// String returns "REDACTED", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString keeps %#v from printing the secret.
func (s Secret) GoString() string { return `config.Secret("` + s.String() + `")` }

// LogValue logs the secret as REDACTED.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalYAML writes the secret as REDACTED.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON writes the secret as REDACTED.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// redactURLs hides the user information (password, or a token given as the
// user name) of each URL in a comma-separated list.
func redactURLs(list string) string {
	if list == "" {
		return ""
	}
	parts := strings.Split(list, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		switch {
		case err != nil || u.Opaque != "":
			parts[i] = "(invalid URL)"
		case u.User != nil:
			u.User = url.User(Redacted)
			parts[i] = u.String()
		default:
			parts[i] = u.String()
		}
	}
	return strings.Join(parts, ",")
}
