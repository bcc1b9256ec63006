package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const mib = 1 << 20

// procStatus reads a "kB" field of /proc/self/status (VmHWM, VmRSS) in bytes.
func procStatus(field string) (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read /proc/self/status: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse %s: %w", field, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no %s in /proc/self/status", field)
}

// cpuTime is the process's user+system CPU time (every goroutine: the
// pipeline, the simulator and the embedded server).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// liveHeap collects garbage and returns the bytes of live heap objects.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// memSample is one reading of the process's memory.
type memSample struct {
	rss        uint64 // VmRSS
	heapObj    uint64 // heap objects, live or not yet swept
	stacks     uint64 // goroutine stacks
	goTotal    uint64 // everything the Go runtime mapped
	goroutines int
}

var sampleMetrics = []string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/total:bytes",
	"/sched/goroutines:goroutines",
}

func readMem() memSample {
	s := make([]metrics.Sample, len(sampleMetrics))
	for i, name := range sampleMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	rss, _ := procStatus("VmRSS")
	return memSample{
		rss:        rss,
		heapObj:    s[0].Value.Uint64(),
		stacks:     s[1].Value.Uint64(),
		goTotal:    s[2].Value.Uint64(),
		goroutines: int(s[3].Value.Uint64()),
	}
}

// memPeak samples memory every interval until stopped and keeps the
// maximum of each figure.
type memPeak struct {
	stop chan struct{}
	wg   sync.WaitGroup

	mu  sync.Mutex
	max memSample
}

func startMemPeak(interval time.Duration) *memPeak {
	p := &memPeak{stop: make(chan struct{})}
	p.observe()
	p.wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.observe()
			}
		}
	})
	return p
}

func (p *memPeak) observe() {
	s := readMem()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.max.rss = max(p.max.rss, s.rss)
	p.max.heapObj = max(p.max.heapObj, s.heapObj)
	p.max.stacks = max(p.max.stacks, s.stacks)
	p.max.goTotal = max(p.max.goTotal, s.goTotal)
	p.max.goroutines = max(p.max.goroutines, s.goroutines)
}

// Stop ends the sampling and returns the peaks.
func (p *memPeak) Stop() memSample {
	close(p.stop)
	p.wg.Wait()
	p.observe()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max
}
