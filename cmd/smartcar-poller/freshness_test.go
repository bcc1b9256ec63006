package main

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestFreshness_Oldest(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f := newFreshness(time.Hour)
	if age, n := f.oldest(now); age != 0 || n != 0 {
		t.Fatalf("empty: oldest = %v, %d; want 0, 0", age, n)
	}
	f.observe("v1", now.Add(-10*time.Minute), now)
	f.observe("v2", now.Add(-time.Minute), now)
	// An older value of v1 arriving later (another path, a slow replica's
	// answer) does not make its newest data older.
	f.observe("v1", now.Add(-30*time.Minute), now.Add(time.Minute))
	if age, n := f.oldest(now.Add(time.Minute)); age != 11*time.Minute || n != 2 {
		t.Errorf("oldest = %v over %d vehicles, want 11m (v1's newest) over 2", age, n)
	}
	// v1 gets fresh data: v2 is now the oldest.
	f.observe("v1", now.Add(2*time.Minute), now.Add(2*time.Minute))
	if age, n := f.oldest(now.Add(2 * time.Minute)); age != 3*time.Minute || n != 2 {
		t.Errorf("oldest = %v over %d vehicles, want 3m (v2) over 2", age, n)
	}
	// v2 is not seen for longer than the forget window: it leaves the gauge.
	later := now.Add(90 * time.Minute)
	f.observe("v1", later.Add(-5*time.Minute), later)
	if age, n := f.oldest(later); age != 5*time.Minute || n != 1 {
		t.Errorf("after v2's forget window: oldest = %v over %d vehicles, want 5m over 1", age, n)
	}
	// Data stamped after now (clock skew) counts as age 0, not negative.
	f.observe("v3", later.Add(time.Minute), later)
	f.observe("v1", later.Add(time.Minute), later)
	if age, _ := f.oldest(later); age != 0 {
		t.Errorf("future data: oldest = %v, want 0", age)
	}
}

// TestFreshness_Concurrent: polls of many vehicles from many goroutines,
// with scrapes in between, keep every vehicle once (run with -race).
func TestFreshness_Concurrent(t *testing.T) {
	now := time.Now()
	f := newFreshness(time.Hour)
	const goroutines, vehicles = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range vehicles {
				f.observe(fmt.Sprintf("v%d", i), now.Add(-time.Duration(i+g)*time.Second), now)
				if i%100 == 0 {
					f.oldest(now)
				}
			}
		})
	}
	wg.Wait()
	// Vehicle i's newest is now-i s (goroutine 0), so the oldest is v499's.
	if age, n := f.oldest(now); n != vehicles || age != (vehicles-1)*time.Second {
		t.Errorf("oldest = %v over %d vehicles, want %v over %d", age, n, (vehicles-1)*time.Second, vehicles)
	}
}

func BenchmarkFreshness_Observe(b *testing.B) {
	f := newFreshness(time.Hour)
	ids := make([]string, 100_000)
	for i := range ids {
		ids[i] = fmt.Sprintf("vehicle-%08d-0000-0000-0000-000000000000", i)
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			f.observe(ids[i%len(ids)], now, now)
			i++
		}
	})
}
