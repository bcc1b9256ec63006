package smartcartest

import (
	"math"
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

func TestRoute(t *testing.T) {
	v := newVehicle(1, 0, BEV, "u", 0)
	r := v.j.route
	length := r.cum[len(r.cum)-1]
	lat0, lon0 := r.at(0)
	lat1, lon1 := r.at(length)
	if math.Abs(lat0-lat1) > 1e-9 || math.Abs(lon0-lon1) > 1e-9 {
		t.Errorf("loop does not close: %v,%v vs %v,%v", lat0, lon0, lat1, lon1)
	}
	// Moving d km along the route moves at most d km (up to the flat-earth error).
	for _, d := range []float64{0.1, 1, 3} {
		for pos := 0.0; pos < length; pos += length / 17 {
			a1, o1 := r.at(pos)
			a2, o2 := r.at(pos + d)
			if got := distanceKm([2]float64{a1, o1}, [2]float64{a2, o2}); got > d*1.001 {
				t.Errorf("at %v, %v km along the route is %v km away", pos, d, got)
			}
		}
	}
}
