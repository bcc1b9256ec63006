package natsname_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/internal/natsname"
)

func TestCheckPrefix(t *testing.T) {
	for _, tt := range []struct {
		name, prefix string
		ok           bool
	}{
		{"default", "smartcar", true},
		{"all allowed characters", "az_AZ-09", true},
		{"one character", "x", true},
		{"leading dash and underscore", "-_", true},
		{"at the limit", strings.Repeat("a", natsname.MaxLen), true},
		{"empty", "", false},
		{"over the limit", strings.Repeat("a", natsname.MaxLen+1), false},
		{"dot", "smart.car", false},
		{"trailing dot", "smartcar.", false},
		{"space", "smart car", false},
		{"tab", "smart\tcar", false},
		{"newline", "smartcar\n", false},
		{"star", "*", false},
		{"star inside", "smart*car", false},
		{"greater than", ">", false},
		{"greater than inside", "smart>", false},
		{"slash", "smart/car", false},
		{"colon", "smart:car", false},
		{"equals", "smart=car", false},
		{"unicode letter", "smärtcar", false},
		{"unicode digit", "car٣", false},
		{"NUL byte", "car\x00", false},
		{"invalid UTF-8", "car\xff", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := natsname.Valid(tt.prefix); got != tt.ok {
				t.Errorf("Valid(%q) = %v, want %v", tt.prefix, got, tt.ok)
			}
			err := natsname.CheckPrefix(tt.prefix)
			if tt.ok {
				if err != nil {
					t.Errorf("CheckPrefix(%q) = %v, want nil", tt.prefix, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckPrefix(%q) = nil, want an error", tt.prefix)
			}
			// The message names the prefix (quoted, so that control
			// characters show) and the rule.
			for _, want := range []string{"prefix " + strconv.Quote(tt.prefix), fmt.Sprintf("1-%d characters of [A-Za-z0-9_-]", natsname.MaxLen)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("CheckPrefix(%q) = %q, want it to contain %q", tt.prefix, err, want)
				}
			}
		})
	}
}
