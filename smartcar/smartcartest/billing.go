package smartcartest

import (
	"slices"
	"strings"
	"time"
)

// ledger counts a vehicle's billed calls per calendar month (UTC);
// guarded by vehicleLimiter.mu.
type ledger map[int]int // year*12+month-1 → calls

func monthKey(t time.Time) int {
	u := t.UTC()
	return u.Year()*12 + int(u.Month()) - 1
}

func monthOf(key int) string {
	return time.Date(key/12, time.Month(key%12+1), 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
}

// bill counts one billed call for v in the month of c.now, reporting false
// (and counting nothing) when the monthly quota is already spent.
//
// What is billed: every v2.0 data endpoint and command, every v2.0 batch
// item (the batch call itself is not), and every v3 vehicle call except the
// command-executions read. Connections, IAM, management and admin calls
// are free, and so is a call the simulator refuses before billing.
func (s *Server) bill(c *call, v *vehicle) bool {
	month := monthKey(c.now)
	l := &v.lim
	l.mu.Lock()
	if l.billed == nil {
		l.billed = ledger{}
	}
	if s.cfg.quota > 0 && l.billed[month] >= s.cfg.quota {
		l.mu.Unlock()
		return false
	}
	l.billed[month]++
	l.mu.Unlock()
	c.rec.Billed++
	s.stats.billedCalls.Add(1)
	return true
}

// BillingMonth is the billed calls of one vehicle in one calendar month.
type BillingMonth struct {
	VehicleID string `json:"vehicleId"`
	Month     string `json:"month"` // "2026-05", UTC
	Calls     int    `json:"calls"`
}

// BilledCalls returns how many billed calls vehicleID made in the calendar
// month (UTC) that contains month.
func (s *Server) BilledCalls(vehicleID string, month time.Time) int {
	v := s.vehicle(vehicleID)
	if v == nil {
		return 0
	}
	v.lim.mu.Lock()
	defer v.lim.mu.Unlock()
	return v.lim.billed[monthKey(month)]
}

// Billing returns the billed calls of every vehicle per month, by vehicle
// creation order and then month. It is the quota's own ledger:
// ResetRecords leaves it alone.
func (s *Server) Billing() []BillingMonth {
	s.mu.RLock()
	order := slices.Clone(s.order)
	s.mu.RUnlock()
	var out []BillingMonth
	for _, v := range order {
		v.lim.mu.Lock()
		keys := make([]int, 0, len(v.lim.billed))
		for k := range v.lim.billed {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = append(out, BillingMonth{VehicleID: v.ID, Month: monthOf(k), Calls: v.lim.billed[k]})
		}
		v.lim.mu.Unlock()
	}
	return out
}

// billingFilter keeps the months of vehicleID ("" = all) and month
// ("" = all).
func billingFilter(in []BillingMonth, vehicleID, month string) []BillingMonth {
	out := in[:0]
	for _, b := range in {
		if (vehicleID == "" || b.VehicleID == vehicleID) && (month == "" || strings.EqualFold(b.Month, month)) {
			out = append(out, b)
		}
	}
	return out
}
