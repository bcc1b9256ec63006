package smartcar

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
)

// batchHeaders decodes a batch item's "headers" object ({"sc-unit-system":
// "metric", "retry-after": 999}) into an http.Header with canonical keys.
// Values may be strings or numbers.
type batchHeaders struct{ h http.Header }

// UnmarshalJSON scans the flat object directly, with one string for all the
// values; anything unusual (escapes, nested values) takes the generic path.
func (bh *batchHeaders) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		bh.h = nil
		return nil
	}
	if h, ok := scanFlatObject(string(b)); ok {
		bh.h = h
		return nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	h := make(http.Header, len(m))
	for k, raw := range m {
		var s string
		switch {
		case string(raw) == "null":
			continue
		case len(raw) > 0 && raw[0] == '"':
			if err := json.Unmarshal(raw, &s); err != nil {
				return err
			}
		default:
			s = string(raw)
		}
		h[canonicalKey(k)] = []string{s}
	}
	bh.h = h
	return nil
}

// scanFlatObject parses {"k":"v","k2":123,...} where no key or value has an
// escape and no value is an object or array. Values are substrings of s.
func scanFlatObject(s string) (http.Header, bool) {
	i := skipSpace(s, 0)
	if i >= len(s) || s[i] != '{' {
		return nil, false
	}
	n := strings.Count(s, ":") // an upper bound on the number of entries
	h := make(http.Header, min(n, 8))
	vals := make([]string, n)
	j := 0
	i = skipSpace(s, i+1)
	if i < len(s) && s[i] == '}' {
		return h, true
	}
	for i < len(s) {
		key, next, ok := scanString(s, i)
		if !ok {
			return nil, false
		}
		i = skipSpace(s, next)
		if i >= len(s) || s[i] != ':' {
			return nil, false
		}
		i = skipSpace(s, i+1)
		if i >= len(s) {
			return nil, false
		}
		var val string
		switch c := s[i]; {
		case c == '"':
			if val, i, ok = scanString(s, i); !ok {
				return nil, false
			}
		case c == '{' || c == '[':
			return nil, false
		default: // number, true, false or null (the JSON is already valid)
			end := i
			for end < len(s) && !strings.ContainsRune(",} \t\r\n", rune(s[end])) {
				end++
			}
			val, i = s[i:end], end
		}
		if val != "null" || s[i-1] == '"' {
			vals[j] = val
			h[canonicalKey(key)] = vals[j : j+1 : j+1]
			j++
		}
		i = skipSpace(s, i)
		if i >= len(s) {
			return nil, false
		}
		switch s[i] {
		case ',':
			i = skipSpace(s, i+1)
		case '}':
			return h, true
		default:
			return nil, false
		}
	}
	return nil, false
}

// scanString reads the JSON string starting at s[i] == '"'; it gives up on
// escapes. It returns the contents and the index after the closing quote.
func scanString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", i, false
	}
	for k := i + 1; k < len(s); k++ {
		switch s[k] {
		case '"':
			return s[i+1 : k], k + 1, true
		case '\\':
			return "", i, false
		}
	}
	return "", i, false
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// canonicalKey canonicalises a header name, without allocating for the
// headers Smartcar sends.
func canonicalKey(k string) string {
	switch k {
	case "sc-unit-system":
		return "Sc-Unit-System"
	case "sc-data-age":
		return "Sc-Data-Age"
	case "sc-fetched-at":
		return "Sc-Fetched-At"
	case "sc-request-id":
		return "Sc-Request-Id"
	case "retry-after":
		return "Retry-After"
	case "content-type":
		return "Content-Type"
	}
	return http.CanonicalHeaderKey(k)
}
