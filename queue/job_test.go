package queue_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/queue"
)

func TestJobID(t *testing.T) {
	tick := time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	tests := []struct {
		schedule, vehicle string
		tick              time.Time
		want              string
	}{
		{"default", "a1b2", tick, "default/a1b2/1772368200"},
		{"fast", "v-1", tick.In(time.FixedZone("X", 3600)), "fast/v-1/1772368200"},
		{"fast", "v-1", tick.Add(999 * time.Millisecond), "fast/v-1/1772368200"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := queue.JobID(tt.schedule, tt.vehicle, tt.tick); got != tt.want {
				t.Errorf("JobID() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNames(t *testing.T) {
	tests := []struct{ prefix, stream, consumer, subject string }{
		{"smartcar", "SMARTCAR_JOBS", "SMARTCAR_WORKERS", "smartcar.jobs.v1"},
		{"my-app_2", "MY_APP_2_JOBS", "MY_APP_2_WORKERS", "my-app_2.jobs.v1"},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			if got := queue.StreamName(tt.prefix); got != tt.stream {
				t.Errorf("StreamName() = %q, want %q", got, tt.stream)
			}
			if got := queue.ConsumerName(tt.prefix); got != tt.consumer {
				t.Errorf("ConsumerName() = %q, want %q", got, tt.consumer)
			}
			if got := queue.Subject(tt.prefix, "v1"); got != tt.subject {
				t.Errorf("Subject() = %q, want %q", got, tt.subject)
			}
		})
	}
}

func TestDefaultBackoff(t *testing.T) {
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{0, 5 * time.Second, 6250 * time.Millisecond},
		{1, 5 * time.Second, 6250 * time.Millisecond},
		{2, 7500 * time.Millisecond, 12500 * time.Millisecond},
		{4, 30 * time.Second, 50 * time.Second},
		{8, 450 * time.Second, 600 * time.Second},
		{9, 450 * time.Second, 600 * time.Second},
		{1000, 450 * time.Second, 600 * time.Second},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.attempt), func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				got := queue.DefaultBackoff(tt.attempt)
				if got < tt.min || got > tt.max {
					t.Fatalf("DefaultBackoff(%d) = %s, want in [%s, %s]", tt.attempt, got, tt.min, tt.max)
				}
				seen[got] = true
			}
			if len(seen) < 10 {
				t.Errorf("DefaultBackoff(%d) gave %d distinct values in 200 calls, want jitter", tt.attempt, len(seen))
			}
		})
	}
}

func TestSnoozeDrop(t *testing.T) {
	cause := errors.New("rate limited")
	tests := []struct {
		name      string
		err       error
		wantDelay time.Duration
		snooze    bool
		drop      bool
	}{
		{"snooze", queue.Snooze(3*time.Second, cause), 3 * time.Second, true, false},
		{"wrapped snooze", fmt.Errorf("batch: %w", queue.Snooze(time.Minute, cause)), time.Minute, true, false},
		{"negative snooze", queue.Snooze(-time.Second, nil), 0, true, false},
		{"drop", queue.Drop(cause), 0, false, true},
		{"wrapped drop", fmt.Errorf("batch: %w", queue.Drop(cause)), 0, false, true},
		{"plain", cause, 0, false, false},
		{"nil", nil, 0, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := queue.SnoozeDelay(tt.err)
			if ok != tt.snooze || d != tt.wantDelay {
				t.Errorf("SnoozeDelay() = %s, %v, want %s, %v", d, ok, tt.wantDelay, tt.snooze)
			}
			if got := queue.IsDrop(tt.err); got != tt.drop {
				t.Errorf("IsDrop() = %v, want %v", got, tt.drop)
			}
			if tt.err != nil && tt.name != "negative snooze" && !errors.Is(tt.err, cause) {
				t.Errorf("errors.Is(%v, cause) = false, want the cause kept", tt.err)
			}
		})
	}
}

func TestNew_invalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  queue.Config
		want string
	}{
		{"prefix with dot", queue.Config{Prefix: "a.b"}, "prefix"},
		{"prefix with space", queue.Config{Prefix: "a b"}, "prefix"},
		{"prefix with wildcard", queue.Config{Prefix: "a>"}, "prefix"},
		{"prefix too long", queue.Config{Prefix: strings.Repeat("p", 129)}, "prefix"},
		{"short ack wait", queue.Config{AckWait: time.Millisecond}, "ack wait"},
		{"negative replicas", queue.Config{Replicas: -1}, "replicas"},
		{"negative max pending", queue.Config{MaxPending: -1}, "max pending"},
		{"short fetch wait", queue.Config{FetchWait: time.Millisecond}, "fetch wait"},
		{"negative grace", queue.Config{ShutdownGrace: -time.Second}, "shutdown grace"},
		{"negative max panics", queue.Config{MaxPanics: -1}, "max panics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The config is checked before the server is used, so nil is fine.
			_, err := queue.New(t.Context(), nil, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() error = %v, want one naming %q", err, tt.want)
			}
		})
	}
}
