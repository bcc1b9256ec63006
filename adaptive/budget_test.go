package adaptive_test

import (
	"testing"
	"time"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
)

var june = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// busy is a vehicle that always drives: it would take every poll it can.
func busy(t time.Time) adaptive.Observation {
	return adaptive.Observation{At: t, OEMUpdatedAt: t, Has: adaptive.HasGear | adaptive.HasOdometer, Gear: "D",
		OdometerKm: 1000 + t.Sub(june).Hours()*30}
}

// floors of a second: only the budget holds the polls back.
func fastConfig(calls int) adaptive.Config {
	c := adaptive.DefaultConfig()
	c.Budget.CallsPerMonth = calls
	c.Intervals = adaptive.Intervals{Driving: time.Second, Charging: time.Second, PluggedIn: time.Second,
		Parked: time.Second, Asleep: time.Second}
	return c
}

// TestPolicy_BudgetSpread: a vehicle that would take every poll spends its
// month's polls (the budget less the reserve) and no more, spread over the
// month: at no time more than one day's share ahead of the even line.
func TestPolicy_BudgetSpread(t *testing.T) {
	p := newPolicy(t, fastConfig(500)) // 450 polls, 50 in reserve
	v := &adaptive.Vehicle{}
	end := june.AddDate(0, 1, 0)
	polls := drive(p, v, busy, june, end)
	if len(polls) != 450 {
		t.Errorf("%d polls in June, want the 450 the budget leaves after the reserve", len(polls))
	}
	month := end.Sub(june)
	for i, at := range polls {
		line := 450 * float64(at.Sub(june)) / float64(month)
		if ahead := float64(i+1) - line; ahead > 15+1 {
			t.Fatalf("poll %d at %v is %.1f polls ahead of the even line, more than a day's share (15)", i+1, at, ahead)
		}
	}
	if polls, other := p.Spent(v, end.Add(-time.Second)); polls != 450 || other != 0 {
		t.Errorf("Spent = %d polls, %d other; want 450, 0", polls, other)
	}
	// What is left of the month waits for July.
	if due := p.Next(v, end.Add(-time.Hour)); !due.Equal(end) {
		t.Errorf("Next after the month's polls = %v, want %v", due, end)
	}
}

// TestPolicy_BudgetSpreadsWhatIsLeft: a vehicle that spent nothing for half
// the month spreads the whole month's polls over what is left of it, never
// more than a day's share at once.
func TestPolicy_BudgetSpreadsWhatIsLeft(t *testing.T) {
	p := newPolicy(t, fastConfig(500))
	v := &adaptive.Vehicle{}
	mid := june.AddDate(0, 0, 15)
	polls := drive(p, v, busy, mid, june.AddDate(0, 1, 0))
	if len(polls) < 440 || len(polls) > 450 {
		t.Errorf("%d polls in the second half of June, want about the month's 450", len(polls))
	}
	var first24h int
	for _, at := range polls {
		if at.Before(mid.Add(24 * time.Hour)) {
			first24h++
		}
	}
	// A day's share of what is left (450 over 15 days), plus the day's refill.
	if first24h > 61 {
		t.Errorf("%d polls in the first day, want at most two days' share (60)", first24h)
	}
}

// TestPolicy_Reserve: calls that are not polls (commands, retries) come out
// of the reserve first; past it, out of the polls.
func TestPolicy_Reserve(t *testing.T) {
	p := newPolicy(t, fastConfig(100)) // 90 polls, 10 in reserve
	v := &adaptive.Vehicle{}
	p.Billed(v, june, 10)
	if got := len(drive(p, v, busy, june, june.AddDate(0, 1, 0))); got != 90 {
		t.Errorf("with the reserve spent on commands: %d polls, want 90", got)
	}
	w := &adaptive.Vehicle{}
	p.Billed(w, june, 30)
	if got := len(drive(p, w, busy, june, june.AddDate(0, 1, 0))); got != 70 {
		t.Errorf("with 30 calls on commands: %d polls, want 70 (never past the month's 100)", got)
	}
	if polls, other := p.Spent(w, june.AddDate(0, 0, 29)); polls+other != 100 {
		t.Errorf("Spent = %d + %d, want 100 in all", polls, other)
	}
}

// TestPolicy_MonthRollover: the counters start again in a new month, with a
// day's share to spend at once.
func TestPolicy_MonthRollover(t *testing.T) {
	p := newPolicy(t, fastConfig(500))
	v := &adaptive.Vehicle{}
	july := june.AddDate(0, 1, 0)
	drive(p, v, busy, june, july)
	polls := drive(p, v, busy, july, july.AddDate(0, 0, 1))
	if len(polls) < 28 || len(polls) > 32 || !polls[0].Equal(july) {
		t.Errorf("first day of July: %d polls from %v, want about two days' share (29) from the 1st", len(polls), polls[0])
	}
	if n, _ := p.Spent(v, july.Add(23*time.Hour)); n != len(polls) {
		t.Errorf("Spent in July = %d, want %d", n, len(polls))
	}
	if n, _ := p.Spent(v, june.AddDate(0, 0, 10)); n != 0 {
		t.Errorf("Spent for June once July began = %d, want 0: the record keeps one month", n)
	}
}

// TestPolicy_QuotaExhausted: a 430 in the middle of the month parks the
// vehicle until the next month, however it is asked.
func TestPolicy_QuotaExhausted(t *testing.T) {
	p := newPolicy(t, fastConfig(500))
	v := &adaptive.Vehicle{}
	mid := june.AddDate(0, 0, 14)
	drive(p, v, busy, june, mid)
	july := june.AddDate(0, 1, 0)
	if due := p.QuotaExhausted(v, mid); !due.Equal(july) {
		t.Fatalf("QuotaExhausted = %v, want %v", due, july)
	}
	for _, at := range []time.Time{mid.Add(time.Minute), mid.AddDate(0, 0, 10)} {
		if due := p.Next(v, at); !due.Equal(july) {
			t.Errorf("Next at %v = %v, want %v", at, due, july)
		}
	}
	// A poll that still comes (another replica, a retry) does not unpark it.
	if due := p.Polled(v, busy(mid.Add(time.Hour)), 1); !due.Equal(july) {
		t.Errorf("Polled after the 430 = %v, want %v", due, july)
	}
	if due := p.Next(v, july); !due.Equal(july) {
		t.Errorf("Next on July 1st = %v, want at once", due)
	}
	if polls := drive(p, v, busy, july, july.AddDate(0, 0, 1)); len(polls) < 28 {
		t.Errorf("July 1st: %d polls, want polling again", len(polls))
	}
}
