package queue

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"
)

// appendJob appends job's JSON form to buf. It writes the same object as
// encoding/json (without its HTML escaping) several times faster, which
// matters when one tick enqueues 100,000 jobs on a small machine.
func appendJob(buf []byte, j *PollJob) ([]byte, error) {
	if !validUTF8(j) {
		return json.Marshal(j) // encoding/json knows how to replace bad bytes
	}
	buf = append(buf, `{"id":`...)
	buf = appendString(buf, j.ID)
	buf = append(buf, `,"schedule":`...)
	buf = appendString(buf, j.Schedule)
	buf = append(buf, `,"vehicle_id":`...)
	buf = appendString(buf, j.VehicleID)
	buf = append(buf, `,"paths":`...)
	if j.Paths == nil {
		buf = append(buf, "null"...)
	} else {
		buf = append(buf, '[')
		for i, p := range j.Paths {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendString(buf, p)
		}
		buf = append(buf, ']')
	}
	buf = append(buf, `,"tick":`...)
	if y := j.Tick.Year(); y < 0 || y > 9999 {
		return json.Marshal(j) // let encoding/json report the error
	}
	buf = append(buf, '"')
	buf = j.Tick.AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, '"')
	if j.Emit != "" {
		buf = append(buf, `,"emit":`...)
		buf = appendString(buf, j.Emit)
	}
	return append(buf, '}'), nil
}

// jobSize estimates the length of job's JSON form.
func jobSize(j *PollJob) int {
	n := 96 + len(j.ID) + len(j.Schedule) + len(j.VehicleID) + len(j.Emit)
	for _, p := range j.Paths {
		n += len(p) + 3
	}
	return n
}

func validUTF8(j *PollJob) bool {
	ok := utf8.ValidString(j.ID) && utf8.ValidString(j.Schedule) &&
		utf8.ValidString(j.VehicleID) && utf8.ValidString(j.Emit)
	for _, p := range j.Paths {
		ok = ok && utf8.ValidString(p)
	}
	return ok
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string; s must be valid UTF-8.
func appendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// parseJob reads a job body written by appendJob: the fields in its order,
// no white space, strings without escapes. It reports false for anything
// else, and the caller falls back to encoding/json.
func parseJob(data []byte, j *PollJob) bool {
	if !utf8.Valid(data) {
		return false // encoding/json replaces bad bytes
	}
	p := jobParser{data: data}
	if !p.lit(`{"id":`) || !p.str(&j.ID) ||
		!p.lit(`,"schedule":`) || !p.str(&j.Schedule) ||
		!p.lit(`,"vehicle_id":`) || !p.str(&j.VehicleID) ||
		!p.lit(`,"paths":`) || !p.paths(&j.Paths) ||
		!p.lit(`,"tick":"`) {
		return false
	}
	end := bytes.IndexByte(p.data[p.i:], '"')
	if end < 0 {
		return false
	}
	tick, err := time.Parse(time.RFC3339Nano, string(p.data[p.i:p.i+end]))
	if err != nil {
		return false
	}
	j.Tick = tick
	p.i += end + 1
	if p.lit(`,"emit":`) && !p.str(&j.Emit) {
		return false
	}
	return p.lit("}") && p.i == len(p.data)
}

type jobParser struct {
	data []byte
	i    int
}

// lit consumes s if the input continues with it.
func (p *jobParser) lit(s string) bool {
	if !bytes.HasPrefix(p.data[p.i:], []byte(s)) {
		return false
	}
	p.i += len(s)
	return true
}

// str consumes a JSON string without escapes or control characters.
func (p *jobParser) str(dst *string) bool {
	if !p.lit(`"`) {
		return false
	}
	for k := p.i; k < len(p.data); k++ {
		switch c := p.data[k]; {
		case c == '"':
			*dst = string(p.data[p.i:k])
			p.i = k + 1
			return true
		case c == '\\' || c < 0x20:
			return false
		}
	}
	return false
}

// paths consumes null or an array of strings.
func (p *jobParser) paths(dst *[]string) bool {
	if p.lit("null") {
		*dst = nil
		return true
	}
	if !p.lit("[") {
		return false
	}
	out := make([]string, 0, 4)
	if p.lit("]") {
		*dst = out
		return true
	}
	for {
		var s string
		if !p.str(&s) {
			return false
		}
		out = append(out, s)
		if p.lit("]") {
			*dst = out
			return true
		}
		if !p.lit(",") {
			return false
		}
	}
}
