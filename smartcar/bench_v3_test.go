package smartcar_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// benchSignals is one page of 20 signals of an EV, with the bodies of the
// wire decisions and one signal the vehicle cannot provide.
var benchSignals = func() []byte {
	bodies := []struct{ code, name, group, body string }{
		{"charge-chargelimits", "ChargeLimits", "Charge", `{"activeLimit":80,"unit":"percent","values":[{"type":"GLOBAL","limit":80}]}`},
		{"charge-chargerate", "ChargeRate", "Charge", `{"unit":"kilowatts","value":7.2}`},
		{"charge-detailedchargingstatus", "DetailedChargingStatus", "Charge", `{"value":"CHARGING"}`},
		{"charge-ischarging", "IsCharging", "Charge", `{"value":true}`},
		{"charge-ischargingcableconnected", "IsChargingCableConnected", "Charge", `{"value":true}`},
		{"closure-doors", "Doors", "Closure", `{"values":[{"row":0,"column":0,"isOpen":false,"isLocked":true},{"row":0,"column":1,"isOpen":false,"isLocked":true},{"row":1,"column":0,"isOpen":false,"isLocked":true},{"row":1,"column":1,"isOpen":false,"isLocked":true}],"rowCount":2,"columnCount":2}`},
		{"closure-islocked", "IsLocked", "Closure", `{"value":true}`},
		{"closure-windows", "Windows", "Closure", `{"values":[{"row":0,"column":0,"isOpen":false},{"row":0,"column":1,"isOpen":false},{"row":1,"column":0,"isOpen":false},{"row":1,"column":1,"isOpen":false}],"rowCount":2,"columnCount":2}`},
		{"connectivitystatus-isasleep", "IsAsleep", "ConnectivityStatus", `{"value":false}`},
		{"connectivitystatus-isonline", "IsOnline", "ConnectivityStatus", `{"value":true}`},
		{"internalcombustionengine-fuellevel", "FuelLevel", "InternalCombustionEngine", ""},
		{"location-preciselocation", "PreciseLocation", "Location", `{"latitude":37.4292,"longitude":-122.1381,"heading":45.5,"direction":"NE","locationType":"CURRENT"}`},
		{"lowvoltagebattery-stateofcharge", "StateOfCharge", "LowVoltageBattery", `{"unit":"percent","value":88}`},
		{"odometer-traveleddistance", "TraveledDistance", "Odometer", `{"unit":"kilometers","value":115071.5}`},
		{"tractionbattery-nominalcapacity", "NominalCapacity", "TractionBattery", `{"unit":"kilowattHours","value":75}`},
		{"tractionbattery-range", "Range", "TractionBattery", `{"unit":"kilometers","value":312.4}`},
		{"tractionbattery-stateofcharge", "StateOfCharge", "TractionBattery", `{"unit":"percent","value":75}`},
		{"transmission-gearstate", "GearState", "Transmission", `{"value":"P"}`},
		{"vehicleidentification-vin", "Vin", "VehicleIdentification", `{"value":"5YJ3E1EA7KF317000"}`},
		{"wheel-tires", "Tires", "Wheel", `{"unit":"kilopascals","values":[{"row":0,"column":0,"tirePressure":219.3},{"row":0,"column":1,"tirePressure":220.1},{"row":1,"column":0,"tirePressure":218.7},{"row":1,"column":1,"tirePressure":219.9}],"rowCount":2,"columnCount":2}`},
	}
	var b strings.Builder
	b.WriteString(`{"data":[`)
	for i, s := range bodies {
		if i > 0 {
			b.WriteByte(',')
		}
		if s.body == "" {
			b.WriteString(`{"id":"` + s.code + `","type":"signal","attributes":{"code":"` + s.code + `","name":"` + s.name +
				`","group":"` + s.group + `","status":{"value":"ERROR","error":{"type":"COMPATIBILITY","code":"VEHICLE_NOT_CAPABLE",` +
				`"description":"The vehicle is not capable of this signal."}}},"meta":{"retrievedAt":1777629600000,"oemUpdatedAt":1777629600000},` +
				`"links":{"self":"/v3/vehicles/vid/signals/` + s.code + `"}}`)
			continue
		}
		b.WriteString(signalJSON(s.code, s.name, s.group, s.body))
	}
	b.WriteString(`],"meta":{"page":1,"pageSize":100,"totalCount":20},"links":{"self":"/v3/vehicles/vid/signals?page=1&pageSize=100",` +
		`"first":"/v3/vehicles/vid/signals?page=1&pageSize=100","previous":null,"next":null,"last":"/v3/vehicles/vid/signals?page=1&pageSize=100"},` +
		`"included":{"vehicle":` + vehicleJSON + `}}`)
	return []byte(b.String())
}()

