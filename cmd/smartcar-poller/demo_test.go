package main

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

// TestDemo runs the README's first command (on API v3) with a fast cadence
// and a fast simulated clock until its output shows what the demo promises,
// or until --duration runs out: every vehicle's data changes poll after
// poll, v3-only signals (connectivity, transmission-gearstate) show, one
// vehicle is rate_limited with a Retry-After, its polling resumes and its
// data goes on changing; the daemon never called inside the Retry-After,
// took one application token and sent sc-user-id on every call.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for several seconds")
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := &demoWatch{vehicles: 3, done: cancel}
	var stderr testserver.Buffer
	// 2 simulated hours per 1 s poll: every vehicle drives every few polls.
	code := run(ctx, []string{"demo", "--duration", "90s", "--every", "1s", "--time-scale", "7200", "--vehicles", "3",
		"--data-dir", t.TempDir()}, w, &stderr)
	out := w.String()
	if code != 0 {
		t.Fatalf("demo exit code %d\nstderr:\n%s\nstdout:\n%s", code, stderr.String(), out)
	}
	if missing := w.missing(); missing != "" {
		t.Fatalf("the demo ran 90s without showing %s\nstdout:\n%s", missing, out)
	}
	for _, want := range []string{
		"demo: 3 simulated vehicles polled every 1s on Smartcar API v3; the simulator's clock runs 7200x (2h0m0s per poll)",
		"429 RATE_LIMIT:VEHICLE with Retry-After 3s",
		"\n" + printerHeader + "\n",
		"demo: 3 simulated vehicles connected: BEV ",
		`{"status":"rate_limited","reason":"Retry-After 3s`,
		" 0 made inside a Retry-After window.", // the summary, printed as the demo stops
		"demo: application tokens issued: 1; ",
		"; v3 calls without sc-user-id: 0.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q\n%s", want, out)
		}
	}
	for _, signal := range []string{"status", "odometer", "location", "lock_status", "connectivity", "transmission-gearstate"} {
		if n := strings.Count(out, "  "+signal+" "); n < 3 {
			t.Errorf("demo printed %d %s events, want >= 3\n%s", n, signal, out)
		}
	}
	if strings.Contains(stderr.String(), `"level":"ERROR"`) {
		t.Errorf("demo logged errors:\n%s", stderr.String())
	}
}

// demoWatch is the demo's stdout: it reads the event lines as they come and
// calls done once every vehicle's odometer has taken three values, and one
// vehicle has been rate_limited, resumed, and shown a new value since.
type demoWatch struct {
	vehicles int
	done     func()

	mu      sync.Mutex
	all     strings.Builder
	line    []byte
	odo     map[string]map[string]bool // vehicle → odometer values seen
	last    map[string]string          // vehicle → its latest odometer value
	limited map[string]bool            // vehicles rate_limited with a Retry-After, not yet resumed
	resumed map[string]string          // vehicle → its odometer value when it resumed
	proven  bool                       // a resumed vehicle showed a new value
}

func (w *demoWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	for _, b := range p {
		if b != '\n' {
			w.line = append(w.line, b)
			continue
		}
		w.read(string(w.line))
		w.line = w.line[:0]
	}
	if w.missingLocked() == "" {
		w.done()
	}
	return len(p), nil
}

// read takes in one printer line; other lines are ignored.
func (w *demoWatch) read(line string) {
	vehicleAt := strings.Index(printerHeader, "VEHICLE")
	signalAt := strings.Index(printerHeader, "SIGNAL")
	dataAt := strings.LastIndex(printerHeader, "DATA")
	if len(line) <= dataAt || line[2] != ':' {
		return
	}
	vehicle := strings.TrimSpace(line[vehicleAt:signalAt])
	signal := strings.TrimSpace(line[signalAt:dataAt])
	data := line[dataAt:]
	if w.odo == nil {
		w.odo, w.last, w.limited, w.resumed = map[string]map[string]bool{}, map[string]string{}, map[string]bool{}, map[string]string{}
	}
	switch signal {
	case "status":
		if strings.Contains(data, `"rate_limited"`) && strings.Contains(data, "Retry-After") {
			w.limited[vehicle] = true
		}
	case "(resumed)":
		if w.limited[vehicle] {
			delete(w.limited, vehicle)
			w.resumed[vehicle] = w.last[vehicle]
		}
	case "odometer":
		if w.odo[vehicle] == nil {
			w.odo[vehicle] = map[string]bool{}
		}
		if before, ok := w.resumed[vehicle]; ok && data != before {
			w.proven = true
		}
		w.odo[vehicle][data] = true
		w.last[vehicle] = data
	}
}

func (w *demoWatch) missing() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.missingLocked()
}

// missingLocked says what the output has not shown yet ("" when all).
func (w *demoWatch) missingLocked() string {
	if len(w.odo) < w.vehicles {
		return "odometer values for every vehicle"
	}
	for v, values := range w.odo {
		if n := len(values); n < 3 {
			return "three odometer values for vehicle " + v
		}
	}
	if !w.proven {
		return "a vehicle rate_limited with a Retry-After, resumed, and changing after"
	}
	return ""
}

func (w *demoWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}
