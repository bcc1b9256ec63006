package registry

import (
	"fmt"
	"time"
)

// CheckSchedule rejects a schedule name the stores cannot key by: names
// are [A-Za-z0-9_-]+, as the configuration requires. It is for Store
// implementations.
func CheckSchedule(name string) error {
	if name == "" {
		return fmt.Errorf("empty schedule name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("schedule name %q: want [A-Za-z0-9_-]+", name)
		}
	}
	return nil
}

// BillingMonth names the billing month of t, the UTC calendar month, as
// "YYYY-MM". It is for Store implementations.
func BillingMonth(t time.Time) string {
	return t.UTC().Format("2006-01")
}

// PlanTime is the due time a store returns for Unix milliseconds ms: the
// stores keep due times with millisecond precision. It is for Store
// implementations.
func PlanTime(ms int64) time.Time {
	return time.UnixMilli(ms).UTC()
}