// benchV3Handler serves the application token and the page of signals.
func benchV3Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = []string{"application/json"}
		_, _ = w.Write([]byte(`{"access_token":"app-tok-1","token_type":"Bearer","expires_in":3600}`))
	})
	mux.HandleFunc("GET /v3/vehicles/vid/signals", func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr["Content-Type"] = []string{"application/json"}
		hdr["Sc-Request-Id"] = []string{"5dea93a1-6d4b-4d1c-9c3b-6a2b1f1d2e3f"}
		_, _ = w.Write(benchSignals)
	})
	return mux
}

// inMemory is a transport that answers from a handler in the same
// goroutine, without a connection: what is left is the client's own work.
type inMemory struct{ h http.Handler }

func (m inMemory) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// BenchmarkSignals reads the 20 signals of a vehicle through the SDK
// (application token, one page) and with bare net/http + encoding/json,
// against the same local server, then reads the odometer from the result.
func BenchmarkSignals(b *testing.B) {
	srv := httptest.NewServer(benchV3Handler())
	b.Cleanup(srv.Close)
	benchSignalsPair(b, srv.URL, srv.Client())
}

// BenchmarkSignalsInMemory is BenchmarkSignals with the server's handler
// called in process (no loopback connection), so that the SDK's own work
// stands out of the network's noise.
func BenchmarkSignalsInMemory(b *testing.B) {
	benchSignalsPair(b, "http://smartcar.test", &http.Client{Transport: inMemory{benchV3Handler()}})
}

func benchSignalsPair(b *testing.B, origin string, hc *http.Client) {
	ctx := context.Background()
	b.Run("sdk", func(b *testing.B) {
		a, err := smartcar.NewAppClient(&smartcar.AppClientOptions{ClientID: "id", ClientSecret: "secret",
			IAMOrigin: origin, APIOrigin: origin, ManagementOrigin: origin, HTTPClient: hc})
		if err != nil {
			b.Fatal(err)
		}
		v := a.Vehicle("vid", "uid")
		if _, err := a.Token(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
		for b.Loop() {
			s, err := v.Signals(ctx)
			if err != nil || len(s.Items) != 20 {
				b.Fatalf("signals = %v, %v", s, err)
			}
			odo, ok := s.Get("odometer-traveleddistance")
			if !ok {
				b.Fatal("no odometer")
			}
			body, err := odo.Scalar()
			if err != nil || body.Value != 115071.5 {
				b.Fatalf("odometer = %v, %v", body, err)
			}
		}
	})
	b.Run("baseline", func(b *testing.B) {
		type signal struct {
			ID         string `json:"id"`
			Attributes struct {
				Code   string `json:"code"`
				Name   string `json:"name"`
				Group  string `json:"group"`
				Status struct {
					Value string `json:"value"`
					Error *struct {
						Type        string `json:"type"`
						Code        string `json:"code"`
						Description string `json:"description"`
					} `json:"error"`
				} `json:"status"`
				Body json.RawMessage `json:"body"`
			} `json:"attributes"`
			Meta struct {
				RetrievedAt  int64 `json:"retrievedAt"`
				OEMUpdatedAt int64 `json:"oemUpdatedAt"`
			} `json:"meta"`
		}
		type page struct {
			Data  []signal `json:"data"`
			Links struct {
				Next *string `json:"next"`
			} `json:"links"`
			Included struct {
				Vehicle struct {
					ID         string `json:"id"`
					Attributes struct {
						Make  string `json:"make"`
						Model string `json:"model"`
						Year  int    `json:"year"`
					} `json:"attributes"`
				} `json:"vehicle"`
			} `json:"included"`
		}
		u := origin + "/v3/vehicles/vid/signals?page=1&pageSize=100"
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
		for b.Loop() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+"app-tok-1")
			req.Header.Set("sc-user-id", "uid")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var p page
			err = json.NewDecoder(resp.Body).Decode(&p)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || len(p.Data) != 20 || p.Links.Next != nil {
				b.Fatalf("signals: %v", err)
			}
			var odo struct {
				Unit  string  `json:"unit"`
				Value float64 `json:"value"`
			}
			for i := range p.Data {
				if p.Data[i].Attributes.Code == "odometer-traveleddistance" {
					if err := json.Unmarshal(p.Data[i].Attributes.Body, &odo); err != nil {
						b.Fatal(err)
					}
				}
			}
			if odo.Value != 115071.5 {
				b.Fatalf("odometer = %v", odo)
			}
		}
	})
}
