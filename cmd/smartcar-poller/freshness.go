package main

import (
	"hash/maphash"
	"math"
	"strings"
	"sync"
	"time"
)

// freshnessShards spreads the vehicles over this many locks, so concurrent
// polls rarely wait for each other and a scrape holds each lock briefly.
const freshnessShards = 64

// freshness keeps, for each vehicle this process polled, when its newest
// data was recorded (SC-Data-Age), for the gauge of the oldest of those over
// the vehicles. A per-vehicle series would be 100,000 series at fleet size,
// so only the maximum age and the number of vehicles are exported; the
// distribution is the data_age_seconds histogram.
//
// A vehicle this process has not seen for the forget window is dropped: it
// was removed, disconnected, or its polls go to other replicas. With several
// replicas each one knows only the vehicles it polled, so its gauge is an
// upper bound of the fleet's (min over the instances is the tightest).
type freshness struct {
	forget time.Duration
	seed   maphash.Seed
	shards [freshnessShards]freshnessShard
}

type freshnessShard struct {
	mu sync.Mutex
	m  map[string]freshnessEntry
}

// freshnessEntry holds Unix nanoseconds: the newest recorded time seen for
// the vehicle and when it was last seen.
type freshnessEntry struct{ recorded, seen int64 }

func newFreshness(forget time.Duration) *freshness {
	f := &freshness{forget: forget, seed: maphash.MakeSeed()}
	for i := range f.shards {
		f.shards[i].m = make(map[string]freshnessEntry)
	}
	return f
}

// observe records that vehicleID's newest data, as seen at now, was
// recorded at recorded. An older recorded time than one seen before does not
// make the vehicle's data older.
func (f *freshness) observe(vehicleID string, recorded, now time.Time) {
	sh := &f.shards[maphash.String(f.seed, vehicleID)%freshnessShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[vehicleID]
	if !ok {
		vehicleID = strings.Clone(vehicleID) // do not pin the job's buffer
	}
	e.recorded = max(e.recorded, recorded.UnixNano())
	e.seen = now.UnixNano()
	sh.m[vehicleID] = e
}

// oldest forgets the vehicles not seen within the forget window before now
// and returns the age at now of the oldest newest data among the others, and
// how many they are. It is 0, 0 when no vehicle is tracked.
func (f *freshness) oldest(now time.Time) (time.Duration, int) {
	cutoff := now.Add(-f.forget).UnixNano()
	oldest, n := int64(math.MaxInt64), 0
	for i := range f.shards {
		sh := &f.shards[i]
		sh.mu.Lock()
		for id, e := range sh.m {
			if e.seen < cutoff {
				delete(sh.m, id)
				continue
			}
			oldest = min(oldest, e.recorded)
			n++
		}
		sh.mu.Unlock()
	}
	if n == 0 {
		return 0, 0
	}
	return max(now.Sub(time.Unix(0, oldest)), 0), n
}
