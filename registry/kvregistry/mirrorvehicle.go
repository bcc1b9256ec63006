package kvregistry

import (
	"encoding/binary"
	"time"
	"unique"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/registry"
)

// mirrorVehicle is a vehicle as the vehicles mirror keeps it: 80 bytes
// against registry.Vehicle's 152, and its strings shared with every other
// vehicle's equal ones (unique handles: a grant's, a user's, a status, a
// reason, a tag set), so a million vehicles cost the mirror about 180 bytes
// each (key and entry tables, the id) instead of about 320. Times are kept
// in UTC, as the store writes them.
type mirrorVehicle struct {
	id                    string
	grant, user, reason   unique.Handle[string]
	tags                  unique.Handle[string] // packTags; zero for nil
	status                unique.Handle[events.Status]
	lastPoll, connected   int64 // Unix seconds
	lastPollNs, connectNs int32
}

func compactVehicle(v registry.Vehicle) mirrorVehicle {
	m := mirrorVehicle{id: v.ID, grant: handle(v.GrantID), user: handle(v.UserID), reason: handle(v.Reason)}
	if v.Tags != nil {
		m.tags = unique.Make(packTags(v.Tags))
	}
	if v.Status != "" {
		m.status = unique.Make(v.Status)
	}
	m.lastPoll, m.lastPollNs = v.LastPoll.Unix(), int32(v.LastPoll.Nanosecond())
	m.connected, m.connectNs = v.ConnectedAt.Unix(), int32(v.ConnectedAt.Nanosecond())
	return m
}

// vehicle returns the registry.Vehicle; its Tags are the caller's own.
func (m mirrorVehicle) vehicle() registry.Vehicle {
	v := registry.Vehicle{ID: m.id, GrantID: handleValue(m.grant), UserID: handleValue(m.user), Reason: handleValue(m.reason),
		LastPoll: time.Unix(m.lastPoll, int64(m.lastPollNs)).UTC(), ConnectedAt: time.Unix(m.connected, int64(m.connectNs)).UTC()}
	if m.tags != (unique.Handle[string]{}) {
		v.Tags = unpackTags(m.tags.Value())
	}
	if m.status != (unique.Handle[events.Status]{}) {
		v.Status = m.status.Value()
	}
	return v
}

func decodeMirrorVehicle(b []byte) (mirrorVehicle, error) {
	v, err := decodeVehicle(b)
	if err != nil {
		return mirrorVehicle{}, err
	}
	return compactVehicle(v), nil
}

// handle is s's unique handle, the zero handle for "".
func handle(s string) unique.Handle[string] {
	if s == "" {
		return unique.Handle[string]{}
	}
	return unique.Make(s)
}

func handleValue(h unique.Handle[string]) string {
	if h == (unique.Handle[string]{}) {
		return ""
	}
	return h.Value()
}

// packTags packs tags in one string: each tag's length (uvarint), then the
// tag.
func packTags(tags []string) string {
	var b []byte
	for _, t := range tags {
		b = binary.AppendUvarint(b, uint64(len(t)))
		b = append(b, t...)
	}
	return string(b)
}

// unpackTags returns packTags' tags, a non-nil slice.
func unpackTags(s string) []string {
	tags := []string{}
	for len(s) > 0 {
		n, w := binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen64)]))
		if w <= 0 || uint64(len(s)-w) < n {
			break // not packTags' output
		}
		tags = append(tags, s[w:w+int(n)])
		s = s[w+int(n):]
	}
	return tags
}
