package adaptive_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/smartcar-poller/smartcar-poller/adaptive"
)

func TestConfig_Validate(t *testing.T) {
	if err := adaptive.DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	tests := []struct {
		name string
		edit func(*adaptive.Config)
		want string
	}{
		{"no calls", func(c *adaptive.Config) { c.Budget.CallsPerMonth = 0 }, "calls_per_vehicle_per_month"},
		{"reserve 100%", func(c *adaptive.Config) { c.Budget.Reserve = 1 }, "reserve"},
		{"negative reserve", func(c *adaptive.Config) { c.Budget.Reserve = -0.1 }, "reserve"},
		{"reserve leaves no poll", func(c *adaptive.Config) { c.Budget.CallsPerMonth, c.Budget.Reserve = 1, 0.5 }, "leaves no poll"},
		{"floor under a second", func(c *adaptive.Config) { c.Intervals.Asleep = 500 * time.Millisecond }, "asleep"},
		{"floor missing", func(c *adaptive.Config) { c.Intervals.PluggedIn = 0 }, "plugged_in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := adaptive.DefaultConfig()
			tt.edit(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate = %v, want an error about %q", err, tt.want)
			}
			if _, err := adaptive.New(c); err == nil {
				t.Error("New accepted it")
			}
		})
	}
	c := adaptive.DefaultConfig()
	c.Intervals = adaptive.Intervals{Driving: time.Second, Charging: time.Second, PluggedIn: time.Second,
		Parked: time.Second, Asleep: time.Second}
	if err := c.Validate(); err != nil {
		t.Errorf("floors of 1s: %v", err)
	}
}

// TestVehicle_MarshalBinary: the record survives its binary form, which is
// small enough for a registry of a million vehicles.
func TestVehicle_MarshalBinary(t *testing.T) {
	if adaptive.EncodedSize > 256 {
		t.Errorf("EncodedSize = %d bytes, want at most 256", adaptive.EncodedSize)
	}
	// A vehicle with a history: a few weeks of a commuter's polls.
	p := newPolicy(t, fastConfig(500))
	v := &adaptive.Vehicle{}
	polls := drive(p, v, commuter(0), t0, t0.Add(21*24*time.Hour))
	if len(polls) < 200 {
		t.Fatalf("only %d polls in three weeks", len(polls))
	}
	b, err := v.MarshalBinary()
	if err != nil || len(b) != adaptive.EncodedSize {
		t.Fatalf("MarshalBinary: %d bytes, %v; want %d", len(b), err, adaptive.EncodedSize)
	}
	var got adaptive.Vehicle
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(*v, got, cmpopts.EquateEmpty(), cmp.AllowUnexported(adaptive.Vehicle{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// The decoded record decides as the original does.
	now := t0.Add(21*24*time.Hour + 5*time.Minute)
	if a, b := p.Next(v, now), p.Next(&got, now); !a.Equal(b) {
		t.Errorf("Next: %v from the record, %v from its copy", a, b)
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], append([]byte{99}, b[1:]...)} {
		if err := got.UnmarshalBinary(bad); !errors.Is(err, adaptive.ErrEncoding) {
			t.Errorf("UnmarshalBinary(%d bytes) = %v, want ErrEncoding", len(bad), err)
		}
	}
}
