package smartcar_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// The benchmarks compare the SDK with the same request done with bare
// net/http and encoding/json, against the same local server.

var (
	benchOdometer = []byte(`{"distance":104.32}`)
	benchBatch    = []byte(`{"responses":[` +
		`{"path":"/odometer","code":200,"headers":{"sc-unit-system":"metric","sc-data-age":"2019-10-24T00:43:46.000Z","sc-fetched-at":"2019-10-24T00:44:00.000Z"},"body":{"distance":37829}},` +
		`{"path":"/location","code":200,"headers":{"sc-unit-system":"metric","sc-data-age":"2019-10-24T00:43:46.000Z","sc-fetched-at":"2019-10-24T00:44:00.000Z"},"body":{"latitude":37.4292,"longitude":-122.1381}},` +
		`{"path":"/fuel","code":200,"headers":{"sc-unit-system":"metric","sc-data-age":"2019-10-24T00:43:46.000Z","sc-fetched-at":"2019-10-24T00:44:00.000Z"},"body":{"amountRemaining":19.5,"percentRemaining":0.75,"range":320.4}}]}`)
	benchPaths = []string{"/odometer", "/location", "/fuel"}
)

func benchServer(b *testing.B) *httptest.Server {
	b.Helper()
	h := func(body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			hdr := w.Header()
			hdr["Content-Type"] = []string{"application/json"}
			hdr["Sc-Request-Id"] = []string{"5dea93a1-6d4b-4d1c-9c3b-6a2b1f1d2e3f"}
			hdr["Sc-Data-Age"] = []string{"2019-10-24T00:43:46.000Z"}
			hdr["Sc-Unit-System"] = []string{"metric"}
			_, _ = w.Write(body)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v2.0/vehicles/vid/odometer", h(benchOdometer))
	mux.Handle("POST /v2.0/vehicles/vid/batch", h(benchBatch))
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv
}

// reportCPU adds the process CPU time per op since start ("cpu-ns/op").
func reportCPU(b *testing.B, start time.Duration) {
	if cpu := processCPU() - start; cpu > 0 && b.N > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkOdometer(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	b.Run("sdk", func(b *testing.B) {
		v := smartcar.NewClient(smartcar.WithAPIOrigin(srv.URL), smartcar.WithHTTPClient(srv.Client())).Vehicle("vid", "tok")
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
		for b.Loop() {
			odo, err := v.Odometer(ctx)
			if err != nil || odo.Distance != 104.32 {
				b.Fatalf("odometer = %v, %v", odo, err)
			}
		}
	})
	b.Run("baseline", func(b *testing.B) {
		hc := srv.Client()
		u := srv.URL + "/v2.0/vehicles/vid/odometer"
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
		for b.Loop() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+"tok")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var odo struct {
				Distance float64 `json:"distance"`
			}
			err = json.NewDecoder(resp.Body).Decode(&odo)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || odo.Distance != 104.32 {
				b.Fatalf("odometer = %v, %v", odo, err)
			}
		}
	})
}

func BenchmarkBatch3(b *testing.B) {
	srv := benchServer(b)
	ctx := context.Background()
	b.Run("sdk", func(b *testing.B) {
		c := smartcar.NewClient(smartcar.WithAPIOrigin(srv.URL), smartcar.WithHTTPClient(srv.Client()))
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
		for b.Loop() {
			res, err := c.Batch(ctx, "tok", "vid", benchPaths)
			if err != nil {
				b.Fatal(err)
			}
			odo, err1 := res.Odometer()
			loc, err2 := res.Location()
			fuel, err3 := res.Fuel()
			if err1 != nil || err2 != nil || err3 != nil || odo.Distance != 37829 || loc.Latitude != 37.4292 || fuel.Range != 320.4 {
				b.Fatalf("batch = %v %v %v, %v %v %v", odo, loc, fuel, err1, err2, err3)
			}
		}
	})
	b.Run("baseline", func(b *testing.B) {
		type path struct {
			Path string `json:"path"`
		}
		type batchRequest struct {
			Requests []path `json:"requests"`
		}
		type item struct {
			Path    string            `json:"path"`
			Code    int               `json:"code"`
			Headers map[string]string `json:"headers"`
			Body    json.RawMessage   `json:"body"`
		}
		hc := srv.Client()
		u := srv.URL + "/v2.0/vehicles/vid/batch"
		b.ReportAllocs()
		defer reportCPU(b, processCPU())
		for b.Loop() {
			reqs := make([]path, len(benchPaths))
			for i, p := range benchPaths {
				reqs[i] = path{p}
			}
			body, err := json.Marshal(batchRequest{reqs})
			if err != nil {
				b.Fatal(err)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+"tok")
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var out struct {
				Responses []item `json:"responses"`
			}
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || len(out.Responses) != 3 {
				b.Fatalf("batch: %v", err)
			}
			var odo struct {
				Distance float64 `json:"distance"`
			}
			var loc struct {
				Latitude  float64 `json:"latitude"`
				Longitude float64 `json:"longitude"`
			}
			var fuel struct {
				AmountRemaining  float64 `json:"amountRemaining"`
				PercentRemaining float64 `json:"percentRemaining"`
				Range            float64 `json:"range"`
			}
			for _, it := range out.Responses {
				var dst any
				switch it.Path {
				case "/odometer":
					dst = &odo
				case "/location":
					dst = &loc
				case "/fuel":
					dst = &fuel
				}
				if err := json.Unmarshal(it.Body, dst); err != nil || it.Code != http.StatusOK {
					b.Fatalf("item %s: %v", it.Path, err)
				}
			}
			if odo.Distance != 37829 || loc.Latitude != 37.4292 || fuel.Range != 320.4 {
				b.Fatalf("batch = %v %v %v", odo, loc, fuel)
			}
		}
	})
}
