package smartcartest

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// call is one request being answered.
type call struct {
	s        *Server
	w        http.ResponseWriter
	r        *http.Request
	now      time.Time // server clock at arrival
	start    time.Time // real time at arrival, for Duration
	reqID    string
	rec      Request
	units    units
	dropped  bool
	recorded bool // finish has run
}

// Shared header values; net/http does not modify them.
var (
	hdrJSON     = []string{"application/json"}
	hdrMetric   = []string{"metric"}
	hdrImperial = []string{"imperial"}
)

const timeLayout = "2006-01-02T15:04:05.000Z"

// json answers with status and a JSON body.
func (c *call) json(status int, body []byte) {
	h := c.w.Header()
	h["Content-Type"] = hdrJSON
	h["Sc-Request-Id"] = []string{c.reqID}
	c.rec.Status = status
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

// value answers 200 with v encoded as JSON.
func (c *call) value(v any) {
	body, err := json.Marshal(v)
	if err != nil {
		c.fail(newError("SERVER", "INTERNAL"))
		return
	}
	c.json(http.StatusOK, body)
}

// fail answers with a v2.0 error body.
func (c *call) fail(e *apiError) {
	if e.RetryAfter > 0 {
		c.w.Header()["Retry-After"] = []string{strconv.Itoa(e.RetryAfter)}
	}
	c.rec.Outcome = e.outcome()
	c.json(e.Status, e.body(c.reqID))
}

// oauthError answers with an OAuth error body.
func (c *call) oauthError(status int, code, description string) {
	body, _ := json.Marshal(map[string]string{"error": code, "error_description": description})
	c.rec.Outcome = code
	c.json(status, body)
}

// sleep waits d, or less when the client gives up or the server closes; it
// reports whether the request should go on.
func (c *call) sleep(d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.r.Context().Done():
		c.rec.Outcome = "client gone"
		c.dropped = true
		return false
	case <-c.s.done:
		c.drop()
		return false
	}
}

// dataHeaders sets the unit system and, for vehicle data, its age.
func (c *call) dataHeaders(v *vehicle, data bool) {
	h := c.w.Header()
	if c.units == imperial {
		h["Sc-Unit-System"] = hdrImperial
	} else {
		h["Sc-Unit-System"] = hdrMetric
	}
	if data {
		h["Sc-Data-Age"] = []string{c.now.Add(-v.lag).UTC().Format(timeLayout)}
		h["Sc-Fetched-At"] = []string{c.now.UTC().Format(timeLayout)}
	}
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// readJSON decodes a JSON request body (at most 1 MiB) into v.
func readJSON(r *http.Request, v any) *apiError {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		e := newError("VALIDATION", "")
		e.Detail = []errorDetail{{Field: []string{"body"}, Message: "body must be valid JSON"}}
		return e
	}
	return nil
}
