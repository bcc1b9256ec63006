package adaptive_test

import (
	"fmt"
	"time"

	"github.com/smartcar-poller/smartcar-poller/adaptive"
)

// A worker's loop: after each poll, the policy takes in what it showed and
// says when the vehicle is due next; the record lives in the registry
// between polls.
func Example() {
	cfg := adaptive.DefaultConfig() // 500 calls a month, 10 % reserve
	cfg.Intervals.Driving = time.Minute
	p, err := adaptive.New(cfg)
	if err != nil {
		panic(err)
	}
	var v adaptive.Vehicle
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	polls := 0
	for now := start; now.Before(start.AddDate(0, 1, 0)); polls++ {
		o := adaptive.Observation{At: now, OEMUpdatedAt: now, Has: adaptive.HasGear, Gear: "D"} // always driving
		now = p.Polled(&v, o, 1)
	}
	b, _ := v.MarshalBinary()
	fmt.Printf("%d polls in June, %d bytes of record, last seen %s\n", polls, len(b), v.State)
	// Output: 450 polls in June, 243 bytes of record, last seen driving
}
