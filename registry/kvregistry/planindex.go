package kvregistry

import (
	"container/heap"
	"strings"
	"sync"

	"github.com/smartcar-poller/smartcar-poller/internal/kvbucket"
)

// planIndex is the in-memory due index of every schedule (a min-heap of due
// times per schedule), a mirror of the plans bucket's due times fed by its
// watch and by the store's own writes, as kvMirror is. Entries carry the
// plan key's revision: an entry only replaces one with a lower revision, a delete
// leaves a tombstone, and ClaimDue's compare-and-set writes use it.
//
// Memory: each vehicle id is interned once (about 25 bytes in a keyIndex,
// and its string, shared with the vehicles mirror's when it has the
// vehicle), and a schedule's entry is 24 bytes
// in its heap plus 4 in its position table.
type planIndex struct {
	mu        sync.Mutex
	ready     bool
	ids       keyIndex // vehicle ids by number, and their numbers
	schedules map[string]*dueHeap
	// shared, if set, returns a string equal to a vehicle id held
	// elsewhere (the vehicles mirror), for the index to share.
	shared func(id string) (string, bool)
}

// dueEntry is one vehicle's place in a schedule's due index.
type dueEntry struct {
	due int64  // Unix ms
	rev uint64 // revision of the plan key
	vid uint32 // interned vehicle id
}

// dueHeap orders a schedule's entries by due time, then vehicle id.
type dueHeap struct {
	ids   *keyIndex
	items []dueEntry
	pos   []int32           // vid → index in items + 1; 0 when absent
	gone  map[uint32]uint64 // vid → revision of its plan's delete (tombstones)
}

func (h *dueHeap) Len() int { return len(h.items) }
func (h *dueHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.due != b.due {
		return a.due < b.due
	}
	return h.ids.keys[a.vid] < h.ids.keys[b.vid]
}
func (h *dueHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.pos[h.items[i].vid] = int32(i + 1)
	h.pos[h.items[j].vid] = int32(j + 1)
}
func (h *dueHeap) Push(x any) {
	e := x.(dueEntry)
	h.items = append(h.items, e)
	h.pos[e.vid] = int32(len(h.items))
}
func (h *dueHeap) Pop() any {
	e := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	h.pos[e.vid] = 0
	return e
}

func newPlanIndex(shared func(id string) (string, bool)) *planIndex {
	return &planIndex{schedules: make(map[string]*dueHeap), shared: shared}
}

// planKey is the plans bucket's key of the vehicle's plan under schedule.
func planKey(schedule, vehicleID string) string { return kvbucket.Key(vehicleID) + "." + schedule }

// parsePlanKey splits a plan key into schedule and vehicle id.
func parsePlanKey(key string) (schedule, vehicleID string, ok bool) {
	i := strings.LastIndexByte(key, '.')
	if i < 0 {
		return "", "", false
	}
	id, err := kvbucket.Unkey(key[:i])
	if err != nil {
		return "", "", false
	}
	return key[i+1:], id, true
}

// intern returns the vehicle's number (under mu).
func (x *planIndex) intern(id string) uint32 {
	if n, ok := x.ids.find(id); ok {
		return n
	}
	if sh, ok := x.sharedID(id); ok {
		id = sh
	} else {
		id = strings.Clone(id) // not the watched message's subject it may point into
	}
	return x.ids.add(id)
}

func (x *planIndex) sharedID(id string) (string, bool) {
	if x.shared == nil {
		return "", false
	}
	return x.shared(id)
}

// heapOf returns the schedule's heap, created if asked (under mu).
func (x *planIndex) heapOf(schedule string, create bool) *dueHeap {
	h := x.schedules[schedule]
	if h == nil && create {
		h = &dueHeap{ids: &x.ids, gone: make(map[uint32]uint64)}
		x.schedules[schedule] = h
	}
	if h != nil && len(h.pos) < x.ids.len() {
		h.pos = append(h.pos, make([]int32, x.ids.len()-len(h.pos))...)
	}
	return h
}

// setDue records the vehicle's due time at revision rev unless a newer
// write (or delete) is known.
func (x *planIndex) setDue(schedule, id string, due int64, rev uint64) {
	if x == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	vid := x.intern(id)
	h := x.heapOf(schedule, true)
	if p := h.pos[vid]; p > 0 {
		e := &h.items[p-1]
		if e.rev >= rev {
			return
		}
		e.due, e.rev = due, rev
		heap.Fix(h, int(p-1))
		return
	}
	if g, ok := h.gone[vid]; ok {
		if rev <= g {
			return
		}
		delete(h.gone, vid)
	}
	heap.Push(h, dueEntry{due: due, rev: rev, vid: vid})
}

// remove records a delete of the vehicle's plan at revision rev; rev 0
// means our own delete, whose revision is one past the known one at least.
func (x *planIndex) remove(schedule, id string, rev uint64) {
	if x == nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	vid := x.intern(id)
	h := x.heapOf(schedule, true)
	if p := h.pos[vid]; p > 0 {
		cur := h.items[p-1].rev
		if rev == 0 {
			rev = cur + 1
		}
		if cur >= rev {
			return
		}
		heap.Remove(h, int(p-1))
	} else if rev == 0 {
		rev = h.gone[vid] + 1
	}
	if rev > h.gone[vid] {
		h.gone[vid] = rev
	}
}

// claimed is a vehicle a claim picked, with the revision its
// compare-and-set write starts from and, when known, the plan's value then.
type claimed struct {
	id  string
	rev uint64
	val []byte
}

// claim moves up to limit of schedule's vehicles due at or before now to
// leaseEnd, earliest first, and returns them; ok is false when the index
// is not loaded.
func (x *planIndex) claim(schedule string, now, leaseEnd int64, limit int) (out []claimed, ok bool) {
	if x == nil {
		return nil, false
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.ready {
		return nil, false
	}
	h := x.heapOf(schedule, false)
	if h == nil {
		return nil, true
	}
	for len(out) < limit && h.Len() > 0 && h.items[0].due <= now {
		e := &h.items[0]
		out = append(out, claimed{id: x.ids.keys[e.vid], rev: e.rev})
		e.due = leaseEnd
		heap.Fix(h, 0)
	}
	return out, true
}

// put, del, reset and setReady make the index a mirrorSink of the plans bucket.
func (x *planIndex) put(key string, b []byte, rev uint64) {
	schedule, id, ok := parsePlanKey(key)
	if !ok {
		return
	}
	due, _, ok := decodePlan(b)
	if !ok {
		return // not ours; GetPlan reports it
	}
	x.setDue(schedule, id, due, rev)
}

func (x *planIndex) del(key string, rev uint64) {
	if schedule, id, ok := parsePlanKey(key); ok {
		x.remove(schedule, id, rev)
	}
}

func (x *planIndex) reset() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.ready = false
	x.ids, x.schedules = keyIndex{}, make(map[string]*dueHeap)
}

// grow ignores the plans bucket's message count: a vehicle may have a plan
// under several schedules.
func (x *planIndex) grow(int) {}

func (x *planIndex) setReady() {
	x.mu.Lock()
	x.ready = true
	x.mu.Unlock()
}
