package smartcar

import (
	"bytes"
	"encoding/json"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The JSON:API shapes of API v3: resources ({id, type, attributes, meta,
// links}), paged lists ({data, meta: {page, pageSize, totalCount}, links:
// {next, ...}}) and the lenient scalars their fields need.

// pageMeta is the paging block of a v3 list.
type pageMeta struct {
	Page       int `json:"page"`
	PageSize   int `json:"pageSize"`
	TotalCount int `json:"totalCount"`
}

// pageLinks are the links of a v3 list; only next is followed.
type pageLinks struct {
	Next link `json:"next"`
}

// page is one page of a v3 list of resources of type T.
type page[T any] struct {
	Data  []T       `json:"data"`
	Meta  pageMeta  `json:"meta"`
	Links pageLinks `json:"links"`
}

// link is a JSON:API link: a string, an object {"href": ...} or null.
type link string

// UnmarshalJSON accepts a string, {"href": "..."} or null; anything else is
// no link.
func (l *link) UnmarshalJSON(b []byte) error {
	*l = ""
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
	case b[0] == '"':
		var s string
		if json.Unmarshal(b, &s) == nil {
			*l = link(s)
		}
	case b[0] == '{':
		var o struct {
			Href string `json:"href"`
		}
		if json.Unmarshal(b, &o) == nil {
			*l = link(o.Href)
		}
	}
	return nil
}

// flexTime is a timestamp sent as epoch milliseconds, epoch seconds (a
// number below 1e11, which as milliseconds would be before 1973) or an
// RFC 3339 string. Anything else, 0, and a time outside the years 1-9999 are
// the zero time: a malformed timestamp does not fail the response.
type flexTime time.Time

// UnmarshalJSON never fails; see flexTime.
func (t *flexTime) UnmarshalJSON(b []byte) error {
	*t = flexTime(parseFlexTime(bytes.TrimSpace(b)))
	return nil
}

func parseFlexTime(b []byte) time.Time {
	if len(b) == 0 || string(b) == "null" {
		return time.Time{}
	}
	if b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return time.Time{}
		}
		if s != "" && allDigits(s) {
			return epochTime(s)
		}
		return parseTime(s)
	}
	return epochTime(string(b))
}

// epochTime reads epoch milliseconds, or seconds when the number is below 1e11.
func epochTime(s string) time.Time {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f > 253402300799999 { // 9999-12-31T23:59:59.999Z
		return time.Time{}
	}
	if f < 1e11 {
		f *= 1000
	}
	return time.UnixMilli(int64(f)).UTC()
}

// flexInt is an integer sent as a number or as a string ("2019"); anything
// else is 0.
type flexInt int

// UnmarshalJSON never fails; see flexInt.
func (n *flexInt) UnmarshalJSON(b []byte) error {
	*n = 0
	b = bytes.TrimSpace(b)
	if len(b) > 1 && b[0] == '"' {
		var s string
		if json.Unmarshal(b, &s) != nil {
			return nil
		}
		b = []byte(strings.TrimSpace(s))
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err == nil && f == math.Trunc(f) && math.Abs(f) <= math.MaxInt32 {
		*n = flexInt(f)
	}
	return nil
}

// resolveLink turns a link of a v3 response into an absolute URL on origin
// (the API origin, without /v3). A link is absolute, or a path with or
// without the /v3 prefix ("/v3/vehicles/..", "/vehicles/..", "vehicles/.."),
// or a query ("?page=2") on the current URL. An absolute link to another
// origin is refused (ok false), so a token is never sent elsewhere.
func resolveLink(origin, current, l string) (string, bool) {
	l = strings.TrimSpace(l)
	switch {
	case l == "":
		return "", false
	case strings.HasPrefix(l, "?"):
		base, _, _ := strings.Cut(current, "?")
		return base + l, true
	case strings.HasPrefix(l, "//"):
		return "", false
	case strings.HasPrefix(l, "/v3/"):
		return origin + l, true
	case strings.HasPrefix(l, "/"):
		return origin + "/v3" + l, true
	}
	u, err := url.Parse(l)
	if err != nil {
		return "", false
	}
	if !u.IsAbs() {
		return origin + "/v3/" + l, true
	}
	o, err := url.Parse(origin)
	if err != nil || !strings.EqualFold(u.Scheme, o.Scheme) || !strings.EqualFold(u.Host, o.Host) {
		return "", false
	}
	return l, true
}

// encodeBody is a request body as JSON: nil is {} (v3 commands expect an
// object), []byte and json.RawMessage are sent as they are, anything else is
// marshalled. A value that cannot be marshalled is a VALIDATION *Error.
func encodeBody(body any) ([]byte, error) {
	switch b := body.(type) {
	case nil:
		return []byte("{}"), nil
	case []byte:
		return b, nil
	case json.RawMessage:
		return b, nil
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, &Error{Type: TypeValidation, Code: "BODY", Description: "encode request body: " + err.Error(), Err: err}
	}
	return raw, nil
}
