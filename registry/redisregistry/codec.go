package redisregistry

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/registry"
)

// The registry keeps two hash entries per vehicle, both cheap to decode,
// since ListVehicles decodes 100,000 of them:
//
//	vehicles:      JSON {"grant_id", "user_id", "tags", "connected_at"}, rarely written
//	vehicle_state: "<status>|<last poll>|<reason>", written by SetStatus and
//	               TouchPoll through Lua scripts that keep the other parts
//
// The last poll is Unix nanoseconds in 20 zero-padded digits (empty when
// never polled), so Lua compares polls as strings. Registrations written
// before user ids were kept have no "user_id".

// registration is a vehicle's entry in the vehicles hash.
type registration struct {
	GrantID     string    `json:"grant_id"`
	UserID      string    `json:"user_id,omitempty"`
	Tags        []string  `json:"tags,omitempty"`
	ConnectedAt time.Time `json:"connected_at"`
}

func formatPoll(t time.Time) string {
	if t.IsZero() || t.UnixNano() <= 0 {
		return ""
	}
	return fmt.Sprintf("%020d", t.UnixNano())
}

func formatState(st events.Status, poll time.Time, reason string) string {
	return string(st) + "|" + formatPoll(poll) + "|" + reason
}

func parseState(s string) (st events.Status, poll time.Time, reason string, err error) {
	if s == "" {
		return events.StatusConnected, time.Time{}, "", nil
	}
	a, rest, ok1 := strings.Cut(s, "|")
	p, reason, ok2 := strings.Cut(rest, "|")
	if !ok1 || !ok2 {
		return "", time.Time{}, "", registry.ErrMalformed
	}
	if p != "" {
		ns, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return "", time.Time{}, "", registry.ErrMalformed
		}
		poll = time.Unix(0, ns).UTC()
	}
	return events.Status(a), poll, reason, nil
}

func encodeRegistration(v registry.Vehicle) (string, error) {
	b, err := json.Marshal(registration{GrantID: v.GrantID, UserID: v.UserID, Tags: v.Tags, ConnectedAt: v.ConnectedAt.UTC()})
	if err != nil {
		return "", fmt.Errorf("encode vehicle %s: %w", v.ID, err)
	}
	return string(b), nil
}

func decodeVehicle(id, reg, state string) (registry.Vehicle, error) {
	r, ok := decodeRegistrationFast(reg)
	if !ok {
		r = registration{}
		if err := json.Unmarshal([]byte(reg), &r); err != nil {
			return registry.Vehicle{}, fmt.Errorf("decode vehicle %s: %w", id, registry.ErrMalformed)
		}
	}
	st, poll, reason, err := parseState(state)
	if err != nil {
		return registry.Vehicle{}, fmt.Errorf("decode vehicle %s state: %w", id, err)
	}
	return registry.Vehicle{ID: id, GrantID: r.GrantID, UserID: r.UserID, Tags: r.Tags, Status: st, Reason: reason,
		LastPoll: poll, ConnectedAt: r.ConnectedAt}, nil
}

// decodeRegistrationFast decodes exactly what encodeRegistration writes
// when no string needs an escape, several times faster than encoding/json
// (ListVehicles decodes the whole registry on every scheduler tick); it
// reports false for anything else, which then goes through encoding/json.
func decodeRegistrationFast(s string) (registration, bool) {
	var r registration
	rest, ok := strings.CutPrefix(s, `{"grant_id":`)
	if !ok {
		return r, false
	}
	if r.GrantID, rest, ok = cutJSONString(rest); !ok {
		return r, false
	}
	if after, found := strings.CutPrefix(rest, `,"user_id":`); found {
		if r.UserID, rest, ok = cutJSONString(after); !ok {
			return r, false
		}
	}
	if after, found := strings.CutPrefix(rest, `,"tags":[`); found {
		rest = after
		for {
			var tag string
			if tag, rest, ok = cutJSONString(rest); !ok {
				return r, false
			}
			r.Tags = append(r.Tags, tag)
			if after, found = strings.CutPrefix(rest, ","); !found {
				break
			}
			rest = after
		}
		if rest, ok = strings.CutPrefix(rest, "]"); !ok {
			return r, false
		}
	}
	if rest, ok = strings.CutPrefix(rest, `,"connected_at":`); !ok {
		return r, false
	}
	var ts string
	if ts, rest, ok = cutJSONString(rest); !ok || rest != "}" {
		return r, false
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return r, false
	}
	r.ConnectedAt = t
	return r, true
}

// cutJSONString cuts a JSON string without escapes off the front of s.
func cutJSONString(s string) (val, rest string, ok bool) {
	if s == "" || s[0] != '"' {
		return "", s, false
	}
	i := strings.IndexAny(s[1:], "\"\\")
	if i < 0 || s[1+i] != '"' {
		return "", s, false
	}
	for j := 1; j < 1+i; j++ {
		if s[j] < 0x20 { // raw control characters are not valid JSON
			return "", s, false
		}
	}
	return s[1 : 1+i], s[2+i:], true
}
