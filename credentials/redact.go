package credentials

import (
	"strings"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// sanitize returns err without text that could carry a token: Smartcar's
// OAuth error_description echoes the refresh token ("Invalid refresh_token:
// X."), so a *smartcar.Error loses its free-text fields, and any error whose
// text still contains one of secrets is replaced by a fixed message.
func sanitize(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	if se, ok := smartcar.AsError(err); ok {
		c := *se
		c.Description, c.SuggestedUserMessage, c.Detail = "", "", nil
		err = &c
	}
	msg := err.Error()
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			return redactedError{}
		}
	}
	return err
}

// redactedError stands for an error whose text contained a token.
type redactedError struct{}

func (redactedError) Error() string { return "error text withheld: it contained a token" }
