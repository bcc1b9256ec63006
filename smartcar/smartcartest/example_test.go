package smartcartest_test

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// Example shows a test's view: a grant without a browser, a request, an
// injected fault and the records.
func Example() {
	s := smartcartest.NewServer(smartcartest.WithVehicles(2))
	defer s.Close()
	tok := s.Connect(nil, []string{"read_odometer"})
	vehicle := s.VehicleIDs()[0]

	odometer := func() (int, string) {
		req, _ := http.NewRequest("GET", s.URL+"/v2.0/vehicles/"+vehicle+"/odometer", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var body struct{ Type, Code string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Type + ":" + body.Code
	}

	status, _ := odometer()
	fmt.Println(status)
	s.SetAsleep(vehicle, true)
	fmt.Println(odometer())
	st := s.Stats()
	fmt.Println(st.Paths["/odometer"], st.FaultsInjected)
	// Output:
	// 200
	// 409 VEHICLE_STATE:ASLEEP
	// 2 1
}
