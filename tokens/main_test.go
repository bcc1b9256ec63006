package tokens_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves goroutines behind (watchers,
// refreshes in flight, server connections).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
