package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile starts a CPU profile of one measured phase when -cpuprofile
// is set and returns the function that stops it.
func startProfile(o options, scenario, phase string) (func(), error) {
	if o.CPUProfile == "" {
		return func() {}, nil
	}
	name := fmt.Sprintf("%s-%s-%s-run%d.pprof", o.CPUProfile, scenario, phase, o.RunIndex)
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// profiled runs fn under a CPU profile of the phase.
func profiled[T any](o options, scenario, phase string, fn func() (T, error)) (T, error) {
	stop, err := startProfile(o, scenario, phase)
	if err != nil {
		var zero T
		return zero, err
	}
	defer stop()
	return fn()
}

// writeHeapProfile writes the heap profile (as of the last GC) of the
// scenario's run when -memprofile is set.
func writeHeapProfile(o options, scenario string) error {
	if o.MemProfile == "" {
		return nil
	}
	f, err := os.Create(fmt.Sprintf("%s-%s-run%d.pprof", o.MemProfile, scenario, o.RunIndex))
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}
