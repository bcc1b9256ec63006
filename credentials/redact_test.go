package credentials

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

func TestSanitize(t *testing.T) {
	const secret = "3e565aed-d4b2-4296-9b4c-aec35825a6aa"
	oauth := &smartcar.Error{Type: smartcar.TypeOAuth, Code: "invalid_grant", StatusCode: 400,
		Description: "Invalid refresh_token: " + secret + ".", RequestID: "req-1"}
	tests := []struct {
		name     string
		err      error
		wantText string
		wantIs   error
		wantCode string // of the *smartcar.Error still inside, "" if none
	}{
		{"oauth_description_dropped", fmt.Errorf("token: %w", oauth), "OAUTH:invalid_grant (HTTP 400) request_id=req-1", nil, "invalid_grant"},
		{"plain_error_with_token", fmt.Errorf("post refresh_token=%s: %w", secret, io.EOF), redactedError{}.Error(), nil, ""},
		{"plain_error_kept", fmt.Errorf("post: %w", io.ErrUnexpectedEOF), "post: unexpected EOF", io.ErrUnexpectedEOF, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sanitize(tt.err, secret)
			if got.Error() != tt.wantText {
				t.Errorf("text = %q, want %q", got.Error(), tt.wantText)
			}
			if tt.wantIs != nil && !errors.Is(got, tt.wantIs) {
				t.Errorf("errors.Is(%v) = false", tt.wantIs)
			}
			var gotCode string
			if se, ok := smartcar.AsError(got); ok {
				gotCode = se.Code
			}
			if gotCode != tt.wantCode {
				t.Errorf("code of the *smartcar.Error inside = %q, want %q", gotCode, tt.wantCode)
			}
		})
	}
	if oauth.Description == "" {
		t.Error("sanitize modified the caller's error")
	}
}

func TestGrant_LogValue(t *testing.T) {
	var buf bytes.Buffer
	g := Grant{ID: "user-1", Version: 3, Access: smartcar.Access{AccessToken: "at-secret", RefreshToken: "rt-secret"}}
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "grant", g)
	if out := buf.String(); strings.Contains(out, "secret") || !strings.Contains(out, "user-1") {
		t.Errorf("logged grant = %s; want the id and no token", out)
	}
}
