//go:build race

package main

// ciVehicles is the fleet TestFreshness runs: smaller under the race
// detector, which makes every poll many times slower.
const ciVehicles = 20
