package smartcar

import (
	"log/slog"
	"time"
)

// RefreshTokenLifetime is how long Smartcar keeps a refresh token valid after
// it was issued. Smartcar does not send it; like every official SDK we assume it.
const RefreshTokenLifetime = 60 * 24 * time.Hour

// Access is the result of a code or refresh-token exchange. Its JSON form uses
// the field names of Smartcar's official SDKs. Keep it out of logs: its
// LogValue and String methods redact the tokens.
type Access struct {
	AccessToken       string    `json:"access_token"`
	TokenType         string    `json:"token_type"`
	ExpiresIn         int       `json:"expires_in"`
	Expiration        time.Time `json:"expiration"`
	RefreshToken      string    `json:"refresh_token"`
	RefreshExpiration time.Time `json:"refresh_expiration"`
}

// AccessExpired reports whether the access token has expired at now.
func (a *Access) AccessExpired(now time.Time) bool { return !now.Before(a.Expiration) }

// RefreshExpired reports whether the refresh token has expired at now.
func (a *Access) RefreshExpired(now time.Time) bool { return !now.Before(a.RefreshExpiration) }

// String never shows the tokens.
func (a *Access) String() string {
	return "smartcar.Access{access_token:REDACTED refresh_token:REDACTED expiration:" +
		a.Expiration.UTC().Format(time.RFC3339) + "}"
}

// LogValue makes slog print the access without its tokens.
func (a *Access) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_token", "REDACTED"),
		slog.String("refresh_token", "REDACTED"),
		slog.Time("expiration", a.Expiration),
	)
}
