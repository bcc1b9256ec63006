package events

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// EventID returns the id (and Nats-Msg-Id) of the data event for path of the
// job jobID: 32 hex characters of a SHA-256, the same for every delivery of
// the job, so JetStream drops the copies a redelivered job publishes.
func EventID(jobID, path string) string { return deriveID("data", jobID, path) }

// ErrorEventID returns the id of the error event for a path that failed in
// the job jobID. It differs from EventID(jobID, path), so a path that fails
// first and succeeds on redelivery still publishes its data.
func ErrorEventID(jobID, path string) string { return deriveID("error", jobID, path) }

// StatusEventID returns the id of a status event. cause identifies what led
// to it, e.g. the job id, or "connect/<vehicle_id>/<unix time>" for a
// status set outside a job; the same cause and status give the same id.
func StatusEventID(cause string, s Status) string { return deriveID("status", cause, string(s)) }

// deriveID hashes length-prefixed parts, so ("a/b","c") and ("a","b/c")
// never collide.
func deriveID(parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}
