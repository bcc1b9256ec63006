package events_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
)

// A worker turns one path of a polled batch into an event, and publishes it
// on the event's subject.
func Example() {
	const (
		jobID     = "default/36ab27d0-fd9d-4455-823a-ce30af709ffc/1772368200"
		vehicleID = "36ab27d0-fd9d-4455-823a-ce30af709ffc"
		path      = "/odometer"
	)
	signal, _ := events.SignalForPath(path)
	ev, err := events.New(signal, vehicleID, events.OdometerData{DistanceKm: 37829}, events.Meta{
		ID:        events.EventID(jobID, path),
		Time:      time.Date(2026, 3, 1, 12, 29, 46, 0, time.UTC), // SC-Data-Age
		FetchedAt: time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC),
		RequestID: "5dea93a1-8a5e-4c8e-a2a7-2d8a9d2f1a5b",
		Schedule:  "default",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	subject, err := events.Subject(events.DefaultPrefix, vehicleID, signal)
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := json.MarshalIndent(ev, "", "  ")
	fmt.Println(subject)
	fmt.Println(string(b))
	fmt.Println("valid:", events.Validate(b) == nil)
	// Output:
	// smartcar.vehicles.36ab27d0-fd9d-4455-823a-ce30af709ffc.odometer
	// {
	//   "specversion": "1.0",
	//   "id": "d4adbc9bbddb6c14e6d68a536704eed4",
	//   "source": "smartcar-poller",
	//   "type": "smartcar.vehicle.odometer.v1",
	//   "subject": "36ab27d0-fd9d-4455-823a-ce30af709ffc",
	//   "time": "2026-03-01T12:29:46Z",
	//   "datacontenttype": "application/json",
	//   "dataschema": "https://raw.githubusercontent.com/smartcar-poller/smartcar-poller/main/events/schemas/odometer.v1.json",
	//   "requestid": "5dea93a1-8a5e-4c8e-a2a7-2d8a9d2f1a5b",
	//   "fetchedat": "2026-03-01T12:30:00Z",
	//   "schedule": "default",
	//   "data": {
	//     "distance_km": 37829
	//   }
	// }
	// valid: true
}

// SubjectFilter gives the subject to subscribe to, e.g. for tail.
func ExampleSubjectFilter() {
	all, _ := events.SubjectFilter("smartcar", "", "")
	one, _ := events.SubjectFilter("smartcar", "36ab27d0-fd9d-4455-823a-ce30af709ffc", "")
	locations, _ := events.SubjectFilter("smartcar", "", events.SignalLocation)
	_, err := events.SubjectFilter("smartcar", "not.a.token", "")
	fmt.Println(all)
	fmt.Println(one)
	fmt.Println(locations)
	fmt.Println(err)
	// Output:
	// smartcar.vehicles.*.*
	// smartcar.vehicles.36ab27d0-fd9d-4455-823a-ce30af709ffc.*
	// smartcar.vehicles.*.location
	// vehicle id "not.a.token": must be 1-128 characters of [A-Za-z0-9_-]: invalid name
}
