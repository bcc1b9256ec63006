package main

import (
	"math"
	"slices"
	"sort"
	"time"

	"github.com/smartcar-poller/smartcar-poller/smartcar/smartcartest"
)

// Measured are the kinds of change whose delays the report gives.
var Measured = []smartcartest.ChangeKind{smartcartest.ChangeChargeStart, smartcartest.ChangeChargeStop,
	smartcartest.ChangeTripStart, smartcartest.ChangeTripEnd}

// byWebhook are the kinds a charge webhook shows.
var byWebhook = map[smartcartest.ChangeKind]bool{smartcartest.ChangeChargeStart: true, smartcartest.ChangeChargeStop: true}

// settle is how long before the end of a run a change must happen to be
// measured: every policy gets this long to see it.
const settle = 12 * time.Hour

// Delays are the delays of one kind of change, in minutes, and how many
// changes were never seen.
type Delays struct {
	Minutes []float64
	Missed  int
}

// N is how many changes there were.
func (d *Delays) N() int { return len(d.Minutes) + d.Missed }

// Quantile returns the q-quantile of the delays, counting missed changes
// as infinitely late.
func (d *Delays) Quantile(q float64) float64 {
	n := d.N()
	if n == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(q*float64(n))) - 1
	if i >= len(d.Minutes) {
		return math.Inf(1)
	}
	return d.Minutes[max(i, 0)]
}

// Within returns the share of changes seen within minutes.
func (d *Delays) Within(minutes float64) float64 {
	if d.N() == 0 {
		return math.NaN()
	}
	n, _ := slices.BinarySearch(d.Minutes, minutes+1e-9)
	return float64(n) / float64(d.N())
}

// Result is what a run measured.
type Result struct {
	Policy   string
	Vehicles int
	Days     int
	// MaxBilled is the most billed calls a vehicle made in the month;
	// MeanBilled the mean.
	MaxBilled  int
	MeanBilled float64
	Quota430   int                                 // 430 answers
	Delays     map[smartcartest.ChangeKind]*Delays // by kind
	// ByPersona are the delays by persona, and Polls the polls that
	// returned data, by persona.
	ByPersona map[smartcartest.Persona]map[smartcartest.ChangeKind]*Delays
	Polls     map[smartcartest.Persona]int
	Personas  map[smartcartest.Persona]int // vehicles
	Webhooks  int                          // deliveries
	Elapsed   time.Duration
}

// measure takes, for every true change of every vehicle, the delay until a
// poll (or, for charges, a webhook) showed it.
func measure(w *World, name string, start, end time.Time) *Result {
	r := &Result{Policy: name, Vehicles: len(w.IDs), Days: int(end.Sub(start).Hours() / 24),
		Delays: map[smartcartest.ChangeKind]*Delays{}, ByPersona: map[smartcartest.Persona]map[smartcartest.ChangeKind]*Delays{},
		Polls: map[smartcartest.Persona]int{}, Personas: map[smartcartest.Persona]int{}}
	for _, k := range Measured {
		r.Delays[k] = &Delays{}
	}
	persona := map[string]smartcartest.Persona{}
	for _, v := range w.Sim.Vehicles() {
		persona[v.ID] = v.Persona
		if r.ByPersona[v.Persona] == nil {
			r.ByPersona[v.Persona] = map[smartcartest.ChangeKind]*Delays{}
			for _, k := range Measured {
				r.ByPersona[v.Persona][k] = &Delays{}
			}
		}
	}
	w.Seen.mu.Lock()
	defer w.Seen.mu.Unlock()
	for _, id := range w.IDs {
		polls, hooks := w.Seen.polls[id], w.Seen.webhooks[id]
		i, _ := slices.BinarySearchFunc(polls, start, time.Time.Compare)
		r.Polls[persona[id]] += len(polls) - i
		r.Personas[persona[id]]++
		r.Quota430 += w.Seen.quota[id]
		r.Webhooks += len(hooks)
		for _, c := range w.Sim.StateChanges(id, start, end.Add(-settle)) {
			d, pd := r.Delays[c.Kind], r.ByPersona[persona[id]][c.Kind]
			if d == nil {
				continue
			}
			seen, ok := firstAt(polls, c.Time)
			if byWebhook[c.Kind] {
				if h, hok := firstAt(hooks, c.Time); hok && (!ok || h.Before(seen)) {
					seen, ok = h, true
				}
			}
			if !ok || !seen.Before(end) {
				d.Missed++
				pd.Missed++
				continue
			}
			d.Minutes = append(d.Minutes, seen.Sub(c.Time).Minutes())
			pd.Minutes = append(pd.Minutes, seen.Sub(c.Time).Minutes())
		}
	}
	for _, d := range r.Delays {
		slices.Sort(d.Minutes)
	}
	for _, m := range r.ByPersona {
		for _, d := range m {
			slices.Sort(d.Minutes)
		}
	}
	total := 0
	for _, b := range w.Sim.Billing() {
		if b.Month == start.UTC().Format("2006-01") {
			r.MaxBilled = max(r.MaxBilled, b.Calls)
			total += b.Calls
		}
	}
	r.MeanBilled = float64(total) / float64(len(w.IDs))
	return r
}

// firstAt returns the first of the sorted times at or after t.
func firstAt(times []time.Time, t time.Time) (time.Time, bool) {
	i := sort.Search(len(times), func(i int) bool { return !times[i].Before(t) })
	if i == len(times) {
		return time.Time{}, false
	}
	return times[i], true
}
