package reliability

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/config"
	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// TestFaults_RefreshResponseLost (API v2, which polls with the users'
// tokens) lets a refresh succeed at Smartcar and then drops the connection, so the daemon never sees the new pair while the
// refresh token it sent is spent.
//
// Within Smartcar's grace period (a minute; the simulator's default) the
// spent refresh token answers again with the same new pair: the daemon
// retries at once, stores that pair and goes on polling, and no vehicle is
// marked needs_reauth. Once the grace has passed nothing can recover the
// grant: the daemon then marks its vehicles needs_reauth, once, and keeps
// running.
func TestFaults_RefreshResponseLost(t *testing.T) {
	t.Parallel()
	lost := 1
	if full() {
		lost = 5
	}
	t.Run("within_grace", func(t *testing.T) {
		t.Parallel()
		sim := newSim(t, smartcartest.WithSeed(25), smartcartest.WithVehicles(2),
			smartcartest.WithoutLimits(), smartcartest.WithAccessTokenLifetime(2*time.Second), smartcartest.WithTimeScale(60))
		s := newSetup(t, sim, options{API: config.APIV2})
		s.connect()
		// Set after connect, which exchanges a refresh token too.
		sim.SetFault("", "/oauth/token", smartcartest.Fault{DropAfterRotate: true, Times: lost})
		r := s.start("a", "")
		start := sim.Stats()
		s.waitTicks(t, 90*time.Second, "polling after the lost refresh responses", func(tl tally) bool {
			st := sim.Stats()
			return st.FaultsInjected >= int64(lost) && st.Refreshes >= start.Refreshes+int64(lost)+2 && len(tl.Missing) == 0 &&
				tl.ticksBetween(time.Now().Add(-3*time.Second), time.Now()) >= 1
		}, r)
		r.term(t, s.opts.ShutdownGrace+20*time.Second)
		s.drain(t, 60*time.Second)

		tl := s.final(t)
		tl.check(t)
		st := sim.Stats()
		if len(tl.NeedsReauth) > 0 {
			t.Errorf("needs_reauth published for %v; the grace period allowed a recovery", tl.NeedsReauth)
		}
		if st.GraceRefreshReuse < int64(lost) || st.SpentRefreshReuse != 0 {
			t.Errorf("grace reuses %d (want >= %d, one per lost response), spent refresh reuses %d (want 0)",
				st.GraceRefreshReuse, lost, st.SpentRefreshReuse)
		}
		if out := s.vehiclesList(t); strings.Count(out, "connected") != len(s.Vehicles) || strings.Contains(out, "needs_reauth") {
			t.Errorf("vehicles list after recovery:\n%s", out)
		}
		s.figures(t, "refresh-lost-within-grace", tl, "lost_responses="+itoa(lost))
	})
	t.Run("grace_expired", func(t *testing.T) {
		t.Parallel()
		sim := newSim(t, smartcartest.WithSeed(26), smartcartest.WithVehicles(2),
			smartcartest.WithoutLimits(), smartcartest.WithAccessTokenLifetime(2*time.Second),
			smartcartest.WithRefreshGrace(time.Millisecond), smartcartest.WithTimeScale(60))
		s := newSetup(t, sim, options{API: config.APIV2})
		s.connect()
		sim.SetFault("", "/oauth/token", smartcartest.Fault{DropAfterRotate: true, Times: 1})
		r := s.start("a", "")
		tl := s.waitTicks(t, 90*time.Second, "needs_reauth for every vehicle", func(tl tally) bool {
			return len(tl.NeedsReauth) == len(s.Vehicles)
		}, r)
		r.alive(t)
		r.term(t, s.opts.ShutdownGrace+20*time.Second)
		st := sim.Stats()
		if st.FaultsInjected != 1 || st.SpentRefreshReuse != 1 {
			t.Errorf("faults %d, spent refresh reuses %d; want 1 and 1 (the one retry the API leaves, then never again)",
				st.FaultsInjected, st.SpentRefreshReuse)
		}
		if out := s.vehiclesList(t); strings.Count(out, "needs_reauth") != len(s.Vehicles) {
			t.Errorf("vehicles list should show every vehicle needs_reauth:\n%s", out)
		}
		s.figures(t, "refresh-lost-grace-expired", tl, "needs_reauth="+itoa(len(tl.NeedsReauth)))
	})
}

// vehiclesList runs `smartcar-poller vehicles list`.
func (s *setup) vehiclesList(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(s.bin, "vehicles", "list", "--config", s.config("list", "", ""))
	cmd.Env = append(os.Environ(), s.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("vehicles list: %v\n%s", err, out)
	}
	return string(out)
}
