package normalize_test

import (
	"encoding/json"
	"fmt"

	"github.com/smartcar-poller/smartcar-poller/normalize"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// A VEHICLE_STATE webhook becomes event data: the odometer in km, the
// battery composed of its state of charge and range, a signal without a
// normalized type as it came, and a latitude of 200 refused.
func ExampleFromWebhook() {
	ev, err := smartcar.ParseWebhook([]byte(`{"eventId":"e1","eventType":"VEHICLE_STATE","data":{
		"vehicle":{"id":"36ab27d0"},"signals":[
		{"code":"odometer-traveleddistance","body":{"unit":"miles","value":1000},"meta":{"oemUpdatedAt":1777629500000}},
		{"code":"tractionbattery-stateofcharge","body":{"percentage":76.82}},
		{"code":"tractionbattery-range","body":{"unit":"kilometers","value":310}},
		{"code":"transmission-gearstate","body":{"value":"P"}},
		{"code":"location-preciselocation","body":{"latitude":200,"longitude":0}}]}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := normalize.FromWebhook(ev, nil) // no previous events to complete from
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, it := range r.Items {
		data, _ := json.Marshal(it.Data)
		fmt.Println(it.Signal.Type(), string(data))
	}
	for _, x := range r.Rejected {
		fmt.Println("rejected", x.Code+":", x.Err)
	}
	// Output:
	// smartcar.vehicle.odometer.v1 {"distance_km":1609.344}
	// smartcar.vehicle.battery.v1 {"percent_remaining":0.7682,"range_km":310}
	// smartcar.vehicle.signal.v1 {"code":"transmission-gearstate","body":{"value":"P"}}
	// rejected location-preciselocation: signal location-preciselocation: latitude 200 is outside -90..90
}
