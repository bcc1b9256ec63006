package worker

import (
	"encoding/json"
	"testing"
)

// membersReference is what requireKeys did before objectMembers: decode the
// whole object into a map.
func membersReference(b []byte, want []string) ([]bool, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, false
	}
	out := make([]bool, len(want))
	for n, k := range want {
		v, ok := m[k]
		out[n] = ok && string(v) != "null"
	}
	return out, true
}

func TestObjectMembers(t *testing.T) {
	for _, tt := range []struct {
		body string
		ok   bool
		want []bool // for keys a, b
	}{
		{`{"a":1,"b":2}`, true, []bool{true, true}},
		{` { "a" : null , "b" : {"a":[1,"}"]} } `, true, []bool{false, true}},
		{`{"a":1,"a":null}`, true, []bool{false, false}},
		{`{"\u0061":"x\"y","b":[]}`, true, []bool{true, true}},
		{`{"b":false}`, true, []bool{false, true}},
		{`{}`, true, []bool{false, false}},
		{`null`, false, nil},
		{`[{"a":1}]`, false, nil},
		{`"a"`, false, nil},
		{``, false, nil},
	} {
		present := make([]bool, 2)
		ok := objectMembers([]byte(tt.body), []string{"a", "b"}, present)
		if ok != tt.ok {
			t.Errorf("%s: ok = %v, want %v", tt.body, ok, tt.ok)
			continue
		}
		if ok && (present[0] != tt.want[0] || present[1] != tt.want[1]) {
			t.Errorf("%s: present = %v, want %v", tt.body, present, tt.want)
		}
		if ref, rok := membersReference([]byte(tt.body), []string{"a", "b"}); rok != ok || (ok && (ref[0] != present[0] || ref[1] != present[1])) {
			t.Errorf("%s: differs from the map decode: %v %v", tt.body, ref, rok)
		}
	}
}

// FuzzObjectMembers checks objectMembers against decoding into a map, for
// every valid JSON document, on the keys the document has and a few others.
func FuzzObjectMembers(f *testing.F) {
	for _, s := range []string{`{"distance":1}`, `{"a":{"b":[1,2,{"c":"}"}]},"d":null}`, `{"\u0064istance":2,"x":"\\"}`, `[]`, `{"a":1,"a":null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			present := make([]bool, 1)
			_ = objectMembers(b, []string{"a"}, present) // must not panic
			return
		}
		want := []string{"a", "distance", "percentRemaining"}
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) == nil {
			for k := range m {
				// ASCII keys only, as requireKeys asks for: the map decode
				// turns invalid UTF-8 into U+FFFD, the scan keeps the bytes.
				if isASCII(k) && len(want) < 8 {
					want = append(want, k)
				}
			}
		}
		present := make([]bool, len(want))
		ok := objectMembers(b, want, present)
		ref, rok := membersReference(b, want)
		if ok != rok {
			t.Fatalf("%q: ok = %v, map decode says %v", b, ok, rok)
		}
		for n := range want {
			if ok && present[n] != ref[n] {
				t.Fatalf("%q: key %q present = %v, map decode says %v", b, want[n], present[n], ref[n])
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// BenchmarkRequireKeys compares the scan with the map decode it replaced, on
// a /battery body.
func BenchmarkRequireKeys(b *testing.B) {
	body := []byte(`{"percentRemaining":0.5,"range":300.5,"isPluggedIn":true,"extra":{"nested":[1,2,3],"s":"text"}}`)
	want := requiredKeys["/battery"]
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := requireKeys("/battery", body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline_map_decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := membersReference(body, want); !ok {
				b.Fatal("not an object")
			}
		}
	})
}
