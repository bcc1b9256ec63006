package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/time/rate"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/events"
	"github.com/smartcar-poller/smartcar-poller/internal/testserver"
	"github.com/smartcar-poller/smartcar-poller/queue"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// replicaRun sizes TestReplicas_ThreeProcesses: CI runs the fast one, make
// faults (FAULTS=full) the long one.
type replicaRun struct {
	users, vehicles int
	run             time.Duration // how long the schedulers run
	perMinute       float64       // app budget, the daemons' and the simulator's
	burst           int
	minRefreshes    int64
}

func replicaRunSize() replicaRun {
	if os.Getenv("FAULTS") == "full" {
		return replicaRun{users: 10, vehicles: 20, run: 100 * time.Second, perMinute: 1320, burst: 12, minRefreshes: 1000}
	}
	return replicaRun{users: 8, vehicles: 16, run: 14 * time.Second, perMinute: 1080, burst: 12, minRefreshes: 100}
}

// replica is one daemon process.
type replica struct {
	p      *proc
	http   string
	exited chan error
}

// TestReplicas_ThreeProcesses runs three daemon processes on the machine's
// Redis and NATS against one simulator, every one running the scheduler,
// with more demand than the app budget and Retry-After answers on some
// vehicles, on each API. It checks that every (schedule, vehicle, tick) is
// polled exactly once, that the simulator's app bucket (the same numbers as
// the daemons') never refuses a call and that no held vehicle is called.
//
// On API v3 each replica fetches one application token (they live an hour
// here, as on Smartcar) and one more after the simulator revokes every token
// mid-run; every call carries the vehicle's user as sc-user-id, and no
// refresh token is spent. On API v2 access tokens live one second (so every
// poll of a grant at a new tick finds its token expiring, on all replicas at
// once), and no refresh token is sent twice.
func TestReplicas_ThreeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three daemons")
	}
	for _, api := range []string{config.APIV3, config.APIV2} {
		t.Run(api, func(t *testing.T) { testReplicas(t, api) })
	}
}

