package events_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
)

// A worker turns one path of a polled batch into event data (package
// normalize) and the data into an event, published on the event's subject.
func Example() {
	const (
		jobID     = "default/36ab27d0-fd9d-4455-823a-ce30af709ffc/1772368200"
		vehicleID = "36ab27d0-fd9d-4455-823a-ce30af709ffc"
		path      = "/odometer"
	)
	signal := events.SignalOdometer
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
	generic, _ := events.SubjectFilter("smartcar", "", events.SignalGeneric)
	gears, _ := events.GenericSubjectFilter("smartcar", "", "transmission-gearstate")
	_, err := events.SubjectFilter("smartcar", "not.a.token", "")
	fmt.Println(all)
	fmt.Println(one)
	fmt.Println(locations)
	fmt.Println(generic)
	fmt.Println(gears)
	fmt.Println(err)
	// Output:
	// smartcar.vehicles.*.>
	// smartcar.vehicles.36ab27d0-fd9d-4455-823a-ce30af709ffc.>
	// smartcar.vehicles.*.location
	// smartcar.vehicles.*.signals.*
	// smartcar.vehicles.*.signals.transmission-gearstate
	// vehicle id "not.a.token": must be 1-128 characters of [A-Za-z0-9_-]: invalid name
}

// An API v3 signal without a normalized type goes out as a generic signal
// event, on a subject of its own code.
func ExampleGenericSubject() {
	const vehicleID = "36ab27d0-fd9d-4455-823a-ce30af709ffc"
	ev, err := events.New(events.SignalGeneric, vehicleID, events.SignalData{
		Code: "transmission-gearstate", Group: "Transmission", Name: "GearState",
		Body:        json.RawMessage(`{"value":"D"}`),
		RetrievedAt: time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC),
	}, events.Meta{ID: events.EventID("default/"+vehicleID+"/1772368200", "signals/transmission-gearstate")})
	if err != nil {
		fmt.Println(err)
		return
	}
	code, _ := ev.Code()
	subject, _ := events.GenericSubject(events.DefaultPrefix, vehicleID, code)
	fmt.Println(ev.Type)
	fmt.Println(subject)
	fmt.Println(string(ev.Data))
	// Output:
	// smartcar.vehicle.signal.v1
	// smartcar.vehicles.36ab27d0-fd9d-4455-823a-ce30af709ffc.signals.transmission-gearstate
	// {"code":"transmission-gearstate","group":"Transmission","name":"GearState","body":{"value":"D"},"retrieved_at":"2026-03-01T12:30:00Z"}
}
