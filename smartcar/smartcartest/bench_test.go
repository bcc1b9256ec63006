package smartcartest_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// benchClient is a plain keep-alive client, as the daemon would use.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512}}
}

func benchRequests(b *testing.B, method, path string, body []byte) {
	s := newServer(b, smartcartest.WithoutLimits(), smartcartest.WithVehicles(8))
	tok := s.Connect(nil, nil)
	ids := s.VehicleIDs()
	client := benchClient()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			var rd io.Reader
			if body != nil {
				rd = bytes.NewReader(body)
			}
			req, _ := http.NewRequest(method, s.URL+"/v2.0/vehicles/"+ids[i%len(ids)]+path, rd)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("HTTP %d", resp.StatusCode)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	client.CloseIdleConnections()
}

// BenchmarkServer_Odometer measures GET /odometer round trips on loopback.
func BenchmarkServer_Odometer(b *testing.B) {
	benchRequests(b, http.MethodGet, "/odometer", nil)
}

// BenchmarkServer_Batch3 measures a 3-path batch on loopback.
func BenchmarkServer_Batch3(b *testing.B) {
	benchRequests(b, http.MethodPost, "/batch",
		[]byte(`{"requests":[{"path":"/odometer"},{"path":"/location"},{"path":"/battery"}]}`))
}

// BenchmarkServer_Baseline is the same round trip against a bare net/http
// handler with a fixed body: the floor the simulator is measured against.
func BenchmarkServer_Baseline(b *testing.B) {
	body := []byte(`{"distance":104.32}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	client := benchClient()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v2.0/vehicles/x/odometer", nil)
			req.Header.Set("Authorization", "Bearer token")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	client.CloseIdleConnections()
}

// benchHandler calls the simulator's handler directly, without the network:
// the simulator's own cost per request.
func benchHandler(b *testing.B, method, path string, body []byte) {
	s := newServer(b, smartcartest.WithoutLimits(), smartcartest.WithVehicles(8))
	tok := s.Connect(nil, nil)
	ids := s.VehicleIDs()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			var rd io.Reader
			if body != nil {
				rd = bytes.NewReader(body)
			}
			req := httptest.NewRequest(method, "/v2.0/vehicles/"+ids[i%len(ids)]+path, rd)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("HTTP %d", w.Code)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkServer_OdometerHandler is BenchmarkServer_Odometer without the network.
func BenchmarkServer_OdometerHandler(b *testing.B) {
	benchHandler(b, http.MethodGet, "/odometer", nil)
}

// BenchmarkServer_Batch3Handler is BenchmarkServer_Batch3 without the network.
func BenchmarkServer_Batch3Handler(b *testing.B) {
	benchHandler(b, http.MethodPost, "/batch",
		[]byte(`{"requests":[{"path":"/odometer"},{"path":"/location"},{"path":"/battery"}]}`))
}

// BenchmarkVehicleLife is what a month of a 1,000-vehicle fleet costs the
// simulator: every vehicle's state read every 30 simulated minutes.
func BenchmarkVehicleLife(b *testing.B) {
	for b.Loop() {
		clock := newClock()
		s := smartcartest.NewServer(smartcartest.WithClock(clock.Now), smartcartest.WithVehicles(1000))
		ids := s.VehicleIDs()
		for range 30 * 48 {
			clock.Advance(30 * time.Minute)
			for _, id := range ids {
				s.VehicleState(id)
			}
		}
		s.Close()
	}
}
