package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
)

type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // of a collapsed row
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("grafana", "smartcar-poller.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	return d
}

// graphs returns every panel that queries, rows' panels included.
func (d dashboard) graphs() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			out = append(out, p)
		}
	}
	walk(d.Panels)
	return out
}

// metricName matches the names of this daemon's series in a PromQL expression.
var metricName = regexp.MustCompile(`\b(?:smartcar_poller|go|process)_[a-zA-Z0-9_]+\b`)

// TestDashboard checks the Grafana dashboard is well-formed: unique panel ids,
// every graph on the dashboard's data source variable, on the grid, with
// queries whose brackets balance.
func TestDashboard(t *testing.T) {
	d := loadDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q, uid %q: both are needed to import and link it", d.Title, d.UID)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" {
		t.Errorf("no datasource variable (templating: %v)", vars)
	}
	ids := map[int]string{}
	var check func([]panel)
	check = func(ps []panel) {
		for _, p := range ps {
			if prev, dup := ids[p.ID]; dup {
				t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
			}
			ids[p.ID] = p.Title
			if p.GridPos.W < 1 || p.GridPos.X+p.GridPos.W > 24 {
				t.Errorf("panel %q gridPos %+v is off the 24-column grid", p.Title, p.GridPos)
			}
			check(p.Panels)
		}
	}
	check(d.Panels)
	graphs := d.graphs()
	if len(graphs) == 0 {
		t.Fatal("no panels")
	}
	for _, p := range graphs {
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use the $datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if !metricName.MatchString(tg.Expr) {
				t.Errorf("panel %q: query %q reads no metric of the daemon", p.Title, tg.Expr)
			}
			for _, pair := range []string{"()", "{}", "[]"} {
				if strings.Count(tg.Expr, pair[:1]) != strings.Count(tg.Expr, pair[1:]) {
					t.Errorf("panel %q: unbalanced %s in %q", p.Title, pair, tg.Expr)
				}
			}
		}
	}
}

// TestDashboard_Metrics runs the daemon (the demo command: embedded NATS and
// the simulator) and checks every series the dashboard queries is in its
// /metrics.
func TestDashboard_Metrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	used := map[string][]string{}
	for _, p := range loadDashboard(t).graphs() {
		for _, tg := range p.Targets {
			for _, m := range metricName.FindAllString(tg.Expr, -1) {
				used[m] = append(used[m], p.Title)
			}
		}
	}
	exported := scrapeDemo(t)
	for m, panels := range used {
		if !exported[m] {
			t.Errorf("panels %q query %s, which the daemon does not export", panels, m)
		}
	}
	// Every family of the daemon is on the dashboard (a histogram through any
	// of its series) unless it is listed in notGraphed.
	graphed := map[string]bool{}
	for m := range used {
		graphed[family(m)] = true
	}
	var missing []string
	for m := range exported {
		f := family(m)
		if strings.HasPrefix(m, "smartcar_poller_") && !graphed[f] && notGraphed[f] == "" && !slices.Contains(missing, f) {
			missing = append(missing, f)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("daemon metrics on no panel (add one, or list them in notGraphed with the reason): %v", missing)
	}
	for f := range notGraphed {
		if !exported[f] {
			t.Errorf("notGraphed lists %s, which the daemon does not export", f)
		}
	}
}

// notGraphed are the daemon's metric families deliberately left off the
// dashboard, with the reason.
var notGraphed = map[string]string{
	"smartcar_poller_smartcar_call_seconds_total": "kept for existing alerts; the call duration histogram replaces it",
	"smartcar_poller_queue_waiting_pulls":         "a NATS detail for debugging a stalled consumer",
}

// family returns the metric family of a series name: a histogram's
// _bucket, _sum and _count series belong to one.
func family(series string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := strings.CutSuffix(series, suffix); ok && strings.HasSuffix(f, "_seconds") {
			return f
		}
	}
	return series
}

// scrapeDemo builds the command, runs `smartcar-poller demo`, and returns the
// names of the series of one /metrics scrape.
func scrapeDemo(t *testing.T) map[string]bool {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "smartcar-poller")
	start := time.Now()
	// In the main module (deploy is a module of its own).
	build := exec.Command("go", "build", "-o", bin, "./cmd/smartcar-poller")
	build.Dir = ".."
	// Without the race detector (CI sets GOFLAGS=-race): only the metric
	// names matter here, and go vet's compiled packages make it a link.
	build.Env = append(os.Environ(), "GOFLAGS="+strings.Join(slices.DeleteFunc(strings.Fields(os.Getenv("GOFLAGS")), func(f string) bool { return f == "-race" }), " "))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built the binary in %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	addr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo", "--vehicles", "1", "--every", "1s", "--http", addr, "--data-dir", t.TempDir())
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = cmd.Wait()
	}()

	deadline := time.Now().Add(60 * time.Second)
	for {
		names, err := scrape("http://" + addr + "/metrics")
		// The HTTP server starts once the app is open: any answer has them all.
		if err == nil && names["smartcar_poller_queue_pending_jobs"] {
			t.Logf("scraped the demo's /metrics %s after its start", time.Since(start).Round(time.Millisecond))
			return names
		}
		if time.Now().After(deadline) {
			t.Fatalf("no /metrics from the demo within 60s (last error: %v)\nstderr:\n%s", err, stderr.String())
		}
		select {
		case <-ctx.Done():
			t.Fatalf("demo: %v\nstderr:\n%s", ctx.Err(), stderr.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// scrape returns the series names in the Prometheus text exposition at url.
func scrape(url string) (map[string]bool, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names, sc.Err()
}
