//go:build !race

package main

// ciVehicles is the fleet TestFreshness runs.
const ciVehicles = 50
