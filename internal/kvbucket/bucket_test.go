package kvbucket_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
)

func TestKey(t *testing.T) {
	for _, tt := range []struct{ in, key string }{
		{"abc-_DEF09", "abc-_DEF09"},
		{"poll:v1", "poll=3Av1"},
		{"a.b c", "a=2Eb=20c"},
		{"ü*", "=C3=BC=2A"},
		{"", ""},
	} {
		if got := kvbucket.Key(tt.in); got != tt.key {
			t.Errorf("Key(%q) = %q, want %q", tt.in, got, tt.key)
		}
		if got, err := kvbucket.Unkey(tt.key); err != nil || got != tt.in {
			t.Errorf("Unkey(%q) = %q, %v; want %q", tt.key, got, err, tt.in)
		}
	}
	for _, bad := range []string{"a=", "a=3", "a=ZZb"} {
		if _, err := kvbucket.Unkey(bad); !errors.Is(err, kvbucket.ErrBadKey) {
			t.Errorf("Unkey(%q) err = %v, want ErrBadKey", bad, err)
		}
	}
}

func TestName(t *testing.T) {
	for _, tt := range []struct{ prefix, want string }{
		{"", "SMARTCAR_GRANTS"},
		{"my-app", "MY_APP_GRANTS"},
	} {
		if got := kvbucket.Name(tt.prefix, "GRANTS"); got != tt.want {
			t.Errorf("Name(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
	for _, p := range []string{"a.b", "a b", "*", ">", strings.Repeat("p", 129)} {
		if kvbucket.CheckPrefix(p) == nil {
			t.Errorf("CheckPrefix(%q) = nil, want an error", p)
		}
	}
	// The empty prefix stands for DefaultPrefix.
	for _, p := range []string{"ok_Prefix-1", "", strings.Repeat("p", 128)} {
		if err := kvbucket.CheckPrefix(p); err != nil {
			t.Errorf("CheckPrefix(%q) = %v", p, err)
		}
	}
}
