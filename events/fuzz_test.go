package events_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/smartcar-poller/smartcar-poller/events"
)

// FuzzParseValidate feeds any bytes to Parse and Validate. Neither panics;
// an event that passes its schema also parses, and a parsed event survives
// an encode/parse round trip unchanged.
func FuzzParseValidate(f *testing.F) {
	for s, data := range samples {
		ev, err := events.New(s, "veh-1", data, events.Meta{ID: "id-" + string(s), Time: dataAge, RequestID: "r", Schedule: "s", Tick: dataAge})
		if err != nil {
			f.Fatal(err)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"specversion":"1.0","id":"x","source":"s","type":"smartcar.vehicle.odometer.v1","subject":"v","datacontenttype":"application/json","dataschema":"https://x","data":{"distance_km":-1}}`))
	f.Add([]byte(`{"specversion":"1.0","type":"smartcar.vehicle.nope.v1","subject":"a.b"}`))
	f.Add([]byte(`{"specversion":"1.0","type":"smartcar.vehicle.vin.v1","subject":"` + "\u00e9" + `","time":"10000-01-01T00:00:00Z"}`))
	f.Add([]byte(`[`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		verr := events.Validate(b)
		ev, perr := events.Parse(b)
		if verr == nil && perr != nil {
			t.Fatalf("Validate accepts what Parse rejects (%v):\n%s", perr, b)
		}
		if perr != nil {
			return
		}
		again, err := json.Marshal(ev)
		if err != nil {
			return // e.g. data that is not JSON: Parse does not check data
		}
		ev2, err := events.Parse(again)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", again, err)
		}
		if diff := cmp.Diff(ev, ev2, cmpopts.IgnoreFields(events.Event{}, "Data")); diff != "" {
			t.Fatalf("round trip changed the event (-first +second):\n%s", diff)
		}
		if len(ev.Data) == 0 {
			ev.Data = json.RawMessage("null") // absent data encodes as null
		}
		var d1, d2 any
		if json.Unmarshal(ev.Data, &d1) != nil || json.Unmarshal(ev2.Data, &d2) != nil || !cmp.Equal(d1, d2) {
			t.Fatalf("round trip changed the data: %s → %s", ev.Data, ev2.Data)
		}
	})
}
