package smartcartest_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/smartcar"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestServer_h2c: a client that speaks only cleartext HTTP/2 (prior
// knowledge) gets every answer over HTTP/2.
func TestServer_h2c(t *testing.T) {
	sim := smartcartest.NewServer(smartcartest.WithVehicles(3), smartcartest.WithoutLimits())
	t.Cleanup(sim.Close)
	var protos http.Protocols
	protos.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: &protos}
	t.Cleanup(tr.CloseIdleConnections)
	var mu sync.Mutex
	seen := map[string]int{}
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		res, err := tr.RoundTrip(r)
		if err == nil {
			mu.Lock()
			seen[res.Proto]++
			mu.Unlock()
		}
		return res, err
	})}
	o := sim.Origins()
	c := smartcar.NewClient(smartcar.WithAPIOrigin(o.API), smartcar.WithAuthOrigin(o.Auth), smartcar.WithHTTPClient(hc))
	tok := sim.Connect(nil, nil)
	var vehicles []string
	for _, v := range sim.Vehicles() {
		vehicles = append(vehicles, v.ID)
	}
	access := tok.AccessToken
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if _, err := c.Batch(t.Context(), access, vehicles[i%len(vehicles)], []string{"/odometer"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if seen["HTTP/2.0"] < 50 || len(seen) != 1 {
		t.Fatalf("responses by protocol %v; want every one HTTP/2.0", seen)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
