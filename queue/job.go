package queue

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PollJob asks a worker to fetch one vehicle's data at one schedule tick:
// Paths in one API v2 batch, or Signals with one API v3 /signals call.
type PollJob struct {
	// ID identifies the (schedule, vehicle, tick) triple; it is the
	// Nats-Msg-Id. Enqueue fills it from JobID when empty.
	ID        string `json:"id"`
	Schedule  string `json:"schedule"`
	VehicleID string `json:"vehicle_id"`
	// Paths are the API v2 paths of the job's batch; empty on a v3 job.
	Paths []string `json:"paths,omitempty"`
	// Signals are what an API v3 job publishes from the vehicle's signals
	// (the daemon's signal names, raw v3 codes, or "all"); empty on a v2
	// job. The queue carries them without interpreting them.
	Signals []string  `json:"signals,omitempty"`
	Tick    time.Time `json:"tick"`
	// Emit is the schedule's emission mode (for example "always" or
	// "on_change"); the queue carries it without interpreting it.
	Emit string `json:"emit,omitempty"`
	// Adaptive marks a job of an adaptive schedule: Tick is when the
	// scheduler claimed the vehicle from the schedule's due index, and the
	// worker sets the vehicle's next due time after the poll.
	Adaptive bool `json:"adaptive,omitempty"`
}

// JobID returns the id of the job for (schedule, vehicleID, tick):
// <schedule>/<vehicle_id>/<tick unix seconds>.
func JobID(schedule, vehicleID string, tick time.Time) string {
	var b strings.Builder
	b.Grow(len(schedule) + len(vehicleID) + 12)
	b.WriteString(schedule)
	b.WriteByte('/')
	b.WriteString(vehicleID)
	b.WriteByte('/')
	b.WriteString(strconv.FormatInt(tick.Unix(), 10))
	return b.String()
}

// EnqueueResult counts what one Enqueue call did.
type EnqueueResult struct {
	// Enqueued is the number of jobs stored in the stream.
	Enqueued int
	// Duplicates is the number of jobs JetStream dropped because a job with
	// the same id was enqueued within the duplicate window.
	Duplicates int
}

// validate checks that the job can be published; it fills ID when empty.
func (j *PollJob) validate() error {
	if err := validToken(j.VehicleID); err != nil {
		return fmt.Errorf("vehicle id %q: %w", j.VehicleID, err)
	}
	if j.ID == "" {
		if j.Schedule == "" || j.Tick.IsZero() {
			return fmt.Errorf("job for vehicle %s: no id and no schedule and tick to derive it", j.VehicleID)
		}
		j.ID = JobID(j.Schedule, j.VehicleID, j.Tick)
	}
	return nil
}

// validToken reports whether s can be one token of a NATS subject.
func validToken(s string) error {
	if s == "" {
		return errEmptyToken
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.' || c == '*' || c == '>':
			return errBadToken
		case c <= ' ' || c == 0x7f:
			return errBadToken
		}
	}
	return nil
}
