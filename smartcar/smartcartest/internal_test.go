package smartcartest

import (
	"cmp"
	"math"
	"slices"
	"testing"
	"time"
)

// TestSign checks the webhook signature, the hex HMAC-SHA256 of the body keyed
// with the management token (https://smartcar.com/docs/integrations/webhooks/payload-verification),
// against known digests.
func TestSign(t *testing.T) {
	tests := []struct{ key, msg, want string }{
		{"amt", "challenge", "9baf5a7464bd86740ad5a06e439dcf535a075022ed2c92d74efacf646d79328e"},
		{"amt", `{"pizza":"pasta"}`, "4c05a8da471f05156ad717baa4017acd13a3a809850b9ca7d3301dcaaa854f70"},
	}
	for _, tt := range tests {
		t.Run(tt.msg, func(t *testing.T) {
			if got := sign(tt.key, []byte(tt.msg)); got != tt.want {
				t.Errorf("sign(%q, %q) = %s, want %s", tt.key, tt.msg, got, tt.want)
			}
		})
	}
}

func TestNormalizePath(t *testing.T) {
	tests := map[string]string{
		"":                               "",
		"/odometer":                      "/odometer",
		"odometer":                       "/odometer",
		"/odometer/":                     "/odometer",
		"/v2.0/vehicles/abc/odometer":    "/odometer",
		"/vehicles/abc/battery/capacity": "/battery/capacity",
		"/vehicles/abc":                  "/",
		"/":                              "/",
		"/oauth/token":                   "/oauth/token",
		"/v2.0/user":                     "/user",
	}
	for in, want := range tests {
		if got := normalizePath(in); got != want {
			t.Errorf("normalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBucket(t *testing.T) {
	c := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var b bucket
	b.init(2, 0.5, c)
	var got []bool
	for range 3 {
		ok, _ := b.take(c)
		got = append(got, ok)
	}
	if got[0] != true || got[1] != true || got[2] != false {
		t.Errorf("takes = %v, want true true false", got)
	}
	if ok, wait := b.take(c); ok || math.Abs(wait.Seconds()-2) > 1e-9 {
		t.Errorf("empty bucket: ok %v wait %v, want false 2s", ok, wait)
	}
	var off bucket
	off.init(0, 0, c)
	for range 100 {
		if ok, _ := off.take(c); !ok {
			t.Fatal("a switched-off bucket refused")
		}
	}
}

// TestTimeline: the phases of a month of lives are contiguous and in order,
// every phase ends with its event at its end, and the journal is in order.
func TestTimeline(t *testing.T) {
	start := float64(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).Unix())
	for i, kind := range []Kind{BEV, ICE, PHEV, BEV, ICE, PHEV, BEV} {
		v := newVehicle(7, i, kind, "u", start)
		v.extend(start + 30*secondsInDay)
		ph := v.tl.phases
		for j := 1; j < len(ph); j++ {
			if ph[j].t != ph[j-1].end || ph[j].t < ph[j-1].t {
				t.Fatalf("%s %s: phase %d starts at %v, the one before ends at %v", kind, v.Persona, j, ph[j].t, ph[j-1].end)
			}
			if got := ph[j-1].at(ph[j].t); math.Abs(got.dist-ph[j].dist) > 1e-6 || (ph[j-1].ev != evFull && math.Abs(got.soc-ph[j].soc) > 1e-6) {
				t.Fatalf("%s %s: phase %d jumps: %+v → %+v", kind, v.Persona, j, got, ph[j])
			}
		}
		j := v.tl.journal
		if !slices.IsSortedFunc(j, func(a, b change) int { return cmp.Compare(a.t, b.t) }) || len(j) < 100 {
			t.Errorf("%s %s: %d journal entries, sorted %v", kind, v.Persona, len(j),
				slices.IsSortedFunc(j, func(a, b change) int { return cmp.Compare(a.t, b.t) }))
		}
	}
}
