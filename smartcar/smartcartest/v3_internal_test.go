package smartcartest

import "testing"

func TestNormalizePath_v3(t *testing.T) {
	tests := map[string]string{
		"/v3/vehicles/abc/signals":                           "/v3/signals",
		"/v3/vehicles/abc/signals/":                          "/v3/signals",
		"/v3/vehicles/abc/signals/odometer-traveleddistance": "/v3/signals/odometer-traveleddistance",
		"/v3/vehicles/abc/commands/security/lock":            "/v3/commands/security/lock",
		"/v3/vehicles/abc":                                   "/v3/",
		"/v3/vehicles/abc/":                                  "/v3/",
		"/v3/signals":                                        "/v3/signals",
		"/v3/connections":                                    "/v3/connections",
		"/oauth2/token":                                      "/oauth2/token",
	}
	for in, want := range tests {
		if got := normalizePath(in); got != want {
			t.Errorf("normalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSignalDefs: every signal has a name, a group, a known scope and a
// body for every powertrain that has it.
func TestSignalDefs(t *testing.T) {
	s := newServer(WithVehicles(3))
	known := map[string]bool{}
	for _, sc := range AllScopes {
		known[sc] = true
	}
	for _, d := range signalDefs {
		if d.name == "" || d.group == "" || !known[d.scope] || d.body == nil {
			t.Errorf("%s: %+v", d.code, d)
		}
	}
	for _, v := range s.order {
		for _, sg := range s.buildSignals(v, s.clock(), signalDefs, nil) {
			if (sg.err == nil) != v.capable(sg.def.kinds) || (sg.err == nil) == (sg.body == nil) {
				t.Errorf("%s %s: body %v, err %v", v.Kind, sg.def.code, sg.body, sg.err)
			}
		}
	}
}
