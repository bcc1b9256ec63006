package main

import (
	"math"
	"runtime"
	"strings"
)

// heapShares is the in-use heap split by who allocated it, estimated from
// the runtime's sampled heap profile as of the last GC.
type heapShares struct {
	server    uint64 // the embedded nats-server
	simulator uint64 // the Smartcar simulator and its HTTP server side
	pipeline  uint64 // everything else: clients, queue, worker, tokens, events, scheduler
}

func (h heapShares) total() uint64 { return h.server + h.simulator + h.pipeline }

// splitHeap collects garbage and attributes the in-use heap profile to the
// embedded server, the simulator or the pipeline by the frames of each
// allocation's stack. Its precision follows runtime.MemProfileRate.
func splitHeap() heapShares {
	runtime.GC()
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, false)
	for {
		recs = make([]runtime.MemProfileRecord, n+64)
		var ok bool
		n, ok = runtime.MemProfile(recs, false)
		if ok {
			recs = recs[:n]
			break
		}
	}
	rate := uint64(max(runtime.MemProfileRate, 1))
	var h heapShares
	for i := range recs {
		r := &recs[i]
		bytes, objs := uint64(r.InUseBytes()), uint64(r.InUseObjects())
		if objs == 0 {
			continue
		}
		// Undo the sampling as pprof does: each sampled object of size s
		// stands for 1/(1-exp(-s/rate)) objects; s >= rate is ~1.
		size := bytes / objs
		scaled := bytes
		if size < rate {
			scaled = uint64(float64(bytes) / (1 - math.Exp(-float64(size)/float64(rate))))
		}
		switch owner(r.Stack()) {
		case "server":
			h.server += scaled
		case "simulator":
			h.simulator += scaled
		default:
			h.pipeline += scaled
		}
	}
	return h
}

// owner names the component an allocation stack belongs to.
func owner(stack []uintptr) string {
	frames := runtime.CallersFrames(stack)
	for {
		f, more := frames.Next()
		switch fn := f.Function; {
		case strings.Contains(fn, "nats-io/nats-server"):
			return "server"
		case strings.Contains(fn, "smartcar/smartcartest"),
			strings.HasPrefix(fn, "net/http.(*conn)."),
			strings.HasPrefix(fn, "net/http.(*Server)."),
			strings.HasPrefix(fn, "net/http.newBufioReader"), strings.HasPrefix(fn, "net/http.newBufioWriterSize"):
			return "simulator"
		}
		if !more {
			return "pipeline"
		}
	}
}

// goroutineShares counts the goroutines of each owner, from their stacks.
type goroutineShares struct {
	server, simulator, pipeline int
}

func splitGoroutines() goroutineShares {
	var recs []runtime.StackRecord
	n, _ := runtime.GoroutineProfile(nil)
	for {
		recs = make([]runtime.StackRecord, n+256)
		var ok bool
		n, ok = runtime.GoroutineProfile(recs)
		if ok {
			recs = recs[:n]
			break
		}
	}
	var g goroutineShares
	for i := range recs {
		switch owner(recs[i].Stack()) {
		case "server":
			g.server++
		case "simulator":
			g.simulator++
		default:
			g.pipeline++
		}
	}
	return g
}
