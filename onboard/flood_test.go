package onboard_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/registry"
	"github.com/smartcar-poller/smartcar-poller/smartcar"
)

// answer is what the endpoint answered one delivery, and how fast.
type answer struct {
	status  int
	outcome string // the answer's "status": accepted or duplicate
	took    time.Duration
	err     error
}

// TestHandler_Webhook_flood floods the endpoint with deliveries while
// processing is blocked entirely: every one is answered 2xx within
// Smartcar's 15 s, because an answer waits for a durable store, never for
// processing. Each delivery comes twice at once (Smartcar retrying while
// the first is in flight) and is stored once. Once processing resumes,
// every delivery is processed exactly once and gives its event.
func TestHandler_Webhook_flood(t *testing.T) {
	const (
		n        = 300              // deliveries, each sent twice at once
		deadline = 15 * time.Second // Smartcar's bound on an answer
	)
	r := newRig(t)
	ctx := ctxT(t)
	// One vehicle per delivery: each one's odometer is the vehicle's latest
	// state, whatever order processing takes them in.
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("flood-%03d", i)
		if err := r.store.PutVehicle(ctx, registry.Vehicle{ID: ids[i], GrantID: "g"}); err != nil {
			t.Fatal(err)
		}
	}
	gate := make(chan struct{})
	r.mu.Lock()
	r.gate = gate // processing waits for it
	r.mu.Unlock()

	oem := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	bodies := make([][]byte, n)
	for i := range bodies {
		bodies[i] = vehicleState(fmt.Sprintf("flood-evt-%03d", i), ids[i], float64(1000+i), oem, 0)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * n}, Timeout: time.Minute}
	defer client.CloseIdleConnections()
	answers := make([]answer, 2*n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range answers {
		body := bodies[i%n]
		wg.Go(func() {
			<-start
			answers[i] = deliver(client, r.webhookURL(), smartcar.HashChallenge(r.sim.ManagementToken, string(body)), body)
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	all := time.Since(began)

	var took []time.Duration
	outcomes := map[string]int{}
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Fatalf("delivery %d: %v", i, a.err)
		case a.status < 200 || a.status > 299:
			t.Fatalf("delivery %d: HTTP %d, want 2xx", i, a.status)
		case a.took >= deadline:
			t.Errorf("delivery %d answered in %s, over Smartcar's %s", i, a.took, deadline)
		}
		took = append(took, a.took)
		outcomes[a.outcome]++
	}
	slices.Sort(took)
	t.Logf("%d concurrent deliveries (%d distinct) with processing blocked: all 2xx in %s; answer p50 %s, p99 %s, max %s",
		len(answers), n, all.Round(time.Millisecond), took[len(took)/2].Round(time.Millisecond),
		took[len(took)*99/100].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	if outcomes["accepted"] != n || outcomes["duplicate"] != n {
		t.Errorf("answers %v, want %d accepted and %d duplicate", outcomes, n, n)
	}
	// Nothing was processed: every answer came before any processing.
	r.mu.Lock()
	processedBefore := len(r.processed)
	r.mu.Unlock()
	if processedBefore != 0 {
		t.Fatalf("%d deliveries processed while processing was blocked", processedBefore)
	}
	// Every delivery is stored (answered after the stream's ack); the
	// consumer's counts follow a moment later.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		d, err := r.inbox.Depth(ctx)
		if err == nil && d.Pending+uint64(d.InProgress) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("inbox depth %+v, %v; want the %d deliveries waiting", d, err, n)
			break
		}
	}

	close(gate) // processing resumes
	for i := range n {
		r.waitProcessed(t, fmt.Sprintf("flood-evt-%03d", i))
	}
	r.mu.Lock()
	for id, calls := range r.processed {
		if calls != 1 {
			t.Errorf("delivery %s processed %d times, want once", id, calls)
		}
	}
	r.mu.Unlock()
	got := map[string]float64{}
	for _, ev := range r.events(t) {
		if s, _ := ev.Signal(); s != events.SignalOdometer {
			t.Errorf("unexpected %s event", ev.Type)
			continue
		}
		var d events.OdometerData
		if err := ev.DecodeData(&d); err != nil {
			t.Fatal(err)
		}
		if _, twice := got[ev.VehicleID()]; twice {
			t.Errorf("vehicle %s: two odometer events", ev.VehicleID())
		}
		got[ev.VehicleID()] = d.DistanceKm
	}
	for i, id := range ids {
		if km, ok := got[id]; !ok || km != float64(1000+i) {
			t.Errorf("vehicle %s: odometer %v (%v), want %d", id, km, ok, 1000+i)
		}
	}
	if s := r.h.Stats(); s.Accepted != n || s.Duplicates != n || s.Processed != n || s.EventsPublished != n {
		t.Errorf("stats %+v, want %d accepted, duplicates, processed and events", s, n)
	}
}

// deliver POSTs one signed delivery and times the answer.
func deliver(client *http.Client, url, sig string, body []byte) answer {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("SC-Signature", sig)
	req.Header.Set("Content-Type", "application/json")
	began := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, took: time.Since(began), err: err}
	var out struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(raw, &out) == nil {
		a.outcome = out.Status
	}
	return a
}
