package smartcartest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

type batchRequest struct {
	Requests []struct {
		Path string `json:"path"`
	} `json:"requests"`
}

// batchOuter picks the faults that hit a batch call as a whole: those set on
// "/batch", and wildcard faults other than plain errors (a wildcard error
// reaches every item instead).
func batchOuter(r *faultRule) bool { return r.path == "/batch" || !r.f.errorOnly() }

// batchItemFault picks the faults that hit one item.
func batchItemFault(r *faultRule) bool { return r.path != "" || r.f.errorOnly() }

// handleBatch is POST /vehicles/{id}/batch (https://smartcar.com/docs/api-reference/batch): HTTP 200
// with one result per item. The call counts once against the app bucket and
// the vehicle throttle; every item is billed.
func (s *Server) handleBatch(c *call, g *grant, v *vehicle) {
	var req batchRequest
	if err := readJSON(c.r, &req); err != nil {
		c.fail(err)
		return
	}
	if req.Requests == nil {
		e := newError("VALIDATION", "")
		e.Detail = []errorDetail{{Field: []string{"requests"}, Message: `"requests" is required`}}
		c.fail(e)
		return
	}
	u, ok := parseUnits(c.r.Header.Get("Sc-Unit-System"))
	if !ok {
		c.fail(validationError("sc-unit-system", "SC-Unit-System must be metric or imperial"))
		return
	}
	c.units = u
	if !s.admitVehicle(c, v, false) {
		return
	}
	if f, ok := s.faults.match(v.ID, "/batch", batchOuter); ok && s.applyFault(c, v.ID, f) {
		return
	}
	st := v.read(s.simSeconds(c.now))
	rd := reading{s: s, v: v, st: &st, u: u, now: c.now}
	unitsName := "metric"
	if u == imperial {
		unitsName = "imperial"
	}
	dataAge := c.now.Add(-v.lag).UTC().Format(timeLayout)
	fetched := c.now.UTC().Format(timeLayout)

	out := make([]byte, 0, 128+160*len(req.Requests))
	out = append(out, `{"responses":[`...)
	c.rec.Items = make([]ItemRecord, 0, len(req.Requests))
	for i, it := range req.Requests {
		path := it.Path
		if len(path) > 1 {
			path = strings.TrimSuffix(path, "/")
		}
		res := s.batchItem(c, g, v, &rd, path)
		if c.dropped {
			return
		}
		c.rec.Items = append(c.rec.Items, ItemRecord{Path: path, Status: res.code, Outcome: res.outcome})
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, `{"path":`...)
		out = strconv.AppendQuote(out, it.Path)
		out = append(out, `,"code":`...)
		out = strconv.AppendInt(out, int64(res.code), 10)
		out = append(out, `,"headers":{`...)
		switch {
		case res.code == http.StatusOK:
			out = append(out, `"sc-unit-system":"`...)
			out = append(out, unitsName...)
			out = append(out, '"')
			if res.data {
				out = append(out, `,"sc-data-age":"`...)
				out = append(out, dataAge...)
				out = append(out, `","sc-fetched-at":"`...)
				out = append(out, fetched...)
				out = append(out, '"')
			}
		case res.retryAfter > 0:
			out = append(out, `"retry-after":`...)
			out = strconv.AppendInt(out, int64(res.retryAfter), 10)
		}
		out = append(out, `},"body":`...)
		out = append(out, res.body...)
		out = append(out, '}')
	}
	out = append(out, "]}"...)
	c.w.Header()["Sc-Unit-System"] = []string{unitsName}
	c.json(http.StatusOK, out)
}

// itemResult is the answer to one batch item.
type itemResult struct {
	code       int
	retryAfter int // seconds; 0 = no retry-after header
	body       []byte
	data       bool // carries data-age headers
	outcome    string
}

func errorItem(c *call, e *apiError, outcome string) itemResult {
	return itemResult{code: e.Status, retryAfter: e.RetryAfter, body: e.body(c.reqID), outcome: outcome + e.outcome()}
}

// batchItem answers one item.
func (s *Server) batchItem(c *call, g *grant, v *vehicle, rd *reading, path string) itemResult {
	ep := endpoints[path]
	switch {
	case ep == nil:
		return errorItem(c, newError("RESOURCE_NOT_FOUND", "PATH"), "")
	case !g.scopes[ep.scope]:
		return errorItem(c, newError("PERMISSION", ""), "")
	case !v.capable(ep.kinds):
		return errorItem(c, newError("COMPATIBILITY", "VEHICLE_NOT_CAPABLE"), "")
	case !s.bill(c, v):
		s.stats.quotaExceeded.Add(1)
		return errorItem(c, newError("BILLING", "VEHICLE_REQUEST_LIMIT"), "")
	}
	if f, ok := s.faults.match(v.ID, path, batchItemFault); ok {
		if !c.sleep(f.Latency) {
			return itemResult{}
		}
		switch {
		case f.Drop || f.Hang:
			s.applyFault(c, v.ID, Fault{Drop: f.Drop, Hang: f.Hang})
			return itemResult{}
		case f.HTML502:
			s.stats.faults.Add(1)
			return itemResult{code: http.StatusBadGateway, body: []byte(strconv.Quote(html502Body)), outcome: "fault:html502"}
		case f.Type != "":
			s.stats.faults.Add(1)
			e := faultError(f)
			if e.RetryAfter > 0 {
				v.lim.hold(c.now, time.Duration(e.RetryAfter)*time.Second)
			}
			return errorItem(c, e, "fault:")
		}
	}
	body, err := ep.render(rd)
	if err != nil {
		return errorItem(c, err, "")
	}
	return itemResult{code: http.StatusOK, body: body, data: ep.data, outcome: "ok"}
}