func testReplicas(t *testing.T, api string) {
	size := replicaRunSize()
	nc := testserver.NATS(t)
	testserver.Redis(t)
	sim := smartcartest.NewServer(smartcartest.WithSeed(21), smartcartest.WithUsers(size.users), smartcartest.WithVehicles(size.vehicles),
		smartcartest.WithAccessTokenLifetime(time.Second), smartcartest.WithVehicleRateLimit(1000, time.Millisecond),
		smartcartest.WithAppRateLimit(size.burst, size.perMinute), smartcartest.WithTimeScale(60),
		smartcartest.WithAppTokenLifetime(60*time.Hour)) // an hour of real time
	defer sim.Close()
	bin := buildBinary(t)
	dir := t.TempDir()
	prefix := testserver.Unique("rep")
	const replicas = 3
	httpAddrs := make([]string, replicas)
	for i := range httpAddrs {
		httpAddrs[i] = fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	}
	fast, slow := "paths: [/odometer, /location]", "paths: [/security]"
	if api == config.APIV3 {
		fast, slow = "signals: [odometer, location]", "signals: [lock_status]"
	}
	cfgPath := filepath.Join(dir, "poller.yaml")
	writeFile(t, cfgPath, fmt.Sprintf(`# three replicas
nats: { url: %q, subject_prefix: %s }
redis: { url: "redis://%s", key_prefix: "%s:" }
tokens: { encryption_key_file: %q }
data_dir: %s
smartcar:
  api: %s
  client_id: %q
  client_secret: %q
  redirect_uri: %q
  rate_limit: { requests_per_minute: %v, burst: %d }
  timeout: 20s
workers: { concurrency: 8, shutdown_grace: 5s }
http: { listen: "${POLLER_HTTP}" }
schedules:
  - { name: fast, cron: "@every 1s", %s, vehicles: all, emit: always }
  - { name: slow, cron: "@every 4s", jitter: 500ms, %s, vehicles: all, emit: always }
`, testserver.NATSURL(), prefix, testserver.RedisAddr(), prefix, testKeyFile(t), dir, api, sim.ClientID, sim.ClientSecret, sim.RedirectURI,
		size.perMinute, size.burst, fast, slow))
	t.Setenv("POLLER_HTTP", "127.0.0.1:0") // for the in-process app; each process gets its own
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HTTP.Listen = ""

	// The in-process app connects the grants now and drains the queue at the end.
	ctx := t.Context()
	app, err := open(ctx, cfg, testLogger(t), simOptions(sim))
	if err != nil {
		t.Fatal(err)
	}
	cleanupNames(t, app, prefix)
	defer app.Close()
	// Connecting calls the API (2 calls a grant) outside the daemons'
	// limiter: pace it with a copy of the simulator's bucket (less two
	// tokens, as the two clocks differ a little), and let that fill up again
	// before the daemons start.
	bucket := rate.NewLimiter(rate.Limit(size.perMinute/60), size.burst-2)
	for _, u := range sim.Users() {
		if err := bucket.WaitN(ctx, 2); err != nil {
			t.Fatal(err)
		}
		tok, ok := sim.ConnectUser(u, nil, nil)
		if !ok {
			t.Fatalf("connect %s", u)
		}
		access, err := app.Auth().ExchangeRefreshToken(ctx, tok.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.connectGrant(ctx, access, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := bucket.WaitN(ctx, size.burst-2); err != nil {
		t.Fatal(err)
	}
	sim.ResetRecords()

	// Every job any scheduler enqueues, copies included.
	var (
		mu   sync.Mutex
		jobs = map[string]queue.PollJob{}
		sent int
	)
	sub, err := nc.Subscribe(prefix+".jobs.>", func(m *nats.Msg) {
		var j queue.PollJob
		if err := json.Unmarshal(m.Data, &j); err != nil {
			t.Errorf("bad job: %v", err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		sent++
		if !strings.Contains(j.ID, "|") {
			jobs[j.ID] = j
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	env := simEnv(sim)
	var reps []*replica
	for i := range replicas {
		r := &replica{p: command(bin, append(env, "POLLER_HTTP="+httpAddrs[i]), "run", "--config", cfgPath), http: httpAddrs[i], exited: make(chan error, 1)}
		if err := r.p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { r.exited <- r.p.cmd.Wait() }()
		reps = append(reps, r)
	}
	defer func() {
		for _, r := range reps {
			_ = r.p.cmd.Process.Kill()
		}
	}()

	// Retry-After answers on three vehicles, one each every 5 s.
	vehicles := sim.VehicleIDs()
	faulted := vehicles[:3]
	faultPath := "/batch"
	if api == config.APIV3 {
		faultPath = "/v3/vehicles/x/signals"
	}
	rounds := 0
	setFaults := func() {
		rounds++
		for _, v := range faulted {
			sim.SetFault(v, faultPath, smartcartest.Fault{Type: "RATE_LIMIT", Code: "VEHICLE", RetryAfter: 2 * time.Second, Times: 1})
		}
	}
	setFaults()
	start := time.Now()
	faults := time.NewTicker(5 * time.Second)
	defer faults.Stop()
	end := time.After(size.run)
	// Half way, every application token is revoked (as rotating the client
	// secret would revoke them): each replica's next call gets 401 and the
	// replica fetches one new token for all its workers.
	revoke := time.After(size.run / 2)
	var revokedAt time.Time
	for running := true; running; {
		select {
		case <-faults.C:
			setFaults()
		case <-revoke:
			revokedAt = time.Now()
			if n := sim.RevokeAppTokens(); api == config.APIV3 && n != replicas {
				t.Errorf("%d live application tokens at the revocation, want %d (one per replica)", n, replicas)
			}
		case <-end:
			running = false
		}
		for i, r := range reps {
			select {
			case err := <-r.exited:
				t.Fatalf("replica %d exited early: %v\n%s", i, err, r.p.stderr.String())
			default:
			}
		}
	}
	// Each replica did part of the work.
	for i, r := range reps {
		if n := metricValue(t, httpGet(t, "http://"+r.http+"/metrics"), `smartcar_poller_polls_total{outcome="ok"}`); n < 1 {
			t.Errorf("replica %d polled nothing", i)
		}
	}
	var wg sync.WaitGroup
	for i, r := range reps {
		if err := r.p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			select {
			case err := <-r.exited:
				if err != nil {
					t.Errorf("replica %d exit after SIGTERM: %v\n%s", i, err, r.p.stderr.String())
				}
			case <-time.After(30 * time.Second):
				t.Errorf("replica %d still running 30s after SIGTERM", i)
			}
		})
	}
	wg.Wait()
	ran := time.Since(start)
	// Before the in-process app (which has its own client) finishes what the
	// replicas handed back or snoozed: the replicas' application tokens.
	if api == config.APIV3 {
		checkAppTokens(t, sim.Requests(), revokedAt, replicas)
	}
	drainQueue(t, app)
	_ = sub.Unsubscribe()
	for i, r := range reps {
		if logs := r.p.stderr.String(); strings.Contains(logs, sim.ClientSecret) {
			t.Errorf("replica %d logged the client secret", i)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	checkOncePerTick(t, app, prefix, sim, jobs)
	st := sim.Stats()
	reqs := sim.Requests()
	refreshes := checkRefreshes(t, reqs)
	calls := checkBudget(t, reqs, size)
	switch api {
	case config.APIV2:
		if st.Refreshes < size.minRefreshes {
			t.Errorf("%d refreshes, want >= %d", st.Refreshes, size.minRefreshes)
		}
	case config.APIV3:
		if st.Refreshes != 0 || st.MissingUserID != 0 || st.Paths["/batch"] != 0 {
			t.Errorf("on API v3: %d refreshes, %d calls without sc-user-id, %d batch calls; want none", st.Refreshes, st.MissingUserID, st.Paths["/batch"])
		}
		users := map[string]string{}
		for _, v := range sim.Vehicles() {
			users[v.ID] = v.UserID
		}
		wrong := 0
		for _, r := range reqs {
			// A 401 (a revoked token) is refused before the simulator reads
			// the user; MissingUserID counts calls without one.
			if r.Route == "/v3/signals" && r.Status != http.StatusUnauthorized && r.UserID != users[r.VehicleID] {
				wrong++
			}
		}
		if wrong > 0 {
			t.Errorf("%d /signals calls did not act for the vehicle's user", wrong)
		}
	}
	if st.SpentRefreshReuse != 0 || st.GraceRefreshReuse != 0 || st.RetryAfterViolations != 0 || st.ExpiredTokenUses != 0 || st.AppRateLimited != 0 {
		t.Errorf("rule breaks: spent refresh reuse %d, grace refresh reuse %d, Retry-After violations %d, expired token uses %d, app rate limited %d; want 0",
			st.SpentRefreshReuse, st.GraceRefreshReuse, st.RetryAfterViolations, st.ExpiredTokenUses, st.AppRateLimited)
	}
	// A round set just before the end may find no poll of its vehicle left.
	if most, least := int64(rounds*len(faulted)), int64((rounds-1)*len(faulted)); st.FaultsInjected < least || st.FaultsInjected > most {
		t.Errorf("faults injected = %d, want %d to %d", st.FaultsInjected, least, most)
	}
	t.Logf("API %s, %d replicas, %s: %d jobs (%d enqueue copies), %d API calls, %d refreshes (%d refresh requests), %d application tokens, %d Retry-After answers, "+
		"violations: Retry-After %d, spent refresh %d, grace refresh %d, app limit %d, expired token %d, no sc-user-id %d",
		api, replicas, ran.Round(time.Second), len(jobs), sent, calls, st.Refreshes, refreshes, st.AppTokens, st.FaultsInjected,
		st.RetryAfterViolations, st.SpentRefreshReuse, st.GraceRefreshReuse, st.AppRateLimited, st.ExpiredTokenUses, st.MissingUserID)
}

// checkAppTokens checks that the replicas fetched one application token
// each before the revocation at revokedAt and one each after it: the token
// requests (all answered 200) and, in each period, the distinct tokens the
// /signals calls carried.
func checkAppTokens(t *testing.T, reqs []smartcartest.Request, revokedAt time.Time, replicas int) {
	t.Helper()
	var fetched [2]int
	used := [2]map[string]bool{{}, {}}
	for _, r := range reqs {
		period := 0
		if r.Time.After(revokedAt) {
			period = 1
		}
		switch {
		case r.Route == "/oauth2/token":
			fetched[period]++
			if r.Status != http.StatusOK {
				t.Errorf("application token request answered %d %s", r.Status, r.Outcome)
			}
		case r.Route == "/v3/signals" && r.Status != http.StatusUnauthorized:
			used[period][r.Token] = true
		}
	}
	for i, when := range []string{"before the revocation", "after the revocation"} {
		if fetched[i] != replicas || len(used[i]) != replicas {
			t.Errorf("%s: %d application tokens fetched and %d used, want %d each (one per replica)", when, fetched[i], len(used[i]), replicas)
		}
	}
}

// checkOncePerTick checks that every job the schedulers enqueued produced
// one event per path or signal, that no (schedule, vehicle, tick, signal)
// has two, and that the simulator answered exactly one successful call (a
// batch, a /signals) per job.
func checkOncePerTick(t *testing.T, app *App, prefix string, sim *smartcartest.Server, jobs map[string]queue.PollJob) {
	t.Helper()
	type key struct {
		schedule, vehicle string
		tick              time.Time
	}
	got := map[key]map[events.Signal]int{}
	for _, ev := range allEvents(t, app, prefix) {
		sig, _ := ev.Signal()
		if sig == events.SignalStatus {
			continue
		}
		if sig == events.SignalError {
			t.Errorf("unexpected error event: %s", ev.Data)
			continue
		}
		k := key{ev.Schedule, ev.Subject, ev.Tick.UTC()}
		if got[k] == nil {
			got[k] = map[events.Signal]int{}
		}
		got[k][sig]++
	}
	perVehicle := map[string]int{}
	var missing []string
	for _, j := range jobs {
		k := key{j.Schedule, j.VehicleID, j.Tick.UTC()}
		perVehicle[j.VehicleID]++
		if len(got[k]) != len(j.Paths)+len(j.Signals) {
			missing = append(missing, j.ID)
		}
		for sig, n := range got[k] {
			if n != 1 {
				t.Errorf("%d %s events for job %s, want 1", n, sig, j.ID)
			}
		}
		delete(got, k)
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("%d of %d jobs lack events: %v", len(missing), len(jobs), missing[:min(len(missing), 10)])
	}
	for k := range got {
		t.Errorf("events for a job nobody enqueued: %+v", k)
	}
	ok := map[string]int{}
	for _, r := range sim.Requests() {
		if (r.Route == "/batch" || r.Route == "/v3/signals") && r.Status == 200 {
			ok[r.VehicleID]++
		}
	}
	for v, n := range perVehicle {
		if ok[v] != n {
			t.Errorf("vehicle %s: %d successful calls for %d jobs, want one each", v, ok[v], n)
		}
	}
	if len(jobs) == 0 {
		t.Fatal("no jobs were enqueued")
	}
}

// checkRefreshes checks that no refresh token was sent twice and every
// refresh succeeded; it returns the number of refresh requests.
func checkRefreshes(t *testing.T, reqs []smartcartest.Request) int {
	t.Helper()
	seen := map[string]int{}
	n := 0
	for _, r := range reqs {
		if r.Route != "/oauth/token" {
			continue
		}
		n++
		seen[r.Token]++
		if r.Status != 200 {
			t.Errorf("refresh answered %d %s", r.Status, r.Outcome)
		}
	}
	for tok, c := range seen {
		if c > 1 {
			t.Errorf("refresh token %s sent %d times", tok, c)
		}
	}
	return n
}

// checkBudget counts the API calls in every window that starts at a call
// (1 s and 10 s wide): none may hold more than the bucket allows, burst +
// rate × window. It returns the number of API calls.
func checkBudget(t *testing.T, reqs []smartcartest.Request, size replicaRun) int {
	t.Helper()
	var at []time.Time
	for _, r := range reqs {
		if !strings.HasPrefix(r.Route, "/oauth") {
			at = append(at, r.Time)
		}
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	for _, w := range []time.Duration{time.Second, 10 * time.Second} {
		limit := float64(size.burst) + size.perMinute*w.Minutes()
		most, j := 0, 0
		for i := range at {
			for j < len(at) && at[j].Sub(at[i]) < w {
				j++
			}
			most = max(most, j-i)
		}
		t.Logf("most API calls in a %s window: %d (budget %.0f)", w, most, limit)
		if float64(most) > limit {
			t.Errorf("%d API calls within %s, more than the budget of %.0f", most, w, limit)
		}
	}
	return len(at)
}

// metricValue reads one sample from a Prometheus text exposition.
func metricValue(t *testing.T, body, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		t.Errorf("metric %s not found", name)
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Errorf("metric %s: %v", name, err)
	}
	return v
}
