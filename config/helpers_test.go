package config_test

import (
	"errors"
	"testing"
	_ "time/tzdata" // CRON_TZ cases pass without the system zone database

	"github.com/smartcar-poller/smartcar-poller/config"
)

// Credentials that the tests' environment provides unless a case says otherwise.
const (
	testClientID     = "test-client-id"
	testClientSecret = "test-client-secret-0f9a"
)

// env returns a lookup function over key, value pairs.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// credsEnv is env with the SMARTCAR_CLIENT_* variables set.
func credsEnv(kv ...string) func(string) (string, bool) {
	return env(append([]string{"SMARTCAR_CLIENT_ID", testClientID, "SMARTCAR_CLIENT_SECRET", testClientSecret}, kv...)...)
}

// problems returns err's problems as strings, failing unless err is
// config.Errors whose every entry names file.
func problems(t *testing.T, err error, file string) []string {
	t.Helper()
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %v (%T) is not config.Errors", err, err)
	}
	out := make([]string, len(errs))
	for i, e := range errs {
		if e.File != file || e.Line < 1 {
			t.Errorf("problem %q: file %q line %d, want file %q and a line", e, e.File, e.Line, file)
		}
		out[i] = e.Error()
	}
	return out
}
